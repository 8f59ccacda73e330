// The usage meter: what this process used per function and hour (invocations, errors, billed
// GB-seconds from invocation records; egress bytes from the gateway's answers), added up in
// memory and flushed every few seconds, and at close, into durable hourly counters
// (usage-counts.ts). The request path only adds numbers: the tally of a function is found
// through two map lookups on the names it already has, with no key built per request.
//
// A count is in the store once the flush after it is done: a process killed outright loses at
// most the last FLUSH_MS of its counts; one stopped with SIGTERM loses none.
import type { KvBucket, KvPort } from "../ports/kv.js";
import type { InvocationRecordEntry } from "../ports/records.js";
import {
  addToStored,
  HOUR_MS,
  MIB_MS_PER_GB_SECOND,
  usageKey,
  zeroCounts,
  type UsageCounts,
} from "./usage-counts.js";

const FLUSH_MS = 5_000;

export interface UsageMeterOptions {
  kv: KvPort;
  /** The platform bucket the counters live in. */
  bucket: string;
  /**
   * Whether a function is deployed, asked before its first count here (not per request): only
   * deployed functions get counters, so requests for made-up names cannot fill the store.
   */
  counted(project: string, fn: string): boolean;
  onError(error: unknown, what: string): void;
  /** Tests flush by hand. */
  flushMs?: number;
}

/** One function's counts in one hour, not yet stored. */
class Tally implements UsageCounts {
  invocations = 0;
  errors = 0;
  mibMs = 0;
  egressBytes = 0;
  constructor(
    readonly project: string,
    readonly fn: string,
    readonly hour: number,
  ) {}

  get empty(): boolean {
    return (
      this.invocations === 0 && this.errors === 0 && this.mibMs === 0 && this.egressBytes === 0
    );
  }
}

interface Delta {
  key: string;
  project: string;
  fn: string;
  hour: number;
  counts: UsageCounts;
}

export class UsageMeter {
  /** project → function → the tally of its latest hour. */
  private readonly current = new Map<string, Map<string, Tally>>();
  /** Tallies of earlier hours not yet stored: the hour turned, or a count came in late. */
  private earlier: Tally[] = [];
  private opened: Promise<KvBucket> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: UsageMeterOptions) {
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? FLUSH_MS);
    this.timer.unref();
  }

  /** An invocation, counted in the hour it started. */
  record(r: InvocationRecordEntry): void {
    const tally = this.tally(r.project, r.function, r.start);
    if (tally === undefined) return;
    tally.invocations++;
    if (r.outcome === "error") tally.errors++;
    // back to the integer it was made from (limit in MiB × whole milliseconds)
    tally.mibMs += Math.round(r.billedGbSeconds * MIB_MS_PER_GB_SECOND);
  }

  /** Body bytes the gateway sent a client for a function, counted in the hour they were sent. */
  egress(project: string, fn: string, bytes: number): void {
    if (bytes <= 0) return;
    const tally = this.tally(project, fn, Date.now());
    if (tally !== undefined) tally.egressBytes += bytes;
  }

  /** The bucket of counters (opened on first use). */
  bucket(): Promise<KvBucket> {
    if (this.opened === undefined) {
      const opening = this.options.kv.bucket(this.options.bucket);
      // a failed open is tried again next time
      opening.catch(() => (this.opened = undefined));
      this.opened = opening;
    }
    return this.opened;
  }

  /**
   * Stores what was counted so far. One flush runs at a time; asked for while one runs, the next
   * follows it (and takes what was counted meanwhile). Never rejects: what could not be stored
   * stays counted for the next flush, and is reported.
   */
  flush(): Promise<void> {
    if (this.queued === undefined) {
      const next = this.writing.then(() => {
        this.queued = undefined;
        return this.write();
      });
      this.queued = next;
      this.writing = next;
    }
    return this.queued;
  }

  /** Stops the timer and stores the rest. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    const left = this.take();
    if (left.length > 0) {
      this.options.onError(
        new Error(`${left.length} function-hours of usage could not be stored`),
        "usage at shutdown",
      );
    }
  }

  private tally(project: string, fn: string, at: number): Tally | undefined {
    const hour = Math.floor(at / HOUR_MS);
    let fns = this.current.get(project);
    let tally = fns?.get(fn);
    if (tally !== undefined && tally.hour === hour) return tally;
    if (tally !== undefined && hour < tally.hour) return this.late(project, fn, hour);
    if (tally === undefined && !this.options.counted(project, fn)) return undefined;
    // the hour turned (or the function is new here): the last hour waits for the next flush
    if (tally !== undefined && !tally.empty) this.earlier.push(tally);
    tally = new Tally(project, fn, hour);
    if (fns === undefined) {
      fns = new Map();
      this.current.set(project, fns);
    }
    fns.set(fn, tally);
    return tally;
  }

  /** An invocation that began before the hour turned and ended after: its own hour's tally. */
  private late(project: string, fn: string, hour: number): Tally {
    let tally = this.earlier.find((t) => t.hour === hour && t.fn === fn && t.project === project);
    if (tally === undefined) {
      tally = new Tally(project, fn, hour);
      this.earlier.push(tally);
    }
    return tally;
  }

  /** What is counted and not stored, as deltas by key; the tallies start again at zero. */
  private take(): Delta[] {
    const deltas = new Map<string, Delta>();
    const add = (t: Tally) => {
      if (t.empty) return;
      const key = usageKey(t.project, t.fn, t.hour);
      let delta = deltas.get(key);
      if (delta === undefined) {
        delta = { key, project: t.project, fn: t.fn, hour: t.hour, counts: zeroCounts() };
        deltas.set(key, delta);
      }
      delta.counts.invocations += t.invocations;
      delta.counts.errors += t.errors;
      delta.counts.mibMs += t.mibMs;
      delta.counts.egressBytes += t.egressBytes;
      t.invocations = t.errors = t.mibMs = t.egressBytes = 0;
    };
    for (const t of this.earlier) add(t);
    this.earlier = [];
    for (const fns of this.current.values()) for (const t of fns.values()) add(t);
    return [...deltas.values()];
  }

  /** Counts that could not be stored go back to be stored with the next flush. */
  private giveBack(delta: Delta): void {
    const fns = this.current.get(delta.project);
    const now = fns?.get(delta.fn);
    const tally =
      now !== undefined && now.hour === delta.hour
        ? now
        : this.late(delta.project, delta.fn, delta.hour);
    tally.invocations += delta.counts.invocations;
    tally.errors += delta.counts.errors;
    tally.mibMs += delta.counts.mibMs;
    tally.egressBytes += delta.counts.egressBytes;
  }

  private async write(): Promise<void> {
    const deltas = this.take();
    if (deltas.length === 0) return;
    let bucket: KvBucket;
    try {
      bucket = await this.bucket();
    } catch (error) {
      for (const delta of deltas) this.giveBack(delta);
      this.options.onError(error, "usage: opening its bucket");
      return;
    }
    let failure: unknown;
    await Promise.all(
      deltas.map((delta) =>
        addToStored(bucket, delta.key, delta.counts).catch((error: unknown) => {
          this.giveBack(delta);
          failure = error;
        }),
      ),
    );
    if (failure !== undefined) this.options.onError(failure, "usage: storing counts");
  }
}
