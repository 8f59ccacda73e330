// The bus port: subjects, publish/subscribe, queue groups and replies. Backends: in-process
// (embedded) and NATS core (distributed). Subjects are NATS-style: tokens separated by ".", with
// "*" matching one token and ">" the rest.

export interface BusMessage {
  subject: string;
  data: Uint8Array;
  /** Names lower-cased. */
  headers: Record<string, string>;
  /** Where the sender wants answers, when it wants any (see `inbox`). */
  reply?: string;
  /**
   * Set on a message arriving at a reply subject instead of an answer: the message sent with
   * that reply subject found no subscriber at all.
   */
  noResponders?: true;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface BusPort {
  /** With `reply`, subscribers may answer there; with no subscriber, `reply` hears so. */
  publish(
    subject: string,
    data: Uint8Array,
    headers?: Record<string, string>,
    options?: { reply?: string },
  ): Promise<void>;
  /** With `queue`, each message goes to one member of the group. */
  subscribe(
    subject: string,
    onMessage: (message: BusMessage) => void,
    options?: { queue?: string },
  ): Subscription;
  /** A subject of this process's own, for answers: no other subscriber ever has it. */
  inbox(): string;
  close(): Promise<void>;
}
