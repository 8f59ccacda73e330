// One JetStream message as a Delivery: the queue message it carries and its three answers.
import type { JsMsg } from "@nats-io/jetstream";
import type { Delivery } from "../../ports/queue.js";
import type { QueueContext } from "./context.js";
import { addDeadLetter } from "./dead-letters.js";
import { storedMessage } from "./headers.js";

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
  const message = storedMessage(ctx.names.stream, m);
  let answered = false;
  // the first answer counts; later ones do nothing, as a second ack does on NATS
  const first = (): boolean => {
    if (answered) return false;
    answered = true;
    release();
    return true;
  };
  const delivery: Delivery = {
    ...message,
    attempt: m.info.deliveryCount,
    // a plain ack, not a confirmed one (ackAck): confirming halves the answers a process can
    // give per second, and an ack lost with the connection only means a redelivery
    async ack() {
      if (first()) await ctx.answers.add(() => m.ack());
    },
    async retry(delayMs) {
      if (!Number.isFinite(delayMs) || delayMs < 0) {
        throw new Error(`invalid retry delay ${delayMs}`);
      }
      if (first()) await ctx.answers.add(() => m.nak(delayMs > 0 ? delayMs : undefined));
    },
    inProgress() {
      if (!answered) m.working();
    },
    async deadLetter(reason) {
      if (!first()) return;
      try {
        await addDeadLetter(ctx, consumer, message, m.info.deliveryCount, reason);
      } catch (error) {
        // not stored: it must come back rather than be lost
        ctx.answers.add(() => m.nak(DEAD_LETTER_FAILED_RETRY_MS)).catch(() => undefined);
        throw error;
      }
      m.term();
    },
  };
  return { delivery, abandon: () => void first() };
}
