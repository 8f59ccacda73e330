// Rate limits and quotas, counted in memory and shared across gateway processes. A token bucket
// (rate, burst) per policy and scope (the route, the caller or the client IP); a quota is a
// fixed window count (per hour or day) per caller. Each process admits from its own buckets and
// tells the others, every SHARE_MS, what it admitted; they take it off theirs, into debt if need
// be, so the cluster's total converges on the limit. The overshoot is what the processes admit
// before they hear of each other: at most (processes − 1) × (burst + rate × SHARE_MS) at once.
import type { RateLimitPolicy } from "../../shared/routes.js";

/** How often a process tells the others what it admitted. */
export const SHARE_MS = 50;
/** Buckets full again and windows past are dropped this often (memory stays bounded). */
const SWEEP_MS = 10_000;

export interface LimitVerdict {
  ok: boolean;
  /** The policy that decided (the tightest, or the one that refused). */
  policy: RateLimitPolicy;
  /** Requests left now (tokens, or the quota's remainder). */
  remaining: number;
  /** Seconds until the bucket is full again, or the quota window ends. */
  resetSeconds: number;
  /** When refused: seconds until one request would be admitted. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

interface Window {
  count: number;
  start: number;
}

export interface LimitShare {
  /** Tell the other processes: [[key, count, windowStart?]]. */
  send(entries: Array<[string, number, number?]>): void;
}

type RatePolicy = Extract<RateLimitPolicy, { kind: "rate" }>;

export class RateLimiter {
  private readonly buckets = new Map<string, { bucket: Bucket; policy: RatePolicy }>();
  private readonly windows = new Map<string, Window>();
  private pending = new Map<string, [string, number, number?]>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly share?: LimitShare) {
    this.timers.push(setInterval(() => this.sweep(Date.now()), SWEEP_MS).unref());
    if (share !== undefined) this.timers.push(setInterval(() => this.flush(), SHARE_MS).unref());
  }

  /**
   * Admit one request under every policy, or none: a request refused by one policy consumes
   * nothing of the others. `scopeOf` names the scope each policy counts in.
   */
  take(
    policies: RateLimitPolicy[],
    scopeOf: (policy: RateLimitPolicy) => string,
    now = Date.now(),
  ): LimitVerdict | undefined {
    if (policies.length === 0) return undefined;
    if (policies.length === 1) {
      // the common case, without the arrays
      const policy = policies[0] as RateLimitPolicy;
      const look = this.look(policy, `${policy.key}\u0000${scopeOf(policy)}`, now);
      if (look.ok) look.commit();
      return look.verdict;
    }
    const looks = policies.map((policy) =>
      this.look(policy, `${policy.key}\u0000${scopeOf(policy)}`, now),
    );
    const refused = looks.find((l) => !l.ok);
    if (refused !== undefined) return refused.verdict;
    for (const l of looks) l.commit();
    // the headers speak of the policy closest to refusing
    return looks.map((l) => l.verdict).sort((a, b) => a.remaining - b.remaining)[0];
  }

  /** What another process admitted. */
  absorb(entries: Array<[string, number, number?]>, now = Date.now()): void {
    for (const [key, count, windowStart] of entries) {
      if (windowStart !== undefined) {
        const w = this.windows.get(key);
        if (w === undefined || w.start < windowStart)
          this.windows.set(key, { count, start: windowStart });
        else if (w.start === windowStart) w.count += count;
        continue;
      }
      const held = this.buckets.get(key);
      if (held === undefined) continue; // full here: nothing to take from yet, a fresh bucket
      refill(held.bucket, held.policy, now);
      // debt allowed down to one burst: the cluster pays back what it overspent
      held.bucket.tokens = Math.max(held.bucket.tokens - count, -held.policy.burst);
    }
  }

  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.flush();
  }

  private look(policy: RateLimitPolicy, key: string, now: number) {
    if (policy.kind === "quota") {
      const start = Math.floor(now / policy.periodMs) * policy.periodMs;
      let w = this.windows.get(key);
      if (w === undefined || w.start < start) {
        w = { count: 0, start };
        this.windows.set(key, w);
      }
      const window = w;
      const ok = window.count < policy.limit;
      const resetSeconds = Math.ceil((start + policy.periodMs - now) / 1000);
      return {
        ok,
        verdict: {
          ok,
          policy,
          remaining: Math.max(0, policy.limit - window.count - (ok ? 1 : 0)),
          resetSeconds,
          retryAfterSeconds: ok ? 0 : resetSeconds,
        },
        commit: () => {
          window.count++;
          this.note(key, window.start);
        },
      };
    }
    let held = this.buckets.get(key);
    if (held === undefined) {
      held = { bucket: { tokens: policy.burst, at: now }, policy };
      this.buckets.set(key, held);
    }
    const bucket = held.bucket;
    refill(bucket, policy, now);
    // refills add up in floating point: ten steps of 0.1 must make a whole token
    const ok = bucket.tokens >= 1 - 1e-9;
    const after = ok ? bucket.tokens - 1 : bucket.tokens;
    return {
      ok,
      verdict: {
        ok,
        policy,
        remaining: Math.max(0, Math.floor(after)),
        resetSeconds: Math.ceil((policy.burst - after) / policy.rate),
        retryAfterSeconds: ok ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / policy.rate)),
      },
      commit: () => {
        bucket.tokens -= 1;
        this.note(key, undefined);
      },
    };
  }

  private note(key: string, windowStart: number | undefined): void {
    if (this.share === undefined) return;
    const id = windowStart === undefined ? key : `${key}\u0000${windowStart}`;
    const entry = this.pending.get(id);
    if (entry === undefined)
      this.pending.set(id, [key, 1, ...(windowStart === undefined ? [] : [windowStart])] as [
        string,
        number,
        number?,
      ]);
    else entry[1]++;
  }

  private flush(): void {
    if (this.share === undefined || this.pending.size === 0) return;
    const entries = [...this.pending.values()];
    this.pending = new Map();
    this.share.send(entries);
  }

  private sweep(now: number): void {
    for (const [key, held] of this.buckets) {
      refill(held.bucket, held.policy, now);
      if (held.bucket.tokens >= held.policy.burst) this.buckets.delete(key);
    }
    // quota periods are a day at most: a window two days old is over everywhere
    for (const [key, w] of this.windows)
      if (now - w.start > 2 * 86_400_000) this.windows.delete(key);
  }
}

function refill(bucket: Bucket, policy: { rate: number; burst: number }, now: number): void {
  if (now > bucket.at) {
    bucket.tokens = Math.min(
      policy.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * policy.rate,
    );
    bucket.at = now;
  }
}
