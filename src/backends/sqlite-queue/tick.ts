// Everything asked of the queue in one event-loop turn is written in one transaction at the end
// of it (setImmediate): publishes and sends, acks, retries and dead letters, then the claims of
// the consumptions that can take more. A commit costs ~50 µs; one per message would cap the
// queue far below the 10,000 messages/s it is meant for. Promises resolve after the commit, so
// an accepted message is stored. The queues hold what callers asked in one turn and at most one
// answer per delivery handed out: bounded by the callers and by concurrency.
import {
  DEDUP_WINDOW_MS,
  subjectMatches,
  type ConsumerSpec,
  type QueueMessage,
} from "../../ports/queue.js";
import type { SqliteDatabase } from "../sqlite/driver.js";
import type { DeliveryRow, Statements } from "./schema.js";

export type Answer =
  | { kind: "ack"; seq: number }
  | { kind: "retry"; seq: number; attempt: number; dueAt: number }
  | { kind: "dead"; seq: number; attempt: number; reason: string; failedAt: number };

/** A consumption as the ticker sees it (LiveConsumption). */
export interface Claimer {
  readonly consumer: string;
  /** Its answer was taken: one slot free again. */
  answered(): void;
  /** Inside the transaction: lease what it can take now. */
  claim(now: number): DeliveryRow[];
  /** After the commit: give the handler what was claimed. */
  handOut(rows: DeliveryRow[]): void;
}

export interface Incoming {
  message: QueueMessage;
  /** Set for a send; otherwise every consumer whose subjects match, at the commit. */
  consumer?: string;
  /** Deduplication scope; absent for ids made by the backend. */
  scope?: string;
}

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export class Ticker {
  private messages: Array<Incoming & Pending<QueueMessage>> = [];
  private answers: Array<{ answer: Answer; owner: Claimer } & Pending<undefined>> = [];
  private woken = new Set<Claimer>();
  private scheduled = false;
  private closed = false;
  private readonly write: (
    messages: Incoming[],
    answers: Answer[],
    claim: boolean,
  ) => {
    accepted: Array<{ stored: boolean; at: number }>;
    touched: Set<string>;
    claims: Array<[Claimer, DeliveryRow[]]>;
  };

  constructor(
    db: SqliteDatabase,
    private readonly q: Statements,
    private readonly consumers: ReadonlyMap<string, ConsumerSpec>,
    private readonly live: (consumer: string) => Iterable<Claimer>,
    private readonly onPublish: ((message: QueueMessage) => void) | undefined,
    private readonly report: (error: unknown, context: string) => void,
  ) {
    const writeAll = (messages: Incoming[], answers: Answer[], claim: boolean) => {
      const touched = new Set<string>();
      const accepted = messages.map((m) => this.store(m, touched));
      for (const a of answers) {
        if (a.kind === "ack") q.ack.run(a.seq);
        else if (a.kind === "retry") q.retry.run(a.dueAt, a.seq, a.attempt);
        else if (q.bury.run(a.reason, a.failedAt, a.seq, a.attempt).changes > 0)
          q.unqueue.run(a.seq, a.attempt);
      }
      if (!claim) return { accepted, touched, claims: [] };
      // the claims go in the same commit: consumers the writes concern, and those woken before
      const woken = new Set(this.woken);
      for (const consumer of touched) for (const c of this.live(consumer)) woken.add(c);
      const now = Date.now();
      const claims = [...woken].map((c): [Claimer, DeliveryRow[]] => [c, c.claim(now)]);
      return { accepted, touched, claims };
    };
    this.write = db.transaction(writeAll);
  }

  /** Stores one copy per target, unless the id was accepted in its scope within the window. */
  private store(m: Incoming, touched: Set<string>): { stored: boolean; at: number } {
    const { message } = m;
    const now = message.publishedAt;
    if (m.scope !== undefined) {
      const seen = this.q.seen.get(m.scope, message.id);
      if (seen !== undefined && seen.accepted_at > now - DEDUP_WINDOW_MS)
        return { stored: false, at: seen.accepted_at };
      this.q.remember.run(m.scope, message.id, now);
    }
    const headers = JSON.stringify(message.headers);
    const insert = (consumer: string) => {
      this.q.insert.run(consumer, message.id, message.subject, message.data, headers, now, now);
      touched.add(consumer);
    };
    if (m.consumer !== undefined) {
      if (this.consumers.has(m.consumer)) insert(m.consumer);
    } else {
      for (const [name, spec] of this.consumers)
        if (spec.subjects.some((p) => subjectMatches(p, message.subject))) insert(name);
    }
    return { stored: true, at: now };
  }

  accept(incoming: Incoming): Promise<QueueMessage> {
    if (this.closed) return Promise.reject(new Error("the queue is closed"));
    return new Promise((resolve, reject) => {
      this.messages.push({ ...incoming, resolve, reject });
      this.schedule();
    });
  }

  answer(answer: Answer, owner: Claimer): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the queue is closed"));
    return new Promise((resolve, reject) => {
      this.answers.push({ answer, owner, resolve: () => resolve(), reject });
      this.schedule();
    });
  }

  /** Let `c` claim at the end of this turn. */
  wake(c: Claimer): void {
    if (this.closed) return;
    this.woken.add(c);
    this.schedule();
  }

  wakeConsumer(consumer: string): void {
    for (const c of this.live(consumer)) this.wake(c);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.tick();
    });
  }

  /**
   * Writes what is queued, now: port calls that read or change consumers run it first, so they
   * see every publish and answer made before them. Claims wait for the scheduled tick.
   */
  flushWrites(): void {
    this.commit(false);
  }

  private tick(): void {
    if (!this.closed) this.commit(true);
  }

  private commit(claim: boolean): void {
    const messages = this.messages;
    const answers = this.answers;
    if (messages.length === 0 && answers.length === 0 && (!claim || this.woken.size === 0)) return;
    this.messages = [];
    this.answers = [];
    for (const a of answers) {
      a.owner.answered();
      // a freed slot, a retry due earlier: claim at this commit, or at the next tick
      if (claim) for (const c of this.live(a.owner.consumer)) this.woken.add(c);
      else this.wakeConsumer(a.owner.consumer);
    }
    let result: ReturnType<Ticker["write"]>;
    try {
      result = this.write(
        messages,
        answers.map((a) => a.answer),
        claim,
      );
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.report(failure, "writing failed");
      for (const p of [...messages, ...answers]) p.reject(failure);
      return;
    }
    if (claim) this.woken.clear();
    else for (const consumer of result.touched) this.wakeConsumer(consumer);
    for (const a of answers) a.resolve(undefined);
    for (const [i, m] of messages.entries()) {
      const { stored, at } = result.accepted[i] ?? { stored: true, at: m.message.publishedAt };
      m.resolve(stored ? m.message : { ...m.message, publishedAt: at });
      if (stored && m.consumer === undefined && this.onPublish !== undefined) {
        try {
          this.onPublish(m.message);
        } catch (error) {
          this.report(error, "onPublish threw");
        }
      }
    }
    for (const [c, rows] of result.claims) c.handOut(rows);
  }

  /** Writes what is queued; later calls are refused. */
  close(): void {
    this.flushWrites();
    this.closed = true;
    this.woken.clear();
  }
}
