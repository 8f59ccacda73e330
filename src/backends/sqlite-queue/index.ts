// queue port on SQLite: one database file, used by this process only (the embedded mode).
// A publish is fanned out into a delivery row per consumer whose subjects match, in the
// transaction that stores it (tick.ts); consumers are woken in-process, so nothing polls.
//
// Deduplication: a publisher's id is remembered for DEDUP_WINDOW_MS in one scope for all
// publishes, and in a scope per consumer for sends; a duplicate is not stored again and resolves
// with the first one's publishedAt. Ids made here (random UUIDs) are not remembered.
import { randomUUID } from "node:crypto";
import {
  CONSUMER_NAME,
  DEDUP_WINDOW_MS,
  PUBLISH_SUBJECT,
  subjectsOverlap,
  type ConsumerSpec,
  type OutgoingMessage,
  type QueueMessage,
  type QueuePort,
} from "../../ports/queue.js";
import { LiveConsumption } from "./consume.js";
import { deadLetterQueue } from "./dead-letters.js";
import { openDatabase, statements } from "./schema.js";
import { Ticker } from "./tick.js";

export interface SqliteQueueOptions {
  /** Called after a publish is stored (not for sends or duplicates). */
  onPublish?: (message: QueueMessage) => void;
  /** What went wrong with no caller to tell (a handler or onPublish threw, a write failed). */
  onError?: (error: unknown, context: string) => void;
}

const PUBLISH_SCOPE = "";
const PRUNE_INTERVAL_MS = 60_000;
/** For a consumer that was deleted while consumed: its rows are gone, any value will do. */
const FALLBACK_ACK_WAIT_MS = 30_000;
const SUBJECT_PATTERN = /^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$|^>$/;

function validSpec(name: string, spec: ConsumerSpec): string | undefined {
  if (!CONSUMER_NAME.test(name)) return `invalid consumer name "${name}"`;
  if (!Number.isSafeInteger(spec.ackWaitMs) || spec.ackWaitMs <= 0)
    return `invalid ackWaitMs ${spec.ackWaitMs}`;
  for (const [i, s] of spec.subjects.entries()) {
    if (!SUBJECT_PATTERN.test(s)) return `invalid subject "${s}"`;
    const other = spec.subjects.slice(0, i).find((t) => subjectsOverlap(s, t));
    if (other !== undefined) return `subjects "${other}" and "${s}" overlap`;
  }
  return undefined;
}

function validMessage(message: OutgoingMessage): string | undefined {
  if (!PUBLISH_SUBJECT.test(message.subject)) return `invalid subject "${message.subject}"`;
  if (!(message.data instanceof Uint8Array)) return "data must be a Uint8Array";
  if (message.id !== undefined && (typeof message.id !== "string" || message.id === ""))
    return "a message id must be a non-empty string";
  for (const value of Object.values(message.headers ?? {}))
    if (typeof value !== "string") return "header values must be strings";
  return undefined;
}

function lowerCaseNames(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

export function openSqliteQueue(file: string, options: SqliteQueueOptions = {}): QueuePort {
  const db = openDatabase(file);
  const q = statements(db);
  q.recover.run();

  const consumers = new Map<string, ConsumerSpec>();
  for (const row of q.consumers.all())
    consumers.set(row.name, {
      subjects: JSON.parse(row.subjects) as string[],
      ackWaitMs: row.ack_wait_ms,
    });
  const live = new Map<string, Set<LiveConsumption>>();
  const report =
    options.onError ??
    ((error: unknown, context: string) => {
      console.error(`litefaas sqlite-queue: ${context}: ${String(error)}`);
    });
  const ticker = new Ticker(db, q, consumers, (c) => live.get(c) ?? [], options.onPublish, report);
  const dlq = deadLetterQueue(db, q, (consumer) => ticker.wakeConsumer(consumer));
  let closed = false;

  const prune = setInterval(() => {
    q.forget.run(Date.now() - DEDUP_WINDOW_MS);
  }, PRUNE_INTERVAL_MS);
  prune.unref();

  /**
   * Runs a synchronous step as the port's promise: a throw (bad input, closed) rejects. Queued
   * publishes and answers are written first, so the step sees every call made before it.
   */
  const run = <T>(step: () => T): Promise<T> => {
    try {
      if (closed) throw new Error("the queue is closed");
      ticker.flushWrites();
      return Promise.resolve(step());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const accept = (scope: string, outgoing: OutgoingMessage, consumer?: string) => {
    const problem = closed ? "the queue is closed" : validMessage(outgoing);
    if (problem !== undefined) return Promise.reject(new Error(problem));
    if (consumer !== undefined && !consumers.has(consumer))
      return Promise.reject(new Error(`no consumer "${consumer}"`));
    const message: QueueMessage = {
      id: outgoing.id ?? randomUUID(),
      subject: outgoing.subject,
      data: new Uint8Array(outgoing.data), // a copy: the caller may reuse its bytes
      headers: lowerCaseNames(outgoing.headers),
      publishedAt: Date.now(),
    };
    // ids made here are unique: no need to remember them
    const dedup = outgoing.id === undefined ? {} : { scope };
    return ticker.accept({ message, ...dedup, ...(consumer === undefined ? {} : { consumer }) });
  };

  return {
    publish: (outgoing) => accept(PUBLISH_SCOPE, outgoing),
    send: (consumer, outgoing) => accept(consumer, outgoing, consumer),

    ensureConsumer: (name, spec) =>
      run(() => {
        const problem = validSpec(name, spec);
        if (problem !== undefined) throw new Error(problem);
        const copy = { subjects: [...spec.subjects], ackWaitMs: spec.ackWaitMs };
        q.upsertConsumer.run(name, JSON.stringify(copy.subjects), copy.ackWaitMs);
        consumers.set(name, copy);
      }),

    deleteConsumer: (name) =>
      run(() => {
        db.transaction(() => {
          q.dropDeliveries.run(name);
          q.dropDeadLetters.run(name);
          q.dropDedup.run(name);
          q.dropConsumer.run(name);
        })();
        consumers.delete(name);
      }),

    pending: (consumer) => run(() => q.pending.get(consumer)?.n ?? 0),

    consume: (consumer, { concurrency }, handler) => {
      if (closed) throw new Error("the queue is closed");
      if (!Number.isSafeInteger(concurrency) || concurrency < 1)
        throw new Error(`invalid concurrency ${concurrency}`);
      const consumption = new LiveConsumption(consumer, concurrency, handler, {
        q,
        ticker,
        report,
        ackWaitMs: (name) => consumers.get(name)?.ackWaitMs ?? FALLBACK_ACK_WAIT_MS,
        remove: (c) => live.get(c.consumer)?.delete(c),
      });
      let set = live.get(consumer);
      if (set === undefined) live.set(consumer, (set = new Set()));
      set.add(consumption);
      consumption.wake();
      return consumption;
    },

    deadLetters: {
      list: (consumer, page) => run(() => dlq.list(consumer, page)),
      get: (consumer, id) => run(() => dlq.get(consumer, id)),
      count: (consumer) => run(() => dlq.count(consumer)),
      redrive: (consumer, ids) => run(() => dlq.redrive(consumer, ids)),
      purge: (consumer, ids) => run(() => dlq.purge(consumer, ids)),
    },

    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      for (const set of live.values()) for (const c of [...set]) c.halt();
      ticker.close();
      clearInterval(prune);
      db.close();
      return Promise.resolve();
    },
  };
}
