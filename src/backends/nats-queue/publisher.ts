// JetStream publishes with their PubAcks matched on one reply subscription. The client's
// js.publish is a request each: a timer, a promise pair and, when the reply resolves it, an Error
// built (stack and all) to reject the settled promise again; measured on the events bench that
// was a tenth of the platform's CPU. Here a publish is a core publish with a reply subject of ours,
// and one sweep times out whatever the server never answered.
import {
  createInbox,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";

/** What the stream said of a stored message. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

interface Waiting {
  resolve: (ack: PubAck) => void;
  reject: (error: Error) => void;
  subject: string;
  sentAt: number;
}

/** How often unanswered publishes are looked at; one waits between timeoutMs and this more. */
const SWEEP_MS = 500;

export class JetStreamPublisher {
  readonly #inbox = createInbox();
  readonly #waiting = new Map<string, Waiting>();
  #next = 0;
  #sweeper: NodeJS.Timeout | undefined;
  /** Why publishing stopped, once it has. */
  #closed: string | undefined;
  readonly #subscription: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 5_000,
  ) {
    const prefix = this.#inbox.length + 1;
    this.#subscription = nc.subscribe(`${this.#inbox}.*`, {
      callback: (error, msg) => {
        if (error !== null) return this.#rejectAll(error);
        const waiting = this.#waiting.get(msg.subject.slice(prefix));
        if (waiting === undefined) return; // timed out already
        this.#waiting.delete(msg.subject.slice(prefix));
        const answer = readAnswer(msg.data, msg.headers, waiting.subject);
        if (answer instanceof Error) waiting.reject(answer);
        else waiting.resolve(answer);
      },
    });
    void nc.closed().then(() => {
      this.#closed ??= "the NATS connection is closed";
      this.#rejectAll(new Error(this.#closed));
    });
  }

  /**
   * Stores `data` on `subject` with `headers` in wire form (headers.ts encodedHeaders; a
   * Nats-Msg-Id there deduplicates within the stream's window).
   */
  publish(subject: string, data: Uint8Array, headers: Uint8Array): Promise<PubAck> {
    if (this.#closed !== undefined) return Promise.reject(new Error(this.#closed));
    const token = (this.#next++).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      this.#waiting.set(token, { resolve, reject, subject, sentAt: Date.now() });
      try {
        // the client reads nothing of a publish's headers but encode() (protocol.ts, 3.x)
        const wire = { encode: () => headers } as unknown as MsgHdrs;
        this.nc.publish(subject, data, { headers: wire, reply: `${this.#inbox}.${token}` });
      } catch (error) {
        this.#waiting.delete(token);
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.#sweeper ??= setInterval(this.#sweep, SWEEP_MS).unref();
    });
  }

  readonly #sweep = (): void => {
    const before = Date.now() - this.timeoutMs;
    for (const [token, waiting] of this.#waiting) {
      if (waiting.sentAt > before) break; // in sending order: the rest are younger
      this.#waiting.delete(token);
      waiting.reject(
        new Error(
          `no acknowledgement from JetStream for a message on "${waiting.subject}" within ` +
            `${this.timeoutMs} ms: it may or may not be stored (the server is slow or unreachable)`,
        ),
      );
    }
    if (this.#waiting.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  };

  /** Refuses new publishes and fails the unanswered ones (whose fate is then unknown). */
  close(): void {
    this.#closed ??= "the nats queue port is closed";
    this.#subscription.unsubscribe();
    this.#rejectAll(new Error(this.#closed));
  }

  #rejectAll(error: Error): void {
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}

const utf8 = new TextDecoder();

/** The server's answer to one publish: a PubAck, or why it was not stored. */
function readAnswer(
  data: Uint8Array,
  headers: MsgHdrs | undefined,
  subject: string,
): PubAck | Error {
  if (data.length === 0 && headers?.code === 503) {
    return new Error(`no JetStream stream stores subject "${subject}"`);
  }
  let answer: {
    stream?: string;
    seq?: number;
    duplicate?: boolean;
    error?: { description?: string };
  };
  try {
    answer = JSON.parse(utf8.decode(data)) as typeof answer;
  } catch {
    return new Error(`JetStream answered a publish on "${subject}" with something not JSON`);
  }
  if (answer.error !== undefined) {
    return new Error(
      `JetStream refused a message on "${subject}": ${answer.error.description ?? "unknown error"}`,
    );
  }
  if (typeof answer.stream !== "string" || typeof answer.seq !== "number") {
    return new Error(`JetStream answered a publish on "${subject}" without a stream and sequence`);
  }
  return { stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate === true };
}
