// Dead letters live in a second stream, <stream>_DLQ (limits retention: kept until redriven or
// purged), one subject per consumer and message id (names.ts), metadata in headers. Cursors are
// stream sequences, so pages stay stable while dead letters are added or removed.
import type { StoredMsg } from "@nats-io/jetstream";
import type {
  DeadLetter,
  DeadLetterPage,
  DeadLetterQueue,
  QueueMessage,
} from "../../ports/queue.js";
import { scanStream } from "../nats/scan.js";
import type { QueueContext } from "./context.js";
import { H, ourHeader, outgoingHeaders, storedMessage } from "./headers.js";
import { checkConsumerName, deadLetterFilter, deadLetterSubject } from "./names.js";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1_000;
/** Dead letters redriven or purged at once, each a few requests. */
const PARALLEL = 32;
/** A reason is kept to this many characters: a header, next to a message that may be big. */
const MAX_REASON = 8_192;

/** Sends a dead letter back to its consumer (attempt 1, id, subject and publishedAt kept). */
export type Resend = (consumer: string, message: QueueMessage) => Promise<unknown>;

/** Puts a delivery into its consumer's dead-letter queue; resolves once the stream has it. */
export async function addDeadLetter(
  ctx: QueueContext,
  consumer: string,
  message: QueueMessage,
  attempts: number,
  reason: string,
): Promise<void> {
  const headers = outgoingHeaders(message.headers, {
    id: message.id,
    subject: message.subject,
    publishedAt: String(message.publishedAt),
    attempts: String(attempts),
    reason: JSON.stringify(reason.slice(0, MAX_REASON)),
    failedAt: String(Date.now()),
  });
  await ctx.js.publish(deadLetterSubject(ctx.names, consumer, message.id), message.data, {
    headers,
    expect: { streamName: ctx.names.dlqStream },
  });
}

type Stored = Parameters<typeof storedMessage>[1];

// StoredMsg's fields are getters: copy them one by one
const fromStoredMsg = (m: StoredMsg): Stored => ({
  seq: m.seq,
  subject: m.subject,
  data: m.data,
  headers: m.header,
  time: m.time,
});

function toDeadLetter(ctx: QueueContext, m: Stored): DeadLetter {
  const message = storedMessage(ctx.names.dlqStream, m);
  const rawReason = ourHeader(m.headers, H.reason) ?? '""';
  let reason: string;
  try {
    reason = String(JSON.parse(rawReason));
  } catch {
    reason = rawReason; // written by something else
  }
  return {
    ...message,
    attempts: Number(ourHeader(m.headers, H.attempts) ?? 0) || 0,
    reason,
    failedAt: Number(ourHeader(m.headers, H.failedAt) ?? 0) || m.time.getTime(),
  };
}

export function deadLetterQueue(ctx: QueueContext, resend: Resend): DeadLetterQueue {
  const { dlqStream } = ctx.names;

  /** The stored dead letter with that id, with its sequence. */
  const find = async (
    consumer: string,
    id: string,
  ): Promise<{ seq: number; letter: DeadLetter } | undefined> => {
    const m = await ctx.jsm.direct.getMessage(dlqStream, {
      last_by_subj: deadLetterSubject(ctx.names, consumer, id),
    });
    if (m === null) return undefined;
    const letter = toDeadLetter(ctx, fromStoredMsg(m));
    // the subject is a hash of the id: make sure it is this id
    return letter.id === id ? { seq: m.seq, letter } : undefined;
  };

  /** Runs `each` for every named dead letter that exists, PARALLEL at a time. */
  const eachFound = async (
    consumer: string,
    ids: string[],
    each: (found: { seq: number; letter: DeadLetter }) => Promise<void>,
  ): Promise<void> => {
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += PARALLEL) {
      await Promise.all(
        unique.slice(i, i + PARALLEL).map(async (id) => {
          const found = await find(consumer, id);
          if (found !== undefined) await each(found);
        }),
      );
    }
  };

  const redriveOne = async (consumer: string, seq: number, letter: DeadLetter): Promise<void> => {
    await resend(consumer, letter);
    await ctx.jsm.streams.deleteMessage(dlqStream, seq, false);
  };

  return {
    async list(consumer, options = {}): Promise<DeadLetterPage> {
      checkConsumerName(consumer);
      const limit = Math.min(Math.max(1, Math.floor(options.limit ?? DEFAULT_PAGE)), MAX_PAGE);
      let seq = options.after === undefined ? 1 : Number(options.after) + 1;
      if (!Number.isSafeInteger(seq) || seq < 1) {
        throw new Error(`invalid dead-letter cursor "${options.after}"`);
      }
      const filter = deadLetterFilter(ctx.names, consumer);
      const items: DeadLetter[] = [];
      let last = 0;
      // one more than the page: tells whether a cursor is needed
      while (items.length <= limit) {
        const m = await ctx.jsm.direct.getMessage(dlqStream, { seq, next_by_subj: filter });
        if (m === null) break;
        if (items.length === limit) return { items, cursor: String(last) };
        items.push(toDeadLetter(ctx, fromStoredMsg(m)));
        last = m.seq;
        seq = m.seq + 1;
      }
      return { items };
    },

    async get(consumer, id) {
      checkConsumerName(consumer);
      return (await find(consumer, id))?.letter;
    },

    async count(consumer) {
      checkConsumerName(consumer);
      // a consumer's num_pending: one small answer however many dead letters there are
      const probe = await ctx.js.consumers.get(dlqStream, {
        filter_subjects: deadLetterFilter(ctx.names, consumer),
      });
      try {
        return (await probe.info(true)).num_pending;
      } finally {
        probe.delete().catch(() => undefined);
      }
    },

    async redrive(consumer, ids) {
      checkConsumerName(consumer);
      let sent = 0;
      if (ids === undefined) {
        const all = await scanStream(ctx.js, dlqStream, {
          filter: deadLetterFilter(ctx.names, consumer),
          deliver: "all",
          headersOnly: false,
        });
        for (let i = 0; i < all.length; i += PARALLEL) {
          await Promise.all(
            all.slice(i, i + PARALLEL).map(async (m) => {
              await redriveOne(consumer, m.seq, toDeadLetter(ctx, m));
              sent++;
            }),
          );
        }
        return sent;
      }
      await eachFound(consumer, ids, async (found) => {
        await redriveOne(consumer, found.seq, found.letter);
        sent++;
      });
      return sent;
    },

    async purge(consumer, ids) {
      checkConsumerName(consumer);
      if (ids === undefined) {
        const r = await ctx.jsm.streams.purge(dlqStream, {
          filter: deadLetterFilter(ctx.names, consumer),
        });
        return r.purged;
      }
      let purged = 0;
      await eachFound(consumer, ids, async (found) => {
        if (await ctx.jsm.streams.deleteMessage(dlqStream, found.seq, false)) purged++;
      });
      return purged;
    },
  };
}
