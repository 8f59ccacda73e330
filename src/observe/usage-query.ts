// Reading usage back: the stored hours of a project, a function or everything over a time range,
// summed by hour, by UTC day, or in all, per function.
import type { KvBucket } from "../ports/kv.js";
import {
  addCounts,
  decodeCounts,
  HOUR_MS,
  MIB_MS_PER_GB_SECOND,
  parseUsageKey,
  usageKey,
  zeroCounts,
  type UsageCounts,
} from "./usage-counts.js";

export const GROUPINGS = ["hour", "day", "total"] as const;
export type UsageGrouping = (typeof GROUPINGS)[number];

export interface UsageQuery {
  project?: string;
  /** Only with a project. */
  fn?: string;
  /** Epoch ms; the hour it falls in is the first one counted. */
  since: number;
  /** Epoch ms; every hour that begins before it is counted. */
  until: number;
  by: UsageGrouping;
}

export interface UsageFigures {
  invocations: number;
  errors: number;
  gbSeconds: number;
  egressBytes: number;
}

export interface UsageRow extends UsageFigures {
  project: string;
  function: string;
  /** The start of the hour or UTC day (ISO); absent when grouped in all. */
  period?: string;
}

export interface UsageReport {
  /** The start of the first hour counted. */
  since: string;
  until: string;
  by: UsageGrouping;
  usage: UsageRow[];
  totals: UsageFigures;
}

const DAY_MS = 24 * HOUR_MS;
/** Gets in flight at once while reading a range. */
const PARALLEL_GETS = 64;

export async function readUsage(bucket: KvBucket, query: UsageQuery): Promise<UsageReport> {
  const first = Math.floor(query.since / HOUR_MS);
  const last = Math.ceil(query.until / HOUR_MS) - 1;
  const keys = first > last ? [] : await keysIn(bucket, query, first, last);

  const groups = new Map<
    string,
    { project: string; fn: string; period?: number; counts: UsageCounts }
  >();
  for (let i = 0; i < keys.length; i += PARALLEL_GETS) {
    const entries = await Promise.all(
      keys.slice(i, i + PARALLEL_GETS).map(async (k) => ({ ...k, entry: await bucket.get(k.key) })),
    );
    for (const { project, fn, hour, entry } of entries) {
      if (entry === undefined) continue; // expired or removed since the listing
      const period =
        query.by === "hour"
          ? hour * HOUR_MS
          : query.by === "day"
            ? Math.floor((hour * HOUR_MS) / DAY_MS) * DAY_MS
            : undefined;
      const id = `${project}/${fn}/${period ?? ""}`;
      let group = groups.get(id);
      if (group === undefined) {
        group = { project, fn, counts: zeroCounts(), ...(period === undefined ? {} : { period }) };
        groups.set(id, group);
      }
      addCounts(group.counts, decodeCounts(entry.value));
    }
  }

  const sorted = [...groups.values()].sort(
    (a, b) =>
      compare(a.project, b.project) || compare(a.fn, b.fn) || (a.period ?? 0) - (b.period ?? 0),
  );
  const all = zeroCounts();
  const usage = sorted.map((g): UsageRow => {
    addCounts(all, g.counts);
    return {
      project: g.project,
      function: g.fn,
      ...(g.period === undefined ? {} : { period: new Date(g.period).toISOString() }),
      ...figures(g.counts),
    };
  });
  return {
    since: new Date(first * HOUR_MS).toISOString(),
    until: new Date(query.until).toISOString(),
    by: query.by,
    usage,
    totals: figures(all),
  };
}

function figures(c: UsageCounts): UsageFigures {
  return {
    invocations: c.invocations,
    errors: c.errors,
    gbSeconds: c.mibMs / MIB_MS_PER_GB_SECOND,
    egressBytes: c.egressBytes,
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The stored keys of the query's functions and hours, listed by the narrowest prefix there is. */
async function keysIn(
  bucket: KvBucket,
  query: UsageQuery,
  first: number,
  last: number,
): Promise<Array<{ key: string; project: string; fn: string; hour: number }>> {
  const { project, fn } = query;
  // one function: what the first and last hour's keys share, e.g. "shop/hello/2025-0"
  const prefix =
    project === undefined
      ? ""
      : fn === undefined
        ? `${project}/`
        : sharedStart(usageKey(project, fn, first), usageKey(project, fn, last));
  const found: Array<{ key: string; project: string; fn: string; hour: number }> = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, ...(cursor === undefined ? {} : { cursor }) });
    for (const { key } of page.keys) {
      const parsed = parseUsageKey(key);
      if (parsed === undefined || parsed.hour < first || parsed.hour > last) continue;
      if (project !== undefined && parsed.project !== project) continue;
      if (fn !== undefined && parsed.fn !== fn) continue;
      found.push({ key, ...parsed });
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return found;
}

function sharedStart(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}
