// kv port on NATS JetStream KV: one JetStream KV bucket (stream KV_<name>) per port bucket.
// Keys are encoded one character per subject token (keys.ts), revisions are stream sequences,
// TTLs are a header plus a sweeper (sweep.ts; NATS 2.11+ also expires them itself), values over
// one message are chunked in the same stream (chunks.ts).
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { BUCKET_NAME, type KvBucket, type KvPort } from "../../ports/kv.js";
import { connectNats, serverAtLeast, type NatsConnectOptions } from "../nats/connection.js";
import { isStreamNotFound } from "../nats/errors.js";
import type { BucketContext } from "./context.js";
import { deleteEntry, getEntry, putEntry } from "./entries.js";
import { listPage } from "./list.js";
import { startSweeper, type SweepReport, type Sweeper } from "./sweep.js";
import { watchBucket } from "./watch.js";

export type { SweepReport } from "./sweep.js";

export interface NatsKvOptions {
  /** How often each open bucket is swept of expired keys and orphaned chunks; 0 = never. */
  sweepIntervalMs?: number;
  /**
   * Age after which chunks no key references are removed (default 10 minutes). Puts of big
   * values must commit within half of it; 0 (tests only) removes them at the next sweep.
   */
  chunkGraceMs?: number;
  /** Replicas of new buckets' streams (1 on a single server, 3 in a cluster). */
  replicas?: number;
  /** Failures in the background (sweeps, watches); the default writes them to stderr. */
  onError?: (error: unknown, context: string) => void;
}

export interface NatsKvPort extends KvPort {
  /** Sweeps every open bucket now (tests, operators); see sweep.ts. */
  sweep(): Promise<SweepReport>;
}

const DEFAULT_SWEEP_MS = 60_000;
const DEFAULT_GRACE_MS = 10 * 60_000;

interface OpenBucket {
  ctx: BucketContext;
  sweeper: Sweeper;
}

/** The kv port on a NATS connection the caller owns (and closes, after this port's close). */
export function natsKv(nc: NatsConnection, options: NatsKvOptions = {}): NatsKvPort {
  const js = jetstream(nc);
  let jsm: Promise<JetStreamManager> | undefined;
  const open = new Map<string, Promise<OpenBucket>>();
  const report =
    options.onError ??
    ((error: unknown, context: string) => {
      console.error(`litefaas nats-kv: ${context}: ${String(error)}`);
    });
  let closed = false;

  const checkName = (name: string): void => {
    if (!BUCKET_NAME.test(name)) {
      throw new Error(`invalid kv bucket name "${name}": use 1-200 of A-Z a-z 0-9 _ -`);
    }
    if (closed) throw new Error("the nats kv port is closed");
  };

  const openBucket = async (name: string): Promise<OpenBucket> => {
    jsm ??= jetstreamManager(nc);
    const ctx = await createBucket(nc, js, await jsm, name, options, report);
    return {
      ctx,
      sweeper: startSweeper(ctx, options.sweepIntervalMs ?? DEFAULT_SWEEP_MS),
    };
  };

  const shut = async (bucket: OpenBucket): Promise<void> => {
    for (const stop of [...bucket.ctx.watchStops]) stop();
    await bucket.sweeper.stop();
  };

  return {
    async bucket(name) {
      checkName(name);
      let opening = open.get(name);
      if (opening === undefined) {
        opening = openBucket(name);
        open.set(name, opening);
        // a failed open is not cached: the next call tries again
        opening.catch(() => open.delete(name));
      }
      return bucketHandle((await opening).ctx);
    },
    async deleteBucket(name) {
      checkName(name);
      const opening = open.get(name);
      open.delete(name);
      const bucket = await opening?.catch(() => undefined);
      if (bucket !== undefined) await shut(bucket);
      jsm ??= jetstreamManager(nc);
      try {
        await (await jsm).streams.delete(`KV_${name}`);
      } catch (error) {
        if (!isStreamNotFound(error)) throw error;
      }
    },
    async sweep() {
      const total: SweepReport = { expired: 0, orphanChunkSets: 0 };
      for (const opening of open.values()) {
        const report = await (await opening).sweeper.sweepNow();
        total.expired += report.expired;
        total.orphanChunkSets += report.orphanChunkSets;
      }
      return total;
    },
    async close() {
      closed = true;
      const buckets = await Promise.allSettled(open.values());
      open.clear();
      for (const b of buckets) if (b.status === "fulfilled") await shut(b.value);
    },
  };
}

/** The kv port on a connection of its own, closed with the port. */
export async function openNatsKv(options: NatsConnectOptions & NatsKvOptions): Promise<NatsKvPort> {
  const nc = await connectNats(options);
  const port = natsKv(nc, options);
  return {
    ...port,
    async close() {
      await port.close();
      await nc.drain();
    },
  };
}

async function createBucket(
  nc: NatsConnection,
  js: JetStreamClient,
  jsm: JetStreamManager,
  name: string,
  options: NatsKvOptions,
  report: BucketContext["report"],
): Promise<BucketContext> {
  const stream = `KV_${name}`;
  await new Kvm(js).create(name, { history: 1, replicas: options.replicas ?? 1 });
  let info = await jsm.streams.info(stream);
  // NATS 2.11+ removes expired entries itself when the stream allows per-message TTLs; buckets
  // made by older servers (or other tools) get the flag on first open.
  if (serverAtLeast(nc, 2, 11) && info.config.allow_msg_ttl !== true) {
    try {
      info = await jsm.streams.update(stream, { allow_msg_ttl: true });
    } catch (error) {
      report(
        error,
        `enabling per-message TTL on kv bucket ${name} (the sweeper still expires keys)`,
      );
    }
  }
  return {
    name,
    stream,
    prefix: `$KV.${name}.`,
    nc,
    js,
    jsm,
    direct: info.config.allow_direct,
    messageTtl: info.config.allow_msg_ttl ?? false,
    multiFilter: serverAtLeast(nc, 2, 10),
    chunkGraceMs: options.chunkGraceMs ?? DEFAULT_GRACE_MS,
    watchStarts: new Set(),
    watchStops: new Set(),
    listings: new Map(),
    report,
  };
}

function bucketHandle(ctx: BucketContext): KvBucket {
  return {
    name: ctx.name,
    get: (key) => getEntry(ctx, key),
    put: (key, value, options = {}) => putEntry(ctx, key, value, options),
    delete: (key, options = {}) => deleteEntry(ctx, key, options.ifRevision),
    list: (options = {}) => listPage(ctx, options),
    watch: (options, onChange) => watchBucket(ctx, options.prefix ?? "", onChange),
  };
}
