// The queue port: durable, at-least-once delivery of messages to named consumers, with delayed
// retries and a dead-letter queue per consumer. Backends: SQLite (embedded) and NATS JetStream
// (distributed). Pub/sub triggers, async invocations and cron ticks all travel through it.
//
// Subjects are NATS-style (tokens separated by ".", "*" one token, ">" the rest). A message
// published on a subject goes to every consumer whose subjects match it at that moment; a
// message sent to a consumer goes to that consumer only. Either way it is stored before the
// call resolves, so an accepted message survives the process being killed.

export interface QueueMessage {
  /** Unique; the publisher's when given (deduplication), else made by the backend. */
  id: string;
  subject: string;
  data: Uint8Array;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Epoch ms when the message was first accepted (kept across retries and redrives). */
  publishedAt: number;
}

export interface OutgoingMessage {
  subject: string;
  data: Uint8Array;
  headers?: Record<string, string>;
  /** A message whose id was accepted within the deduplication window is not stored again. */
  id?: string;
}

export interface Delivery extends QueueMessage {
  /** 1 on the first delivery, one more on every later one (retries and crash redeliveries). */
  readonly attempt: number;
  /** Done: never delivered to this consumer again. */
  ack(): Promise<void>;
  /** Deliver again after `delayMs`, with the next attempt number; frees the concurrency slot. */
  retry(delayMs: number): Promise<void>;
  /** Into the consumer's dead-letter queue with a reason; never delivered again. */
  deadLetter(reason: string): Promise<void>;
  /**
   * Still working on it: the ack wait starts again. A holder that may take longer than the ack
   * wait calls this more often than that; a holder that died stops calling, and the delivery
   * comes back to someone else after at most one ack wait. Does nothing once answered.
   */
  inProgress(): void;
}

export interface ConsumerSpec {
  /** Subjects whose messages this consumer receives from now on (wildcards allowed, no overlaps). */
  subjects: string[];
  /**
   * How long a delivery may stay unanswered (without inProgress) before it is delivered again:
   * for a worker that died holding it, in this process or another. A process that restarts on
   * the same SQLite file gets its held deliveries back at once.
   */
  ackWaitMs: number;
}

export interface DeadLetter extends QueueMessage {
  /** Deliveries made before it was given up. */
  attempts: number;
  reason: string;
  /** Epoch ms when it was dead-lettered. */
  failedAt: number;
}

export interface DeadLetterPage {
  items: DeadLetter[];
  /** Present when more follow: pass as `after`. */
  cursor?: string;
}

export interface Consumption {
  /** Take no new deliveries; those handed out may still be answered. */
  stop(): Promise<void>;
}

export interface DeadLetterQueue {
  /** Oldest first. */
  list(consumer: string, options?: { limit?: number; after?: string }): Promise<DeadLetterPage>;
  get(consumer: string, id: string): Promise<DeadLetter | undefined>;
  count(consumer: string): Promise<number>;
  /** Send dead letters (all, or those named) back to their consumer as new deliveries, attempt 1;
   * they leave the dead-letter queue. Returns how many were sent. */
  redrive(consumer: string, ids?: string[]): Promise<number>;
  /** Delete dead letters (all, or those named); returns how many. */
  purge(consumer: string, ids?: string[]): Promise<number>;
}

export interface QueuePort {
  /** Accept a message for every consumer whose subjects match `subject`. */
  publish(message: OutgoingMessage): Promise<QueueMessage>;
  /** Accept a message for one consumer only, whatever its subjects (async invoke, cron, redrive). */
  send(consumer: string, message: OutgoingMessage): Promise<QueueMessage>;
  /** Create a durable consumer, or change its subjects and ack wait (pending messages stay). */
  ensureConsumer(name: string, spec: ConsumerSpec): Promise<void>;
  /** Remove a consumer with its pending messages and dead letters. */
  deleteConsumer(name: string): Promise<void>;
  /** Messages waiting for a consumer (not yet answered), for metrics and tests. */
  pending(consumer: string): Promise<number>;
  /**
   * Hand deliveries to `handler`, at most `concurrency` unanswered at a time, oldest due first.
   * The handler must answer every delivery with ack, retry or deadLetter.
   */
  consume(
    consumer: string,
    options: { concurrency: number },
    handler: (delivery: Delivery) => void,
  ): Consumption;
  readonly deadLetters: DeadLetterQueue;
  close(): Promise<void>;
}

/** Consumer names are [A-Za-z0-9_-]; both backends rely on it (NATS consumer names, subjects). */
export const CONSUMER_NAME = /^[A-Za-z0-9_-]{1,200}$/;

/** A subject to publish on: tokens of [A-Za-z0-9_-], no wildcards. */
export const PUBLISH_SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** How long a message id is remembered for deduplication. */
export const DEDUP_WINDOW_MS = 120_000;

/** True when `subject` (no wildcards) matches `pattern` (NATS wildcards). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** True when some subject matches both patterns. */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === ">" || q === ">") return p !== undefined && q !== undefined;
    if (p === undefined || q === undefined) return p === q;
    if (p !== "*" && q !== "*" && p !== q) return false;
  }
}
