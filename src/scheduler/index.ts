// The scheduler: one pool per deployed function, running its live version. A deploy swaps the
// pool; the old one finishes its in-flight work and is disposed (no request is dropped).
import type {
  FunctionVersion,
  InvocationRequest,
  InvocationResponse,
  Runtime,
} from "../runtimes/types.js";
import { FunctionPool, type PoolOptions } from "./function-pool.js";

export interface SchedulerOptions extends PoolOptions {
  /** How often idle instances are looked for (ms). */
  sweepIntervalMs?: number;
  /** How long a replaced version may take to finish its in-flight work (ms). */
  drainMs?: number;
}

export class Scheduler {
  private pools = new Map<string, FunctionPool>();
  private retiring = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout;

  constructor(
    private readonly runtime: Runtime,
    private readonly options: SchedulerOptions,
  ) {
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 1000);
    this.sweeper.unref();
  }

  invoke(fn: FunctionVersion, request: InvocationRequest): Promise<InvocationResponse> {
    return this.poolFor(fn).invoke(request);
  }

  /** Drop a function's pool (after `rm`), letting in-flight work finish. */
  retire(project: string, name: string): void {
    const key = `${project}/${name}`;
    const pool = this.pools.get(key);
    if (pool === undefined) return;
    this.pools.delete(key);
    this.retirePool(pool);
  }

  usage(project: string, name: string): { instances: number; inflight: number } {
    const pool = this.pools.get(`${project}/${name}`);
    return { instances: pool?.size ?? 0, inflight: pool?.busy ?? 0 };
  }

  /** Finish in-flight work everywhere, then dispose every instance. */
  async close(deadlineMs: number): Promise<void> {
    clearInterval(this.sweeper);
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all([...pools.map((p) => p.drain(deadlineMs)), ...this.retiring]);
  }

  private poolFor(fn: FunctionVersion): FunctionPool {
    const key = `${fn.project}/${fn.name}`;
    const pool = this.pools.get(key);
    if (pool !== undefined && pool.fn.version === fn.version && pool.fn.artifact === fn.artifact)
      return pool;
    const fresh = new FunctionPool(fn, this.runtime, {
      ...this.options,
      perInstance: Math.min(
        this.runtime.perInstance?.(fn) ?? Number.POSITIVE_INFINITY,
        this.options.perInstance,
      ),
    });
    this.pools.set(key, fresh);
    if (pool !== undefined) this.retirePool(pool);
    return fresh;
  }

  private retirePool(pool: FunctionPool) {
    const done = pool
      .drain(this.options.drainMs ?? 30_000)
      .finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }

  private sweep() {
    const now = Date.now();
    for (const pool of this.pools.values()) pool.sweep(now);
  }
}
