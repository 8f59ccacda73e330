// The records port: one record per invocation, whatever triggered it, kept for a while so users
// can see what happened (`litefaas invocations`, the console, replay). Backends: SQLite
// (embedded) and a NATS JetStream stream (distributed, so control sees every worker's records).
// Records are written in batches by the recorder (observe/invocation-recorder.ts), never one
// write per invocation on the request path, and backends keep each appended batch together (one
// row, one message): a batch is dropped whole, when every record in it is past retention.

/** What invoked a function. */
export type RecordTrigger = "http" | "message" | "scheduled" | "async" | "replay";

export interface RecordedLogLine {
  ts: number;
  level: string;
  message: string;
}

/** A request or response as captured for replay (bodies capped, base64 when not UTF-8 text). */
export interface CapturedPayload {
  /** Requests: method and URL as the function saw them; messages: subject. */
  method?: string;
  url?: string;
  subject?: string;
  status?: number;
  headers: Record<string, string>;
  body: string;
  encoding: "utf8" | "base64";
  /** Bytes the body had in all (more than were kept when truncated). */
  size: number;
  truncated: boolean;
}

export interface InvocationRecordEntry {
  /** Unique: the request id, with "~<attempt>" for a retry of an event or async invocation. */
  id: string;
  /** The request's, message's or tick's id: the same on every attempt. */
  requestId: string;
  project: string;
  function: string;
  version: number;
  trigger: RecordTrigger;
  attempt: number;
  /** Epoch ms when the invocation reached the worker. */
  start: number;
  /** Until the answer was complete (a streamed body's last byte). */
  durationMs: number;
  cold: boolean;
  /** Cold starts only: how long the instance took to be ready. */
  initMs?: number;
  outcome: "ok" | "error";
  /** The HTTP status the function answered with (HTTP and async triggers). */
  status?: number;
  error?: { code: string; message: string };
  /**
   * The instance's peak memory as last measured, where the runtime can measure it; failed
   * invocations too, and one that hit the memory limit shows at least the limit.
   */
  memoryPeakBytes?: number;
  /** The function's memory limit. */
  memoryMiB: number;
  /** As Lambda bills: memory limit in GB × duration rounded up to the millisecond. */
  billedGbSeconds: number;
  traceId?: string;
  /** The worker process that ran it (host:pid). */
  worker: string;
  logs: RecordedLogLine[];
  /** Lines the invocation logged beyond those kept in `logs`. */
  logsDropped: number;
  /** Only when the function asks for payloads (records.payloads in litefaas.yaml). */
  input?: CapturedPayload;
  output?: CapturedPayload;
}

export interface RecordQuery {
  outcome?: "ok" | "error";
  trigger?: RecordTrigger;
  /** Epoch ms: records that started at or after it. */
  since?: number;
  /** Epoch ms: records that started before it (paging back: the oldest start of a page). */
  before?: number;
  /** At most this many, newest first (default 50). */
  limit?: number;
}

export interface RecordRetention {
  keep: number;
  maxAgeMs: number;
}

export interface RecordsPort {
  /** Stores a batch (kept together per function); resolves once stored. */
  append(batch: InvocationRecordEntry[]): Promise<void>;
  get(id: string): Promise<InvocationRecordEntry | undefined>;
  /** A function's records, newest first. */
  list(project: string, fn: string, query?: RecordQuery): Promise<InvocationRecordEntry[]>;
  /**
   * Drops a function's batches whose records are all beyond its newest `keep`, or all older
   * than `maxAgeMs`: at least `keep` stay, and fewer than `keep` plus one batch.
   */
  trim(project: string, fn: string, retention: RecordRetention): Promise<void>;
  /** Every record of a function (after `rm --purge`). */
  remove(project: string, fn: string): Promise<void>;
  close(): Promise<void>;
}

const q = JSON.stringify;

/** Where a record's stored line leaves off what its batch says once for all of them. */
export interface BatchContext {
  project: string;
  fn: string;
  worker: string;
}

/** Optional fields, stored as one object at the end of a line when any is there. */
type Extra = Partial<
  Pick<
    InvocationRecordEntry,
    "requestId" | "error" | "traceId" | "logs" | "logsDropped" | "input" | "output"
  >
>;

/**
 * One record as a line of JSON: an array of the fields every record has, then an object of the
 * optional ones. Project, function and worker are the batch's (BatchContext); billedGbSeconds is
 * derived; durations are whole microseconds. It runs for every invocation, and this is a third
 * of JSON.stringify's time and bytes on the whole record.
 */
export function encodeRecord(r: InvocationRecordEntry): string {
  const line =
    `[${q(r.id)},${r.start},${Math.round(r.durationMs * 1000)},${r.version},"${r.trigger}",${r.attempt}` +
    `,${r.cold ? Math.round((r.initMs ?? 0) * 1000) : -1},"${r.outcome}",${r.status ?? -1}` +
    `,${r.memoryMiB},${r.memoryPeakBytes ?? -1}`;
  if (
    r.requestId === r.id &&
    r.error === undefined &&
    r.traceId === undefined &&
    r.logs.length === 0 &&
    r.logsDropped === 0 &&
    r.input === undefined &&
    r.output === undefined
  )
    return `${line}]`;
  const extra: Extra = {};
  if (r.requestId !== r.id) extra.requestId = r.requestId;
  if (r.error !== undefined) extra.error = r.error;
  if (r.traceId !== undefined) extra.traceId = r.traceId;
  if (r.logs.length > 0) extra.logs = r.logs;
  if (r.logsDropped > 0) extra.logsDropped = r.logsDropped;
  if (r.input !== undefined) extra.input = r.input;
  if (r.output !== undefined) extra.output = r.output;
  return `${line},${q(extra)}]`;
}

/** As Lambda bills: memory limit in GB × duration rounded up to the millisecond. */
export function billedGbSeconds(memoryMiB: number, durationMs: number): number {
  return ((memoryMiB / 1024) * Math.ceil(durationMs)) / 1000;
}

type Line = [
  id: string,
  start: number,
  durationUs: number,
  version: number,
  trigger: RecordTrigger,
  attempt: number,
  initUs: number,
  outcome: "ok" | "error",
  status: number,
  memoryMiB: number,
  memoryPeakBytes: number,
  extra?: Extra,
];

/** Newline-separated lines as encodeRecord wrote them (JSON escapes newlines inside one). */
export function decodeRecords(text: string, batch: BatchContext): InvocationRecordEntry[] {
  const out: InvocationRecordEntry[] = [];
  for (const text1 of text.split("\n")) {
    if (text1 === "") continue;
    const [
      id,
      start,
      durationUs,
      version,
      trigger,
      attempt,
      initUs,
      outcome,
      status,
      memoryMiB,
      peak,
      extra = {},
    ] = JSON.parse(text1) as Line;
    const durationMs = durationUs / 1000;
    const r: InvocationRecordEntry = {
      id,
      requestId: extra.requestId ?? id,
      project: batch.project,
      function: batch.fn,
      version,
      trigger,
      attempt,
      start,
      durationMs,
      cold: initUs >= 0,
      outcome,
      memoryMiB,
      billedGbSeconds: billedGbSeconds(memoryMiB, durationMs),
      worker: batch.worker,
      logs: extra.logs ?? [],
      logsDropped: extra.logsDropped ?? 0,
    };
    if (initUs >= 0) r.initMs = initUs / 1000;
    if (status >= 0) r.status = status;
    if (peak >= 0) r.memoryPeakBytes = peak;
    if (extra.error !== undefined) r.error = extra.error;
    if (extra.traceId !== undefined) r.traceId = extra.traceId;
    if (extra.input !== undefined) r.input = extra.input;
    if (extra.output !== undefined) r.output = extra.output;
    out.push(r);
  }
  return out;
}

/** Newest first: by start, then by id so the order is total. */
export function newestFirst(a: InvocationRecordEntry, b: InvocationRecordEntry): number {
  return b.start - a.start || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Whether a record passes a query's filters (not its limit). */
export function matches(r: InvocationRecordEntry, query: RecordQuery): boolean {
  return (
    (query.since === undefined || r.start >= query.since) &&
    (query.before === undefined || r.start < query.before) &&
    (query.outcome === undefined || r.outcome === query.outcome) &&
    (query.trigger === undefined || r.trigger === query.trigger)
  );
}

/** What a backend stores of one function's part of a batch: its records as lines. */
export interface EncodedGroup extends BatchContext {
  first: number;
  last: number;
  ids: string[];
  body: string;
}

/** A batch's records grouped by function (and worker) and encoded. */
export function byFunction(batch: InvocationRecordEntry[]): EncodedGroup[] {
  const groups = new Map<string, InvocationRecordEntry[]>();
  for (const r of batch) {
    const key = `${r.project}\0${r.function}\0${r.worker}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [r]);
    else group.push(r);
  }
  return [...groups.values()].map((records) => {
    let first = Infinity;
    let last = -Infinity;
    for (const r of records) {
      if (r.start < first) first = r.start;
      if (r.start > last) last = r.start;
    }
    const head = records[0] as InvocationRecordEntry;
    return {
      project: head.project,
      fn: head.function,
      worker: head.worker,
      first,
      last,
      ids: records.map((r) => r.id),
      body: records.map(encodeRecord).join("\n"),
    };
  });
}
