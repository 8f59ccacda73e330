// list: the last message of every subject under the prefix (headers only), decoded, without
// deleted and expired entries, sorted by code point. JetStream delivers in stream order, not key
// order, so a listing reads every key under the prefix and a page is cut from it after sorting.
// Paging through a bucket nobody writes to should not re-read it for every page: a listing is
// kept while the stream's last sequence and message count stay the same (any write, delete or
// purge changes one of them), which makes the cache exact, not merely recent.
import type { JsMsg } from "@nats-io/jetstream";
import type { KvListOptions, KvListPage } from "../../ports/kv.js";
import { scanStream } from "../nats/scan.js";
import type { BucketContext, ListedKey } from "./context.js";
import { decodeKey, encodePrefix } from "./keys.js";
import { isLive, readMeta } from "./stored.js";

const MAX_PAGE = 1000;
/** Listings kept per bucket, and the largest one kept (memory stays bounded). */
const CACHED_LISTINGS = 4;
const CACHED_KEYS = 100_000;

/** Subject filters that together match exactly the keys starting with the prefix. */
export function prefixFilters(ctx: BucketContext, prefix: string): string[] {
  const encoded = encodePrefix(prefix);
  if (encoded === "") return [`${ctx.prefix}>`];
  return [ctx.prefix + encoded, `${ctx.prefix}${encoded}.>`];
}

/**
 * The last message of each subject under the prefix, headers only. A subject written while the
 * scan runs comes twice (its old last message, then the new one): the later one wins.
 */
export async function scanHeads(ctx: BucketContext, prefix: string): Promise<JsMsg[]> {
  const scans = prefixFilters(ctx, prefix).map((filter) =>
    scanStream(ctx.js, ctx.stream, { filter, deliver: "last", headersOnly: true, batch: 1024 }),
  );
  const last = new Map<string, JsMsg>();
  for (const m of (await Promise.all(scans)).flat()) {
    const seen = last.get(m.subject);
    if (seen === undefined || seen.seq < m.seq) last.set(m.subject, m);
  }
  return [...last.values()];
}

async function listing(ctx: BucketContext, prefix: string): Promise<ListedKey[]> {
  const { state, created } = await ctx.jsm.streams.info(ctx.stream);
  // `created` tells a bucket deleted and made again (by another process) from the one listed
  const version = `${created}/${state.last_seq}/${state.messages}`;
  const cached = ctx.listings.get(prefix);
  ctx.listings.delete(prefix);
  if (cached?.version === version) {
    ctx.listings.set(prefix, cached); // most recently used last
    return cached.keys;
  }
  const keys: ListedKey[] = [];
  for (const m of await scanHeads(ctx, prefix)) {
    const key = decodeKey(m.subject.slice(ctx.prefix.length));
    if (key === undefined || !key.startsWith(prefix)) continue;
    const meta = readMeta(m.headers);
    if (meta.deleted) continue;
    const listed: ListedKey = { key, bytes: Buffer.from(key, "utf8"), revision: m.seq };
    if (meta.expiresAt !== undefined) listed.expiresAt = meta.expiresAt;
    keys.push(listed);
  }
  keys.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  if (keys.length <= CACHED_KEYS) {
    ctx.listings.set(prefix, { version, keys });
    for (const oldest of ctx.listings.keys()) {
      if (ctx.listings.size <= CACHED_LISTINGS) break;
      ctx.listings.delete(oldest);
    }
  }
  return keys;
}

/** Index of the first key after `after` in sorted keys. */
function firstAfter(keys: ListedKey[], after: Buffer): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const key = keys[mid];
    if (key !== undefined && Buffer.compare(key.bytes, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function listPage(ctx: BucketContext, options: KvListOptions): Promise<KvListPage> {
  const prefix = options.prefix ?? "";
  const limit = Math.min(Math.max(Math.floor(options.limit ?? MAX_PAGE), 1), MAX_PAGE);
  const keys = await listing(ctx, prefix);
  const now = Date.now();
  const page: KvListPage = { keys: [] };
  let i =
    options.cursor === undefined ? 0 : firstAfter(keys, Buffer.from(options.cursor, "base64url"));
  for (; i < keys.length; i++) {
    const k = keys[i];
    if (k === undefined || !isLive({ deleted: false, ...k }, now)) continue;
    if (page.keys.length === limit) {
      const last = page.keys.at(-1);
      if (last !== undefined) page.cursor = Buffer.from(last.key, "utf8").toString("base64url");
      break;
    }
    page.keys.push(
      k.expiresAt === undefined
        ? { key: k.key, revision: k.revision }
        : { key: k.key, revision: k.revision, expiresAt: k.expiresAt },
    );
  }
  return page;
}
