// The instances of one function version: reuse warm ones, start new ones (cold starts) when all
// are busy, throttle beyond the function's concurrency, and dispose idle ones (scale to zero).
import { LitefaasError } from "../shared/errors.js";
import type {
  FunctionVersion,
  Instance,
  InvocationRequest,
  InvocationResponse,
  Runtime,
} from "../runtimes/types.js";

export interface PoolOptions {
  /** Invocations one instance serves at once before another instance is started. */
  perInstance: number;
}

export class FunctionPool {
  private instances: Instance[] = [];
  private starting = new Map<Promise<Instance>, number>();
  private inflight = 0;
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(
    readonly fn: FunctionVersion,
    private readonly runtime: Runtime,
    private readonly options: PoolOptions,
  ) {}

  get size(): number {
    return this.instances.length;
  }

  get busy(): number {
    return this.inflight;
  }

  async invoke(request: InvocationRequest): Promise<InvocationResponse> {
    if (this.inflight >= this.fn.config.concurrency) {
      throw new LitefaasError(
        "THROTTLED",
        `${this.fn.project}/${this.fn.name} is at its concurrency limit of ${this.fn.config.concurrency}`,
        {
          fix: "retry after a moment, or raise limits.concurrency in litefaas.yaml",
        },
      );
    }
    this.inflight++;
    try {
      const { instance, cold } = await this.acquire();
      const response = (await instance.invoke(request)) as InvocationResponse;
      response.coldStart = cold;
      return response;
    } finally {
      this.inflight--;
      if (this.draining && this.inflight === 0) this.drained?.();
    }
  }

  /** Dispose instances idle for longer than the function's idle timeout. */
  sweep(now: number): void {
    const idleMs = this.fn.config.idleTimeoutMs;
    const keep: Instance[] = [];
    for (const instance of this.instances) {
      if (!instance.alive) continue;
      if (instance.inflight === 0 && now - instance.lastUsed >= idleMs) instance.dispose();
      else keep.push(instance);
    }
    this.instances = keep;
  }

  /** Stop taking work; resolve when in-flight invocations are done (or `deadlineMs` passed). */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    if (this.inflight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref()),
      ]);
    }
    // let waitUntil work and streams finish on instances that are still busy
    const until = Date.now() + deadlineMs;
    while (this.instances.some((i) => i.alive && i.inflight > 0) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.dispose();
  }

  dispose(): void {
    for (const instance of this.instances) instance.dispose();
    this.instances = [];
  }

  private async acquire(): Promise<{ instance: Instance; cold: boolean }> {
    let best: Instance | undefined;
    let live = 0;
    for (const instance of this.instances) {
      if (!instance.alive) continue;
      live++;
      if (!instance.accepting) continue;
      if (best === undefined || instance.inflight < best.inflight) best = instance;
    }
    if (live !== this.instances.length) this.instances = this.instances.filter((i) => i.alive);
    if (best !== undefined && best.inflight < this.options.perInstance)
      return { instance: best, cold: false };
    // every instance is full: join an instance that is already starting if it has room
    for (const [starting, claimed] of this.starting) {
      if (claimed < this.options.perInstance) {
        this.starting.set(starting, claimed + 1);
        return { instance: await starting, cold: true };
      }
    }
    const starting = this.runtime.createInstance(this.fn);
    this.starting.set(starting, 1);
    try {
      const instance = await starting;
      this.instances.push(instance);
      return { instance, cold: true };
    } finally {
      this.starting.delete(starting);
    }
  }
}
