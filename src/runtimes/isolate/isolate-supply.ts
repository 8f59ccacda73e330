// Prepared isolates kept ready ahead of demand, per memory limit, refilled in the background one
// at a time so refilling never competes with serving for more than one core-slice at once.
import { prepareIsolate, type PreparedIsolate } from "./prepared-isolate.js";

/** How long a refill waits after a take: about one cold start. */
const REFILL_DELAY_MS = 25;

export interface SupplyOptions {
  /** Prepared isolates kept ready per memory size in use. */
  target: number;
}

export class IsolateSupply {
  private ready = new Map<number, PreparedIsolate[]>();
  private refilling = false;
  private closed = false;
  private wanted = new Set<number>();
  private deferred: NodeJS.Timeout | undefined;

  constructor(private readonly options: SupplyOptions) {}

  /** Keep isolates of this memory size ready from now on. */
  want(memoryMiB: number): void {
    if (this.wanted.has(memoryMiB)) return;
    this.wanted.add(memoryMiB);
    this.refill();
  }

  /** A prepared isolate: from the shelf when one is there, else made now (the slow path). */
  async take(memoryMiB: number): Promise<PreparedIsolate> {
    this.want(memoryMiB);
    const shelf = this.ready.get(memoryMiB);
    const prepared = shelf?.pop();
    if (prepared !== undefined && !prepared.isolate.isDisposed) {
      // refilling competes with the cold start that took this isolate (both want the isolate
      // threads and the cores): let the cold start finish first
      this.refillSoon();
      return prepared;
    }
    this.refill();
    return prepareIsolate(memoryMiB);
  }

  get size(): number {
    let n = 0;
    for (const shelf of this.ready.values()) n += shelf.length;
    return n;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.deferred);
    for (const shelf of this.ready.values()) for (const p of shelf) p.isolate.dispose();
    this.ready.clear();
  }

  private refillSoon() {
    if (this.deferred !== undefined) return;
    this.deferred = setTimeout(() => {
      this.deferred = undefined;
      this.refill();
    }, REFILL_DELAY_MS);
    this.deferred.unref();
  }

  private missing(): number | undefined {
    for (const memoryMiB of this.wanted) {
      if ((this.ready.get(memoryMiB)?.length ?? 0) < this.options.target) return memoryMiB;
    }
    return undefined;
  }

  private refill() {
    if (this.refilling || this.closed) return;
    const memoryMiB = this.missing();
    if (memoryMiB === undefined) return;
    this.refilling = true;
    setImmediate(() => {
      prepareIsolate(memoryMiB)
        .then((prepared) => {
          if (this.closed) {
            prepared.isolate.dispose();
            return;
          }
          let shelf = this.ready.get(memoryMiB);
          if (shelf === undefined) this.ready.set(memoryMiB, (shelf = []));
          shelf.push(prepared);
        })
        .then(
          () => {
            this.refilling = false;
            this.refill();
          },
          () => {
            // preparing failed (e.g. the host is out of memory): try again later, not in a hot loop
            setTimeout(() => {
              this.refilling = false;
              this.refill();
            }, 1000).unref();
          },
        );
    });
  }
}
