// Usage as stored: one kv key per function per hour, "<project>/<function>/<YYYY-MM-DDTHH>" (UTC),
// holding what every process counted for that hour, added with compare-and-set so processes
// sharing the bucket (on NATS) never overwrite each other's counts.
import { setTimeout as delay } from "node:timers/promises";
import { KvConflictError, type KvBucket } from "../ports/kv.js";

export const HOUR_MS = 3_600_000;

/**
 * An hour's counts are kept 400 days after they were last added to (the key's TTL, renewed by
 * every write): a year of history and a month more, so the same month a year ago can still be
 * compared and a yearly statement made, while a function never has more than 9,600 keys.
 */
const USAGE_KEEP_MS = 400 * 24 * HOUR_MS;

/** Compare-and-set rounds before a delta is given back to be tried at the next flush. */
const MAX_ATTEMPTS = 20;

export interface UsageCounts {
  invocations: number;
  errors: number;
  /**
   * Billed memory × time in MiB-milliseconds: an integer (limit in MiB × duration rounded up to
   * the millisecond), so sums stay exact in any order; GB-seconds are this / 1,024,000.
   */
  mibMs: number;
  egressBytes: number;
}

export const MIB_MS_PER_GB_SECOND = 1024 * 1000;

export function zeroCounts(): UsageCounts {
  return { invocations: 0, errors: 0, mibMs: 0, egressBytes: 0 };
}

export function addCounts(into: UsageCounts, more: UsageCounts): UsageCounts {
  into.invocations += more.invocations;
  into.errors += more.errors;
  into.mibMs += more.mibMs;
  into.egressBytes += more.egressBytes;
  return into;
}

/** "2025-01-31T17" for the hour number (hours since the epoch). */
function hourLabel(hour: number): string {
  return new Date(hour * HOUR_MS).toISOString().slice(0, 13);
}

export function usageKey(project: string, fn: string, hour: number): string {
  return `${project}/${fn}/${hourLabel(hour)}`;
}

/** A stored key's parts, or undefined for a key that is not one. */
export function parseUsageKey(
  key: string,
): { project: string; fn: string; hour: number } | undefined {
  const match = /^([^/]+)\/([^/]+)\/(\d{4}-\d{2}-\d{2}T\d{2})$/.exec(key);
  if (match === null) return undefined;
  const [, project = "", fn = "", label = ""] = match;
  const ms = Date.parse(`${label}:00:00Z`);
  return Number.isNaN(ms) ? undefined : { project, fn, hour: ms / HOUR_MS };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeCounts(counts: UsageCounts): Uint8Array {
  return encoder.encode(JSON.stringify(counts));
}

/** A stored value; anything unreadable counts as nothing rather than failing a whole report. */
export function decodeCounts(value: Uint8Array | undefined): UsageCounts {
  if (value === undefined) return zeroCounts();
  try {
    const stored = JSON.parse(decoder.decode(value)) as Partial<Record<keyof UsageCounts, unknown>>;
    const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
    return {
      invocations: n(stored.invocations),
      errors: n(stored.errors),
      mibMs: n(stored.mibMs),
      egressBytes: n(stored.egressBytes),
    };
  } catch {
    return zeroCounts();
  }
}

/**
 * Adds `delta` to the stored counts of `key`: read, add, write if nobody wrote meanwhile, else
 * again. Throws (the caller keeps the delta) when the store fails or stays contended.
 */
export async function addToStored(
  bucket: KvBucket,
  key: string,
  delta: UsageCounts,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const entry = await bucket.get(key);
    const sum = addCounts(decodeCounts(entry?.value), delta);
    try {
      await bucket.put(key, encodeCounts(sum), {
        ifRevision: entry?.revision ?? 0,
        ttlMs: USAGE_KEEP_MS,
      });
      return;
    } catch (error) {
      if (!(error instanceof KvConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      // another process added to this hour first: step aside a moment, so the two part
      await delay(Math.random() * 5 * attempt);
    }
  }
}
