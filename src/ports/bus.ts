// The bus port: subjects, publish/subscribe and queue groups. Backends: in-process (embedded)
// and NATS core (distributed). Subjects are NATS-style: tokens separated by ".", with "*"
// matching one token and ">" the rest.

export interface BusMessage {
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface BusPort {
  publish(subject: string, data: Uint8Array, headers?: Record<string, string>): Promise<void>;
  /** With `queue`, each message goes to one member of the group. */
  subscribe(
    subject: string,
    onMessage: (message: BusMessage) => void,
    options?: { queue?: string },
  ): Subscription;
  close(): Promise<void>;
}
