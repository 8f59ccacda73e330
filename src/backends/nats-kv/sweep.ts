// The sweeper: while a port has a bucket open it periodically reads every key's last message
// (headers only) and
// - deletes entries whose Litefaas-Expires has passed (NATS before 2.11 cannot expire one key),
//   with compare-and-set, so a write that lands meanwhile is never lost;
// - removes chunk sets no live entry references once they are older than the grace period
//   (a value replaced or deleted, or a put that died between its chunks and its commit). The
//   grace covers puts still committing; readers that lose the race re-read the key.
import { isWrongLastSequence } from "../nats/errors.js";
import type { BucketContext } from "./context.js";
import { purgeChunks } from "./chunks.js";
import { decodeKey, CHUNKS_TOKEN } from "./keys.js";
import { scanHeads } from "./list.js";
import { deleteHeaders, isLive, readMeta } from "./stored.js";
import { Empty } from "@nats-io/transport-node";

export interface SweepReport {
  /** Expired entries deleted. */
  expired: number;
  /** Chunk sets of replaced, deleted or uncommitted values removed. */
  orphanChunkSets: number;
}

export async function sweepBucket(ctx: BucketContext): Promise<SweepReport> {
  const now = Date.now();
  const expired: Array<{ subject: string; seq: number }> = [];
  const referenced = new Set<string>();
  const chunkSets = new Map<string, number>(); // id → newest chunk's time (ms)
  const chunkPrefix = `${ctx.prefix}${CHUNKS_TOKEN}.`;
  for (const m of await scanHeads(ctx, "")) {
    if (m.subject.startsWith(chunkPrefix)) {
      const id = m.subject.slice(chunkPrefix.length).split(".")[0] ?? "";
      const at = m.info.timestampNanos / 1e6;
      chunkSets.set(id, Math.max(chunkSets.get(id) ?? 0, at));
      continue;
    }
    if (decodeKey(m.subject.slice(ctx.prefix.length)) === undefined) continue;
    const meta = readMeta(m.headers);
    if (meta.deleted) continue;
    if (!isLive(meta, now)) expired.push({ subject: m.subject, seq: m.seq });
    else if (meta.chunks !== undefined) referenced.add(meta.chunks.id);
  }

  let deleted = 0;
  for (const { subject, seq } of expired) {
    try {
      await ctx.js.publish(subject, Empty, {
        headers: deleteHeaders(),
        expect: { lastSubjectSequence: seq },
      });
      deleted++;
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error; // rewritten since the scan: not expired
    }
  }

  let orphans = 0;
  for (const [id, newest] of chunkSets) {
    if (referenced.has(id) || now - newest < ctx.chunkGraceMs) continue;
    await purgeChunks(ctx, id);
    orphans++;
  }
  return { expired: deleted, orphanChunkSets: orphans };
}

export interface Sweeper {
  /** Sweeps now, after any sweep already under way; resolves with what this sweep removed. */
  sweepNow(): Promise<SweepReport>;
  /** No more sweeps; resolves when the one under way, if any, has ended. */
  stop(): Promise<void>;
}

/** Sweeps every `intervalMs` (with jitter, so processes sharing a bucket spread out) until stopped. */
export function startSweeper(ctx: BucketContext, intervalMs: number): Sweeper {
  let timer: NodeJS.Timeout | undefined;
  let last: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const sweepNow = (): Promise<SweepReport> => {
    const next = last.catch(() => undefined).then(() => sweepBucket(ctx));
    last = next;
    return next;
  };
  const schedule = (): void => {
    if (stopped || intervalMs <= 0) return;
    timer = setTimeout(
      () => {
        sweepNow()
          .catch((error: unknown) => {
            if (!stopped) ctx.report(error, `sweeping kv bucket ${ctx.name}`);
          })
          .finally(schedule);
      },
      intervalMs * (0.8 + Math.random() * 0.4),
    );
    timer.unref();
  };
  schedule();
  return {
    sweepNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await last.catch(() => undefined);
    },
  };
}
