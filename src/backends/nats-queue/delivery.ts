// One JetStream message as a Delivery: the queue message it carries and its three answers.
import type { JsMsg } from "@nats-io/jetstream";
import type { Delivery } from "../../ports/queue.js";
import type { QueueContext } from "./context.js";
import { addDeadLetter } from "./dead-letters.js";
import { storedMessage } from "./headers.js";

const DONE = Promise.resolve();

/** An answer sent now, as the port's promise: a shared resolved one when it went (a promise
 * allocated per delivery adds up at thousands a second), a rejection when the client threw. */
function sent(send: () => void): Promise<void> {
  try {
    send();
    return DONE;
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** A dead letter that could not be stored comes back after this, to be tried again. */
const DEAD_LETTER_FAILED_RETRY_MS = 1_000;

export interface Handed {
  delivery: Delivery;
  /** Frees the slot and sends nothing: back after the ack wait, as if the worker had died. */
  abandon: () => void;
}

/** `release` frees the consumption's slot; it runs once, on the first answer. */
export function toDelivery(
  ctx: QueueContext,
  consumer: string,
  m: JsMsg,
  release: () => void,
): Handed {
  const delivery = new NatsDelivery(ctx, consumer, m, release);
  return { delivery, abandon: () => void delivery.first() };
}

// A class rather than an object literal: one is made per message, and a literal with a spread and
// four methods measured at ~5 % of the platform's CPU on the events bench.
class NatsDelivery implements Delivery {
  readonly id: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
  readonly publishedAt: number;
  readonly attempt: number;
  #answered = false;

  constructor(
    private readonly ctx: QueueContext,
    private readonly consumer: string,
    private readonly m: JsMsg,
    private readonly release: () => void,
  ) {
    const message = storedMessage(ctx.names.stream, m);
    this.id = message.id;
    this.subject = message.subject;
    this.data = message.data;
    this.headers = message.headers;
    this.publishedAt = message.publishedAt;
    this.attempt = m.info.deliveryCount;
  }

  /** The first answer counts; later ones do nothing, as a second ack does on NATS. */
  first(): boolean {
    if (this.#answered) return false;
    this.#answered = true;
    this.release();
    return true;
  }

  // a plain ack, not a confirmed one (ackAck): confirming halves the answers a process can give
  // per second, and an ack lost with the connection only means a redelivery. Sent at once: the
  // connection writes once per turn (nats/turn-writes.ts).
  ack(): Promise<void> {
    return sent(() => {
      if (this.first()) this.m.ack();
    });
  }

  retry(delayMs: number): Promise<void> {
    return sent(() => {
      if (!Number.isFinite(delayMs) || delayMs < 0) {
        throw new Error(`invalid retry delay ${delayMs}`);
      }
      if (this.first()) this.m.nak(delayMs > 0 ? delayMs : undefined);
    });
  }

  inProgress(): void {
    if (!this.#answered) this.m.working();
  }

  async deadLetter(reason: string): Promise<void> {
    if (!this.first()) return;
    const { ctx, m } = this;
    const message = {
      id: this.id,
      subject: this.subject,
      data: this.data,
      headers: this.headers,
      publishedAt: this.publishedAt,
    };
    try {
      await addDeadLetter(ctx, this.consumer, message, this.attempt, reason);
    } catch (error) {
      // not stored: it must come back rather than be lost
      try {
        m.nak(DEAD_LETTER_FAILED_RETRY_MS);
      } catch {
        // the connection is closing: back after the ack wait all the same
      }
      throw error;
    }
    m.term();
  }
}
