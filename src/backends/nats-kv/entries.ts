// get, put and delete of one key. The key's revision is the JetStream sequence of its last
// message; compare-and-set is the server's "expected last subject sequence" check.
import { Empty } from "@nats-io/transport-node";
import { KvConflictError, type KvEntry, type KvPutOptions } from "../../ports/kv.js";
import { LitefaasError } from "../../shared/errors.js";
import { inlineLimit, purgeChunks, readChunks, writeChunks } from "./chunks.js";
import { afterWatchStarts, lastMessage, type BucketContext } from "./context.js";
import { isWrongLastSequence } from "../nats/errors.js";
import { encodeKey } from "./keys.js";
import { deleteHeaders, isLive, putHeaders, readMeta, type ChunkRef } from "./stored.js";

/** Compare-and-set retries when other writers keep replacing a dead (deleted/expired) entry. */
const MAX_ATTEMPTS = 100;
/** A value's chunks must be committed well inside the sweeper's grace period. */
const CHUNK_COMMIT_SHARE = 0.5;

interface Current {
  /** Sequence of the subject's last message; 0 when it has none. */
  seq: number;
  /** The revision callers see: seq when the entry is live, else 0. */
  revision: number;
  message?: { data: Uint8Array; meta: ReturnType<typeof readMeta> };
}

async function current(ctx: BucketContext, encoded: string): Promise<Current> {
  const m = await lastMessage(ctx, ctx.prefix + encoded);
  if (m === null) return { seq: 0, revision: 0 };
  const meta = readMeta(m.header);
  return {
    seq: m.seq,
    revision: isLive(meta, Date.now()) ? m.seq : 0,
    message: { data: m.data, meta },
  };
}

export async function getEntry(ctx: BucketContext, key: string): Promise<KvEntry | undefined> {
  const encoded = encodeKey(key);
  let seenSeq = -1;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cur = await current(ctx, encoded);
    if (cur.revision === 0 || cur.message === undefined) return undefined;
    const { meta, data } = cur.message;
    // a copy: the caller may mutate it, and `data` is a view of the connection's read buffer
    const value =
      meta.chunks === undefined ? new Uint8Array(data) : await readChunks(ctx, meta.chunks);
    if (value !== undefined) {
      const entry: KvEntry = { key, value, revision: cur.revision };
      if (meta.expiresAt !== undefined) entry.expiresAt = meta.expiresAt;
      return entry;
    }
    // chunks vanish only after the key moved on; reading the same revision twice means damage
    if (cur.seq === seenSeq) {
      throw new Error(`kv bucket ${ctx.name}: the value of "${key}" has lost chunks`);
    }
    seenSeq = cur.seq;
  }
  throw new Error(`kv bucket ${ctx.name}: "${key}" changed under every read`);
}

function checkPutOptions(options: KvPutOptions): void {
  const { ttlMs, ifRevision } = options;
  if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) {
    throw new LitefaasError("INVALID_REQUEST", `invalid kv ttlMs ${ttlMs}`, {
      fix: "pass a positive number of milliseconds, or no ttlMs for an entry that never expires",
    });
  }
  if (ifRevision !== undefined && !(Number.isSafeInteger(ifRevision) && ifRevision >= 0)) {
    throw new LitefaasError("INVALID_REQUEST", `invalid kv ifRevision ${ifRevision}`, {
      fix: "pass a revision read from the store, or 0 for 'only if absent'",
    });
  }
}

export async function putEntry(
  ctx: BucketContext,
  key: string,
  value: Uint8Array,
  options: KvPutOptions,
): Promise<number> {
  const encoded = encodeKey(key);
  checkPutOptions(options);
  await afterWatchStarts(ctx);
  const expiresAt = options.ttlMs === undefined ? undefined : Date.now() + options.ttlMs;
  if (value.byteLength <= inlineLimit(ctx)) {
    return writeHead(ctx, key, encoded, value, { expiresAt, ttlMs: options.ttlMs }, options);
  }
  const startedAt = performance.now();
  const chunks = await writeChunks(ctx, value);
  try {
    if (
      ctx.chunkGraceMs > 0 &&
      performance.now() - startedAt > ctx.chunkGraceMs * CHUNK_COMMIT_SHARE
    ) {
      throw new Error(
        `kv bucket ${ctx.name}: writing the chunks of "${key}" took too long to commit safely`,
      );
    }
    return await writeHead(
      ctx,
      key,
      encoded,
      Empty,
      { expiresAt, ttlMs: options.ttlMs, chunks },
      options,
    );
  } catch (error) {
    // nothing references these chunks: remove them now rather than after the grace period
    await purgeChunks(ctx, chunks.id).catch(() => undefined);
    throw error;
  }
}

async function writeHead(
  ctx: BucketContext,
  key: string,
  encoded: string,
  body: Uint8Array,
  stamp: { expiresAt: number | undefined; ttlMs: number | undefined; chunks?: ChunkRef },
  options: KvPutOptions,
): Promise<number> {
  const subject = ctx.prefix + encoded;
  const publish = async (expect: number | undefined): Promise<number | undefined> => {
    const h = putHeaders({
      ...(stamp.expiresAt === undefined ? {} : { expiresAt: stamp.expiresAt }),
      ...(stamp.chunks === undefined ? {} : { chunks: stamp.chunks }),
    });
    try {
      const ack = await ctx.js.publish(subject, body, {
        headers: h,
        ...(expect === undefined ? {} : { expect: { lastSubjectSequence: expect } }),
        // where the server supports it (2.11+) it removes the entry itself, in whole seconds,
        // never before the Litefaas-Expires stamp that reads go by
        ...(ctx.messageTtl && stamp.ttlMs !== undefined
          ? { ttl: `${Math.ceil(stamp.ttlMs / 1000)}s` }
          : {}),
      });
      return ack.seq;
    } catch (error) {
      if (expect !== undefined && isWrongLastSequence(error)) return undefined;
      throw error;
    }
  };

  const wanted = options.ifRevision;
  if (wanted === undefined) return (await publish(undefined)) ?? 0;
  // ifRevision n > 0 must name a live entry; the server only knows the subject's last message,
  // which may be a deletion marker or an expired entry, so look first.
  let expect = 0;
  if (wanted > 0) {
    const cur = await current(ctx, encoded);
    if (cur.revision !== wanted) throw new KvConflictError(key, wanted, cur.revision);
    expect = wanted;
  }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const seq = await publish(expect);
    if (seq !== undefined) return seq;
    const cur = await current(ctx, encoded);
    if (cur.revision !== wanted) throw new KvConflictError(key, wanted, cur.revision);
    // the key is absent, yet a deletion marker or an expired entry holds its subject
    expect = wanted === 0 ? cur.seq : wanted;
  }
  throw new Error(`kv bucket ${ctx.name}: "${key}" kept changing; gave up writing it`);
}

export async function deleteEntry(
  ctx: BucketContext,
  key: string,
  ifRevision: number | undefined,
): Promise<boolean> {
  const encoded = encodeKey(key);
  checkPutOptions(ifRevision === undefined ? {} : { ifRevision });
  await afterWatchStarts(ctx);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cur = await current(ctx, encoded);
    if (ifRevision !== undefined && cur.revision !== ifRevision) {
      throw new KvConflictError(key, ifRevision, cur.revision);
    }
    if (cur.revision === 0) return false;
    try {
      await ctx.js.publish(ctx.prefix + encoded, Empty, {
        headers: deleteHeaders(),
        expect: { lastSubjectSequence: cur.revision },
      });
      return true;
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
  }
  throw new Error(`kv bucket ${ctx.name}: "${key}" kept changing; gave up deleting it`);
}
