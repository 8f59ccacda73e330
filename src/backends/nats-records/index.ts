// records port on a JetStream stream: one message per appended batch and function, on
// `<prefix>.<project>.<function>`, its records as lines of JSON, its count and start times in
// headers. Every process of a cluster appends to it, and control reads every worker's records.
// A message per record cost the server ~10 µs and the client ~5 µs per invocation; a message
// per batch costs one publish per flush.
//
// A function's records are read with an ordered consumer on its subject (retention keeps them
// few); trimming reads only headers and deletes whole messages, so processes trimming the same
// function at once do no harm. A record found by id alone is searched for from the newest
// messages back, a window at a time.
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JsMsg,
} from "@nats-io/jetstream";
import { headers as natsHeaders, nanos, type NatsConnection } from "@nats-io/transport-node";
import {
  byFunction,
  decodeRecords,
  type BatchContext,
  type EncodedGroup,
  matches,
  newestFirst,
  type InvocationRecordEntry,
  type RecordQuery,
  type RecordRetention,
  type RecordsPort,
} from "../../ports/records.js";
import { maxPayload } from "../nats/connection.js";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
/** The stream keeps nothing longer than this; functions' own maxAge is applied by trim. */
const STREAM_MAX_AGE_MS = 90 * 24 * 3_600_000;
/** Messages read at a time when looking for an id from the newest back. */
const SEARCH_WINDOW = 256;
const H = {
  count: "Litefaas-Count",
  last: "Litefaas-Last-Start",
  worker: "Litefaas-Worker",
} as const;

export interface NatsRecordsOptions {
  stream: string;
  /** Subjects are `<prefix>.<project>.<function>`. */
  prefix: string;
  replicas?: number;
  /** Bound on the stream's size on disk; the oldest batches go first (default 1 GiB). */
  maxBytes?: number;
}

export async function natsRecords(
  nc: NatsConnection,
  options: NatsRecordsOptions,
): Promise<RecordsPort> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const { stream, prefix } = options;
  try {
    await jsm.streams.add({
      name: stream,
      subjects: [`${prefix}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(STREAM_MAX_AGE_MS),
      max_bytes: options.maxBytes ?? 1024 ** 3,
      num_replicas: options.replicas ?? 1,
    });
  } catch (error) {
    const info = await jsm.streams.info(stream).catch(() => undefined);
    if (info === undefined || !(info.config.subjects ?? []).includes(`${prefix}.>`)) {
      throw new Error(`cannot create the records stream ${stream}: ${String(error)}`, {
        cause: error,
      });
    }
  }
  const subjectOf = (project: string, fn: string) => `${prefix}.${project}.${fn}`;
  const encoder = new TextEncoder();
  let open = true;
  const check = () => {
    if (!open) throw new Error("the records store is closed");
  };

  const publish = async (
    g: EncodedGroup,
    lines: string[],
    count: number,
    last: number,
  ): Promise<void> => {
    const h = natsHeaders();
    h.set(H.count, String(count));
    h.set(H.last, String(last));
    h.set(H.worker, g.worker);
    const subject = subjectOf(g.project, g.fn);
    await js.publish(subject, encoder.encode(lines.join("\n")), { headers: h });
  };

  return {
    async append(batch) {
      check();
      const limit = maxPayload(nc) - 4096;
      await Promise.all(
        byFunction(batch).map(async (g) => {
          if (g.body.length < limit) return publish(g, [g.body], g.ids.length, g.last);
          // over the server's message size: in pieces of whole records
          const lines = g.body.split("\n");
          const records = decodeRecords(g.body, g);
          let piece: string[] = [];
          let size = 0;
          let last = -Infinity;
          for (const [i, line] of lines.entries()) {
            if (size + line.length > limit && piece.length > 0) {
              await publish(g, piece, piece.length, last);
              piece = [];
              size = 0;
              last = -Infinity;
            }
            piece.push(line);
            size += line.length + 1;
            last = Math.max(last, records[i]?.start ?? last);
          }
          if (piece.length > 0) await publish(g, piece, piece.length, last);
        }),
      );
    },
    async get(id) {
      check();
      const info = await jsm.streams.info(stream);
      const { first_seq: first, last_seq: last, messages } = info.state;
      if (messages === 0) return undefined;
      const needle = `[${JSON.stringify(id)},`;
      for (let end = last; end >= first; end -= SEARCH_WINDOW) {
        const start = Math.max(first, end - SEARCH_WINDOW + 1);
        let found: InvocationRecordEntry | undefined;
        await read(js, stream, `${prefix}.>`, { seq: start }, (m) => {
          if (m.seq > end) return false;
          const text = m.string();
          if (text.includes(needle)) {
            found =
              decodeRecords(text, contextOf(m))
                .filter((r) => r.id === id)
                .at(-1) ?? found;
          }
          return m.seq < end;
        });
        if (found !== undefined) return found;
      }
      return undefined;
    },
    async list(project, fn, query: RecordQuery = {}) {
      check();
      const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
      const found: InvocationRecordEntry[] = [];
      // stored after it started: a batch holding a record that started at `since` is not earlier
      await read(js, stream, subjectOf(project, fn), { since: query.since }, (m) => {
        for (const r of decodeRecords(m.string(), contextOf(m)))
          if (matches(r, query)) found.push(r);
        return true;
      });
      return found.sort(newestFirst).slice(0, limit);
    },
    async trim(project, fn, retention: RecordRetention) {
      check();
      const batches: Array<{ seq: number; count: number; last: number }> = [];
      await read(js, stream, subjectOf(project, fn), { headersOnly: true }, (m) => {
        batches.push({
          seq: m.seq,
          count: Number(m.headers?.get(H.count) ?? "0"),
          last: Number(m.headers?.get(H.last) ?? "0"),
        });
        return true;
      });
      batches.sort((a, b) => b.last - a.last || b.seq - a.seq);
      const cutoff = Date.now() - retention.maxAgeMs;
      let newer = 0;
      for (const b of batches) {
        if (newer >= retention.keep || b.last < cutoff) {
          // already deleted by another process trimming at the same time: nothing to do
          await jsm.streams.deleteMessage(stream, b.seq, false).catch(() => undefined);
        }
        newer += b.count;
      }
    },
    async remove(project, fn) {
      check();
      await jsm.streams.purge(stream, { filter: subjectOf(project, fn) });
    },
    close() {
      open = false; // the connection is the caller's
      return Promise.resolve();
    },
  };
}

/** A batch's project and function are in its subject, its worker in a header. */
function contextOf(m: JsMsg): BatchContext {
  const [, project = "", fn = ""] = /\.([^.]+)\.([^.]+)$/.exec(m.subject) ?? [];
  return { project, fn, worker: m.headers?.get(H.worker) ?? "" };
}

/**
 * Reads `filter`'s messages in order (from `seq` or from the time `since`), as they are now:
 * stops at the last one pending when it started, or when `each` answers false.
 */
async function read(
  js: JetStreamClient,
  stream: string,
  filter: string,
  from: { seq?: number; since?: number | undefined; headersOnly?: boolean },
  each: (m: JsMsg) => boolean,
): Promise<void> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter,
    ...(from.seq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.seq }
      : from.since !== undefined
        ? {
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: new Date(from.since).toISOString(),
          }
        : { deliver_policy: DeliverPolicy.All }),
    ...(from.headersOnly === true ? { headers_only: true } : {}),
  });
  try {
    const info = await consumer.info(true);
    let left = info.num_pending;
    if (left === 0) return;
    const messages = await consumer.consume({ max_messages: Math.min(left, 256) });
    for await (const m of messages) {
      if (!each(m) || --left <= 0 || m.info.pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
