// Cron: each scheduled function gets a timer for its next tick. At a tick, whoever claims the
// tick's key first (create-if-absent in the kv port: SQLite in one process, JetStream KV across
// many) sends the run to the function's queue, so it runs once per tick with retries and a
// dead-letter queue like any event, and a function scaled to zero starts for it. The last tick
// sent is remembered, so a tick missed while the platform was down runs once on start.
import { KvConflictError, type KvBucket } from "../ports/kv.js";
import type { QueuePort } from "../ports/queue.js";
import { nextTick } from "../shared/cron.js";
import type { ScheduleConfig } from "../shared/manifest/types.js";
import type { ClusterNames } from "../shared/cluster-names.js";
import { consumerOf, HEADER } from "./names.js";

/** setTimeout's ceiling is ~24.8 days; waking hourly also absorbs clock changes. */
const MAX_SLEEP_MS = 3_600_000;
/** Claimed tick keys outlive any clock skew between processes. */
const CLAIM_TTL_MS = 24 * 3_600_000;
/** Looking for the latest missed tick gives up after this many (an every-second schedule down for days). */
const MAX_CATCH_UP_SCAN = 100_000;

interface Job {
  config: ScheduleConfig;
  timer: NodeJS.Timeout | undefined;
}

export class CronScheduler {
  private readonly jobs = new Map<string, Job>();
  private closed = false;

  constructor(
    private readonly bucket: KvBucket,
    private readonly queue: QueuePort,
    private readonly names: ClusterNames,
    /** A line for the function's log (missed ticks run, ticks that could not be queued). */
    private readonly log: (
      project: string,
      name: string,
      level: "info" | "error",
      message: string,
    ) => void,
  ) {}

  /** Schedule (or reschedule, or with undefined unschedule) a function's ticks. */
  async set(project: string, name: string, config: ScheduleConfig | undefined): Promise<void> {
    const key = `${project}/${name}`;
    const job = this.jobs.get(key);
    if (job !== undefined && config !== undefined && sameSchedule(job.config, config)) return;
    if (job !== undefined) clearTimeout(job.timer);
    this.jobs.delete(key);
    if (config === undefined || this.closed) return;
    const fresh: Job = { config, timer: undefined };
    this.jobs.set(key, fresh);
    const last = await this.lastTick(project, name);
    const now = Date.now();
    if (last === undefined) await this.remember(project, name, now);
    else if (config.catchUp) {
      const missed = latestTickBetween(config, last, now);
      if (missed !== undefined && (await this.fire(project, name, config, missed))) {
        this.log(
          project,
          name,
          "info",
          `running the tick of ${new Date(missed).toISOString()}, missed while the platform was down`,
        );
      }
    }
    this.arm(project, name, fresh, Math.max(now, last ?? now));
  }

  /** Forget a removed function's schedule and its memory of ticks. */
  async remove(project: string, name: string): Promise<void> {
    const job = this.jobs.get(`${project}/${name}`);
    if (job !== undefined) clearTimeout(job.timer);
    this.jobs.delete(`${project}/${name}`);
    await this.bucket.delete(`last/${project}/${name}`);
  }

  close(): void {
    this.closed = true;
    for (const job of this.jobs.values()) clearTimeout(job.timer);
    this.jobs.clear();
  }

  private arm(project: string, name: string, job: Job, after: number) {
    if (this.closed || this.jobs.get(`${project}/${name}`) !== job) return;
    const tick = nextTick(job.config.cron, job.config.timezone, after);
    if (tick === undefined) return;
    const wait = Math.min(Math.max(tick - Date.now(), 0), MAX_SLEEP_MS);
    job.timer = setTimeout(() => {
      if (Date.now() < tick) {
        this.arm(project, name, job, after);
        return;
      }
      this.fire(project, name, job.config, tick)
        .catch((error: unknown) =>
          this.log(
            project,
            name,
            "error",
            `the tick of ${new Date(tick).toISOString()} could not be queued: ${error instanceof Error ? error.message : String(error)}`,
          ),
        )
        .finally(() => this.arm(project, name, job, tick));
    }, wait);
    job.timer.unref();
  }

  /** Send the run of `tick` unless another process claimed it first; true when this one did. */
  private async fire(
    project: string,
    name: string,
    config: ScheduleConfig,
    tick: number,
  ): Promise<boolean> {
    try {
      await this.bucket.put(`tick/${project}/${name}/${tick}`, new Uint8Array(0), {
        ifRevision: 0,
        ttlMs: CLAIM_TTL_MS,
      });
    } catch (error) {
      if (error instanceof KvConflictError) return false; // another process runs this tick
      throw error;
    }
    await this.queue.send(consumerOf(project, name), {
      id: `cron-${project}-${name}-${tick}`,
      subject: this.names.cronSubject(project, name),
      data: new Uint8Array(0),
      headers: {
        [HEADER.kind]: "scheduled",
        [HEADER.cron]: config.cron,
        [HEADER.scheduledTime]: String(tick),
      },
    });
    await this.remember(project, name, tick);
    return true;
  }

  private async lastTick(project: string, name: string): Promise<number | undefined> {
    const entry = await this.bucket.get(`last/${project}/${name}`);
    if (entry === undefined) return undefined;
    const value = Number(new TextDecoder().decode(entry.value));
    return Number.isFinite(value) ? value : undefined;
  }

  private async remember(project: string, name: string, tick: number) {
    const current = await this.lastTick(project, name);
    if (current !== undefined && current >= tick) return;
    await this.bucket.put(`last/${project}/${name}`, new TextEncoder().encode(String(tick)));
  }
}

/** The latest tick in (after, until], if any. */
function latestTickBetween(
  config: ScheduleConfig,
  after: number,
  until: number,
): number | undefined {
  let found: number | undefined;
  let cursor = after;
  for (let i = 0; i < MAX_CATCH_UP_SCAN; i++) {
    const tick = nextTick(config.cron, config.timezone, cursor);
    if (tick === undefined || tick > until) break;
    found = tick;
    cursor = tick;
  }
  return found;
}

function sameSchedule(a: ScheduleConfig, b: ScheduleConfig): boolean {
  return a.cron === b.cron && a.timezone === b.timezone && a.catchUp === b.catchUp;
}
