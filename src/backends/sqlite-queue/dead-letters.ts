// The dead-letter queues: one table, rows of a consumer in the order they were dead-lettered.
// The page cursor is the last row's seq, which only grows.
import type { DeadLetter, DeadLetterQueue } from "../../ports/queue.js";

/** The port's dead-letter queue, answered synchronously (the caller makes the promises). */
export type SyncDeadLetterQueue = {
  [K in keyof DeadLetterQueue]: (
    ...args: Parameters<DeadLetterQueue[K]>
  ) => Awaited<ReturnType<DeadLetterQueue[K]>>;
};
import type { SqliteDatabase } from "../sqlite/driver.js";
import { messageOf, type DeadLetterRow, type Statements } from "./schema.js";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    ...messageOf(row),
    attempts: row.attempts,
    reason: row.reason,
    failedAt: row.failed_at,
  };
}

export function deadLetterQueue(
  db: SqliteDatabase,
  q: Statements,
  /** Redriven deliveries are due: wake the consumer's consumptions. */
  wake: (consumer: string) => void,
): SyncDeadLetterQueue {
  const redrive = db.transaction((consumer: string, ids: string[] | undefined): number => {
    const now = Date.now();
    let n = 0;
    if (ids === undefined) n = q.redriveAll.run(now, consumer).changes;
    else for (const id of new Set(ids)) n += q.redriveOne.run(now, consumer, id).changes;
    if (ids === undefined) q.dropDeadLetters.run(consumer);
    else for (const id of new Set(ids)) q.purgeOne.run(consumer, id);
    return n;
  });
  const purge = db.transaction((consumer: string, ids: string[] | undefined): number => {
    if (ids === undefined) return q.dropDeadLetters.run(consumer).changes;
    let n = 0;
    for (const id of new Set(ids)) n += q.purgeOne.run(consumer, id).changes;
    return n;
  });

  return {
    list: (consumer, options = {}) => {
      const limit = Math.min(Math.max(Math.floor(options.limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
      const after = options.after === undefined ? 0 : Number(options.after);
      if (!Number.isSafeInteger(after) || after < 0)
        throw new Error(`invalid dead-letter cursor "${options.after ?? ""}"`);
      const rows = q.deadPage.all(consumer, after, limit + 1);
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items: items.map(toDeadLetter),
        ...(rows.length > limit && last !== undefined ? { cursor: String(last.seq) } : {}),
      };
    },
    get: (consumer, id) => {
      const row = q.deadGet.get(consumer, id);
      return row === undefined ? undefined : toDeadLetter(row);
    },
    count: (consumer) => q.deadCount.get(consumer)?.n ?? 0,
    redrive: (consumer, ids) => {
      const n = redrive(consumer, ids);
      if (n > 0) wake(consumer);
      return n;
    },
    purge: (consumer, ids) => purge(consumer, ids),
  };
}
