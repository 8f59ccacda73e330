// watch: an ordered consumer from the stream's next sequence on, so it sees only what is
// written after the call, in revision order. The ordered consumer re-creates itself after a
// reconnect or a gap, from the last sequence it delivered, so a watch outlives server restarts.
import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { KvChange } from "../../ports/kv.js";
import { readChunks } from "./chunks.js";
import type { BucketContext } from "./context.js";
import { decodeKey, encodePrefix } from "./keys.js";
import { prefixFilters } from "./list.js";
import { readMeta } from "./stored.js";

/** How long a pull waits on the server; missed heartbeats (half of it) trigger a re-check. */
const PULL_EXPIRES_MS = 10_000;

function watchFilters(ctx: BucketContext, prefix: string): string | string[] {
  const [first = `${ctx.prefix}>`, ...more] = prefixFilters(ctx, prefix);
  // a one-element list would be sent as filter_subjects, which servers before 2.10 do not know
  if (more.length === 0) return first;
  if (ctx.multiFilter) return [first, ...more];
  // before 2.10 a consumer has one filter: take the subtree of the prefix's parent token and
  // drop the other keys here ("ab" → "a.>", which holds "ab" and "ab…" among others)
  const tokens = encodePrefix(prefix).split(".");
  return tokens.length === 1 ? `${ctx.prefix}>` : `${ctx.prefix}${tokens.slice(0, -1).join(".")}.>`;
}

export function watchBucket(
  ctx: BucketContext,
  prefix: string,
  onChange: (change: KvChange) => void,
): () => void {
  const filter_subjects = watchFilters(ctx, prefix); // throws now for an invalid prefix
  let stopped = false;
  let consumer: Consumer | undefined;
  let messages: ConsumerMessages | undefined;
  let delivered: Promise<void> = Promise.resolve();

  const toChange = async (m: JsMsg): Promise<KvChange | undefined> => {
    const key = decodeKey(m.subject.slice(ctx.prefix.length));
    if (key === undefined || !key.startsWith(prefix)) return undefined;
    const meta = readMeta(m.headers);
    if (meta.deleted) return { op: "delete", key, revision: m.seq };
    const value =
      meta.chunks === undefined ? new Uint8Array(m.data) : await readChunks(ctx, meta.chunks);
    if (value === undefined) {
      // the value was replaced long ago and its chunks swept: this watcher is far behind
      throw new Error(`kv watch on ${ctx.name}: the value of "${key}" at ${m.seq} is gone`);
    }
    const entry =
      meta.expiresAt === undefined
        ? { key, value, revision: m.seq }
        : { key, value, revision: m.seq, expiresAt: meta.expiresAt };
    return { op: "put", entry };
  };

  // one change at a time, in stream order, even when a value's chunks must be fetched first
  const enqueue = (m: JsMsg): void => {
    delivered = delivered
      .then(async () => {
        const change = await toChange(m);
        if (change !== undefined && !stopped) onChange(change);
      })
      .catch((error: unknown) => ctx.report(error, `watch of kv bucket ${ctx.name}`));
  };

  const start = (async () => {
    const info = await ctx.jsm.streams.info(ctx.stream);
    consumer = await ctx.js.consumers.get(ctx.stream, {
      filter_subjects,
      opt_start_seq: info.state.last_seq + 1,
    });
    if (stopped) return;
    messages = await consumer.consume({ callback: enqueue, expires: PULL_EXPIRES_MS });
  })();
  ctx.watchStarts.add(start);
  start
    .catch((error: unknown) => {
      if (!stopped) ctx.report(error, `starting a watch of kv bucket ${ctx.name}`);
    })
    .finally(() => {
      ctx.watchStarts.delete(start);
      if (stopped) stop();
    });

  const stop = (): void => {
    stopped = true;
    ctx.watchStops.delete(stop);
    messages?.stop();
    consumer?.delete().catch(() => undefined);
  };
  ctx.watchStops.add(stop);
  return stop;
}
