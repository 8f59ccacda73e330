// One consume() call. It claims at the ticker's commits, when woken by a publish or send that
// reached its consumer, by an answer, or by its timer at the consumer's earliest future due_at
// (a retry, a lease running out). Each claim takes at most the free slots, oldest due first, so
// nothing piles up in memory however many messages are stored.
import type { Consumption, Delivery } from "../../ports/queue.js";
import { messageOf, type DeliveryRow, type Statements } from "./schema.js";
import type { Answer, Claimer, Ticker } from "./tick.js";

/** setTimeout's limit; a later due_at just re-arms the timer when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

export interface ConsumeContext {
  q: Statements;
  ticker: Ticker;
  report(error: unknown, context: string): void;
  ackWaitMs(consumer: string): number;
  /** Forget this consumption (it stopped). */
  remove(live: LiveConsumption): void;
}

export class LiveConsumption implements Consumption, Claimer {
  private inFlight = 0;
  private asked = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly consumer: string,
    private readonly concurrency: number,
    private readonly handler: (delivery: Delivery) => void,
    private readonly ctx: ConsumeContext,
  ) {}

  wake(): void {
    if (!this.stopped) this.ctx.ticker.wake(this);
  }

  answered(): void {
    this.inFlight--;
  }

  claim(now: number): DeliveryRow[] {
    this.asked = this.stopped ? 0 : this.concurrency - this.inFlight;
    if (this.asked <= 0) return []; // an answer wakes us
    const leaseEnds = now + this.ctx.ackWaitMs(this.consumer);
    const rows: DeliveryRow[] = [];
    while (rows.length < this.asked) {
      const row = this.ctx.q.claim.get(leaseEnds, this.consumer, now);
      if (row === undefined) break;
      rows.push(row);
    }
    return rows;
  }

  handOut(rows: DeliveryRow[]): void {
    for (const [i, row] of rows.entries()) {
      if (this.stopped) {
        // stopped (by a handler) mid-batch: put back what no handler was given. If the handler
        // closed the port, they stay leased and the next open hands them out again.
        try {
          for (const rest of rows.slice(i)) this.ctx.q.release.run(rest.seq, rest.attempt);
        } catch {
          // the database is closed
        }
        return;
      }
      this.inFlight++;
      this.hand(row);
    }
    if (rows.length < this.asked && !this.stopped) this.arm();
  }

  stop(): Promise<void> {
    this.halt();
    return Promise.resolve();
  }

  /** Stops without a promise (the port closing). */
  halt(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.ctx.remove(this);
  }

  private hand(row: DeliveryRow): void {
    const delivery = this.delivery(row);
    try {
      this.handler(delivery);
    } catch (error) {
      // as if the worker died holding it: back after the ack wait, and the slot freed
      this.ctx.report(error, `the handler of ${this.consumer} threw`);
      delivery.retry(this.ctx.ackWaitMs(this.consumer)).catch(() => undefined);
    }
  }

  private delivery(row: DeliveryRow): Delivery {
    const { seq, attempt } = row;
    let answered = false;
    // the first answer counts; later ones are no-ops, as acking twice is on NATS
    const answer = (make: () => Answer): Promise<void> => {
      if (answered) return Promise.resolve();
      answered = true;
      return this.ctx.ticker.answer(make(), this);
    };
    return {
      ...messageOf(row),
      attempt,
      ack: () => answer(() => ({ kind: "ack", seq })),
      retry: (delayMs) => {
        if (!Number.isFinite(delayMs) || delayMs < 0)
          return Promise.reject(new Error(`invalid retry delay ${delayMs}`));
        return answer(() => ({ kind: "retry", seq, attempt, dueAt: Date.now() + delayMs }));
      },
      deadLetter: (reason) =>
        answer(() => ({ kind: "dead", seq, attempt, reason, failedAt: Date.now() })),
      inProgress: () => {
        if (answered) return;
        try {
          this.ctx.q.extend.run(Date.now() + this.ctx.ackWaitMs(this.consumer), seq, attempt);
        } catch {
          // the database is closed: the lease is recovered on the next open
        }
      },
    };
  }

  /** Nothing more is due now: sleep until the earliest due_at of this consumer, if any. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.ctx.q.nextDue.get(this.consumer)?.at ?? null;
    if (at === null) return;
    const wait = Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS);
    // the queue does not keep a process alive by itself; the platform's server does
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, wait).unref();
  }
}
