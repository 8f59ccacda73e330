// Which functions' records are due a trim, and trimming them: a function that got `keep`
// records since its last trim at once, but such trims at most once every FULL_GAP_MS (so it never
// holds much more than it keeps plus a second of its records, and a busy one is not read back on
// every flush: at 5,000 invocations/s with keep 1,000 that was five trims a second), every
// function that got any every TRIM_MS, and, when `functions` is given (control), every live one
// every AGE_PASS_MS so records past maxAge go even from a function never invoked again.
import type { RecordRetention, RecordsPort } from "../ports/records.js";
import type { FunctionVersion } from "../runtimes/types.js";
import { recordPolicy } from "../shared/manifest/records-policy.js";

const TRIM_MS = 30_000;
const AGE_PASS_MS = 10 * 60_000;
/** Trims of the functions that are full happen at most this often. */
const FULL_GAP_MS = 1_000;

interface Due {
  project: string;
  fn: string;
  retention: RecordRetention;
  count: number;
}

export class RecordRetentionKeeper {
  /**
   * Functions that got records since their last trim, and how many. Keyed by the version
   * object (one per deployed version, found without building a key per record).
   */
  private readonly due = new Map<FunctionVersion, Due>();
  /** When the functions that were full were last trimmed. */
  private fullTrimAt = 0;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly store: Pick<RecordsPort, "trim">,
    private readonly onError: (error: unknown, what: string) => void,
    functions: (() => FunctionVersion[]) | undefined,
  ) {
    this.timers.push(setInterval(() => void this.trim(), TRIM_MS));
    if (functions !== undefined) {
      this.timers.push(
        setInterval(() => {
          for (const fn of functions()) this.added(fn, 0);
          void this.trim();
        }, AGE_PASS_MS),
      );
    }
    for (const timer of this.timers) timer.unref();
  }

  /** `fn` got `count` more records. */
  added(fn: FunctionVersion, count: number): void {
    let due = this.due.get(fn);
    if (due === undefined) {
      const { keep, maxAgeMs } = recordPolicy(fn.config);
      due = { project: fn.project, fn: fn.name, retention: { keep, maxAgeMs }, count: 0 };
      this.due.set(fn, due);
    }
    due.count += count;
  }

  /** Trims the functions that got `keep` records since their last trim (after a store). */
  trimFull(): Promise<void> {
    const now = Date.now();
    if (now - this.fullTrimAt < FULL_GAP_MS) return Promise.resolve();
    const full = (d: Due) => d.count >= d.retention.keep;
    for (const d of this.due.values()) {
      if (!full(d)) continue;
      this.fullTrimAt = now;
      return this.trim(full);
    }
    return Promise.resolve();
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  private async trim(which: (d: Due) => boolean = () => true): Promise<void> {
    // one trim per function, though several of its versions got records
    const now = new Map<string, Due>();
    for (const [key, d] of this.due) {
      if (!which(d)) continue;
      this.due.delete(key);
      now.set(`${d.project}/${d.fn}`, d);
    }
    for (const { project, fn, retention } of now.values()) {
      await this.store
        .trim(project, fn, retention)
        .catch((error: unknown) =>
          this.onError(error, `trimming the invocation records of ${project}/${fn}`),
        );
    }
  }
}
