// The instances of one function version: reuse warm ones, start new ones (cold starts) when all
// are busy, throttle beyond the function's concurrency, and dispose idle ones (scale to zero).
import { LitefaasError } from "../shared/errors.js";
import { setFailedPeakMemory } from "../runtimes/failed-invocation-memory.js";
import type {
  FunctionVersion,
  Instance,
  InvocationRequest,
  InvocationResponse,
  Runtime,
} from "../runtimes/types.js";

const MIB = 1024 * 1024;

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

  invoke(request: InvocationRequest): Promise<InvocationResponse> {
    if (this.inflight >= this.fn.config.concurrency) {
      return Promise.reject(
        new LitefaasError(
          "THROTTLED",
          `${this.fn.project}/${this.fn.name} is at its concurrency limit of ${this.fn.config.concurrency}`,
          { fix: "retry after a moment, or raise limits.concurrency in litefaas.yaml" },
        ),
      );
    }
    this.inflight++;
    // the warm path stays synchronous up to the instance: no extra promise per request
    const warm = this.warmInstance();
    const answer =
      warm === undefined
        ? this.acquireCold().then(({ instance, initMs }) =>
            this.mark(instance.invoke(request), instance, initMs),
          )
        : this.mark(warm.invoke(request), warm, undefined);
    return answer.finally(() => {
      this.inflight--;
      if (this.draining && this.inflight === 0) this.drained?.();
    });
  }

  /** `initMs` is set for a cold start: how long the invocation waited for its instance. */
  private mark(
    answer: Promise<Omit<InvocationResponse, "coldStart">>,
    instance: Instance,
    initMs: number | undefined,
  ): Promise<InvocationResponse> {
    return answer.then(
      (response) => {
        const marked = response as InvocationResponse;
        marked.coldStart = initMs !== undefined;
        if (initMs !== undefined) marked.initMs = initMs;
        const memory = instance.memoryPeakBytes;
        if (memory !== undefined) marked.memoryPeakBytes = memory;
        return marked;
      },
      (error: unknown) => {
        let memory = instance.memoryPeakBytes;
        // it reached the limit, whatever the last sample said (as Lambda reports such a run)
        if (error instanceof LitefaasError && error.code === "FUNCTION_MEMORY_LIMIT")
          memory = Math.max(memory ?? 0, this.fn.config.memoryMiB * MIB);
        if (memory !== undefined) setFailedPeakMemory(error, memory);
        throw error;
      },
    );
  }

  /** Dispose instances idle for longer than the function's idle timeout. */
  sweep(now: number): void {
    const idleMs = this.fn.config.idleTimeoutMs;
    const keep: Instance[] = [];
    for (const instance of this.instances) {
      if (!instance.alive) continue;
      if (instance.inflight === 0 && instance.sockets === 0 && now - instance.lastUsed >= idleMs)
        instance.dispose();
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

  /** The least busy accepting instance with room, if any. */
  private warmInstance(): Instance | undefined {
    let best: Instance | undefined;
    let dead = false;
    for (const instance of this.instances) {
      if (!instance.alive) {
        dead = true;
        continue;
      }
      if (!instance.accepting) continue;
      if (best === undefined || instance.inflight < best.inflight) best = instance;
    }
    if (dead) this.instances = this.instances.filter((i) => i.alive);
    return best !== undefined && best.inflight < this.options.perInstance ? best : undefined;
  }

  /** Every instance is full: join one that is starting and has room, or start another. */
  private async acquireCold(): Promise<{ instance: Instance; initMs: number }> {
    const since = performance.now();
    for (const [starting, claimed] of this.starting) {
      if (claimed < this.options.perInstance) {
        this.starting.set(starting, claimed + 1);
        const instance = await starting;
        return { instance, initMs: performance.now() - since };
      }
    }
    const starting = this.runtime.createInstance(this.fn);
    this.starting.set(starting, 1);
    try {
      const instance = await starting;
      this.instances.push(instance);
      return { instance, initMs: performance.now() - since };
    } finally {
      this.starting.delete(starting);
    }
  }
}
