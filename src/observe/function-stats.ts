// A function's health over a window, worked out from its invocation records: rate, errors,
// latency percentiles, cold-start share, and the same per time bucket for charts. Records are the
// one source every process shares (JetStream in a cluster), so control sees every worker's.
import type { InvocationRecordEntry } from "../ports/records.js";

export interface HealthSummary {
  invocations: number;
  errors: number;
  /** Invocations per minute over the part of the window the records cover. */
  perMinute: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Share of invocations that started an instance (0..1). */
  coldShare: number | null;
  lastAt: number | null;
}

export interface HealthBucket {
  start: number;
  invocations: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface FunctionStats extends HealthSummary {
  since: number;
  until: number;
  /**
   * False when the window held more invocations than were read (or than records.keep keeps):
   * the figures then describe the newest ones, from `coveredFrom` on.
   */
  complete: boolean;
  coveredFrom: number;
  buckets: HealthBucket[];
}

/** The value below which `share` of the sorted values fall (nearest rank). */
function percentile(sorted: number[], share: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil(share * sorted.length) - 1;
  return sorted[Math.min(Math.max(rank, 0), sorted.length - 1)] ?? null;
}

function summarize(records: InvocationRecordEntry[], spanMs: number): HealthSummary {
  const durations = records.map((r) => r.durationMs).sort((a, b) => a - b);
  const errors = records.filter((r) => r.outcome === "error").length;
  const cold = records.filter((r) => r.cold).length;
  let lastAt: number | null = null;
  for (const r of records) if (lastAt === null || r.start > lastAt) lastAt = r.start;
  return {
    invocations: records.length,
    errors,
    perMinute: spanMs > 0 ? (records.length * 60_000) / spanMs : 0,
    p50Ms: percentile(durations, 0.5),
    p95Ms: percentile(durations, 0.95),
    p99Ms: percentile(durations, 0.99),
    coldShare: records.length === 0 ? null : cold / records.length,
    lastAt,
  };
}

/**
 * `records` are the newest invocations since `since` (at most `limit` of them, as the records
 * port lists them); fewer than the limit means the window is complete.
 */
export function functionStats(
  records: InvocationRecordEntry[],
  window: { since: number; until: number; limit: number; buckets: number },
): FunctionStats {
  const complete = records.length < window.limit;
  // a full page: the oldest record read is where the figures begin
  const coveredFrom = complete
    ? window.since
    : records.reduce((oldest, r) => Math.min(oldest, r.start), window.until);
  const span = Math.max(window.until - coveredFrom, 1);
  const count = Math.max(1, Math.min(window.buckets, 240));
  const width = (window.until - window.since) / count;
  const byBucket: InvocationRecordEntry[][] = Array.from({ length: count }, () => []);
  for (const r of records) {
    const index = Math.floor((r.start - window.since) / width);
    byBucket[Math.min(Math.max(index, 0), count - 1)]?.push(r);
  }
  return {
    since: window.since,
    until: window.until,
    complete,
    coveredFrom,
    ...summarize(records, span),
    buckets: byBucket.map((bucket, i) => {
      const s = summarize(bucket, width);
      return {
        start: Math.round(window.since + i * width),
        invocations: s.invocations,
        errors: s.errors,
        p50Ms: s.p50Ms,
        p95Ms: s.p95Ms,
      };
    }),
  };
}
