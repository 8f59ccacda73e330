// Every invocation leaves a record. The recorder wraps the invoker a worker runs functions
// through, so HTTP requests, events, async invocations, cron ticks and replays are all seen at
// one place, and tees function log lines into the record of the invocation that wrote them.
//
// On the request path it only builds the record; records are stored in batches (one per
// FLUSH_MS or MAX_BATCH), so the store costs one transaction or one pipelined publish per batch.
// A store that fails keeps its batch for the next flush, up to MAX_PENDING records; past that
// the oldest are dropped and counted, and the count is reported.
import { hostname } from "node:os";
import type { Invoker } from "../invoke/index.js";
import {
  billedGbSeconds,
  type InvocationRecordEntry,
  type RecordedLogLine,
  type RecordsPort,
  type RecordTrigger,
} from "../ports/records.js";
import { failedPeakMemory } from "../runtimes/failed-invocation-memory.js";
import type { FunctionVersion, InvocationRequest, InvocationResponse } from "../runtimes/types.js";
import { asLitefaasError } from "../shared/errors.js";
import { recordPolicy } from "../shared/manifest/records-policy.js";
import { BodyCapture, captureInput } from "./captured-payload.js";
import { RecordRetentionKeeper } from "./record-retention.js";
import { continueTrace, type InvocationTrace } from "./trace-context.js";

export type { InvocationTrace };
import type { LogLine, LogSink } from "./logs.js";

const FLUSH_MS = 100;
const MAX_BATCH = 1024;
const MAX_PENDING = 20_000;
/** Lines kept in one record, and characters of each; the rest are counted. */
const MAX_LINES = 50;
const MAX_LINE = 2048;

export interface RecorderOptions {
  store: RecordsPort;
  onError(error: unknown, what: string): void;
  /** The functions to trim by age now and then, also when they get no records (control does). */
  functions?: () => FunctionVersion[];
  /** Told of every record as it is made (metrics, spans). */
  onRecord?(record: InvocationRecordEntry, trace: InvocationTrace): void;
}

interface Active {
  lines: RecordedLogLine[];
  dropped: number;
  trace: InvocationTrace;
}

export class InvocationRecorder {
  private readonly worker = `${hostname()}:${process.pid}`;
  private readonly active = new Map<string, Active>();
  private pending: InvocationRecordEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private readonly retention: RecordRetentionKeeper;
  private dropped = 0;
  private closed = false;

  constructor(private readonly options: RecorderOptions) {
    this.retention = new RecordRetentionKeeper(
      options.store,
      (error, what) => options.onError(error, what),
      options.functions,
    );
  }

  /** The same invoker, recording every invocation it runs. */
  wrap(invoker: Invoker): Invoker {
    return {
      resolve: (project, name) => invoker.resolve(project, name),
      invoke: (fn, request) => this.invoke(invoker, fn, request),
    };
  }

  /** The traceparent a running invocation hands on (to its events, fetches, bindings). */
  traceOf(requestId: string): InvocationTrace | undefined {
    return this.active.get(requestId)?.trace;
  }

  /** The same sink; lines of running invocations also go to their records. */
  teeLogs(sink: LogSink): LogSink {
    return {
      append: (line: LogLine) => {
        sink.append(line);
        const active = this.active.get(line.requestId);
        if (active === undefined) return;
        if (active.lines.length >= MAX_LINES) {
          active.dropped++;
          return;
        }
        active.lines.push({
          ts: line.ts,
          level: line.level,
          message:
            line.message.length > MAX_LINE
              ? `${line.message.slice(0, MAX_LINE)}… [${line.message.length - MAX_LINE} characters cut]`
              : line.message,
        });
      },
    };
  }

  /** Stores what is pending; resolves when it is stored (or given up). */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // one flush waits behind the running one at most: it takes whatever is pending by then
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.flushing = this.flushing.then(() => {
        this.flushQueued = false;
        return this.store1();
      });
    }
    return this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retention.stop();
    await this.flush();
  }

  private invoke(
    invoker: Invoker,
    fn: FunctionVersion,
    request: InvocationRequest,
  ): Promise<InvocationResponse> {
    const start = Date.now();
    const since = performance.now();
    const policy = recordPolicy(fn.config);
    const input = policy.payloads ? captureInput(request, policy.maxPayloadBytes) : undefined;
    const active: Active = { lines: [], dropped: 0, trace: continueTrace(request) };
    this.active.set(request.id, active);
    let answer: Promise<InvocationResponse>;
    try {
      answer = invoker.invoke(fn, request);
    } catch (error) {
      answer = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return answer.then(
      (response) => {
        const capture = policy.payloads ? new BodyCapture(policy.maxPayloadBytes) : undefined;
        const body = response.body;
        if (body === null || typeof body === "string" || body instanceof Uint8Array) {
          if (capture !== undefined && body !== null) capture.add(body);
        } else if (response.webSocket === undefined) {
          // streamed: the record is made when its last byte has gone
          response.body = observed(body, capture, (error) =>
            this.finish(fn, request, start, since, active, response, error, input, capture),
          );
          return response;
        }
        this.finish(fn, request, start, since, active, response, undefined, input, capture);
        return response;
      },
      (error: unknown) => {
        this.finish(fn, request, start, since, active, undefined, error, input, undefined);
        throw error;
      },
    );
  }

  private finish(
    fn: FunctionVersion,
    request: InvocationRequest,
    start: number,
    since: number,
    active: Active,
    response: InvocationResponse | undefined,
    error: unknown,
    input: InvocationRecordEntry["input"],
    output: BodyCapture | undefined,
  ): void {
    const durationMs = Math.round((performance.now() - since) * 1000) / 1000;
    if (this.active.get(request.id) === active) this.active.delete(request.id);
    const attempt = request.attempt ?? request.event?.attempt ?? 1;
    const memoryMiB = fn.config.memoryMiB;
    const record: InvocationRecordEntry = {
      id: attempt > 1 ? `${request.id}~${attempt}` : request.id,
      requestId: request.id,
      project: fn.project,
      function: fn.name,
      version: fn.version,
      trigger: triggerOf(request),
      attempt,
      start,
      durationMs,
      cold: response?.coldStart ?? false,
      outcome: "ok",
      memoryMiB,
      billedGbSeconds: billedGbSeconds(memoryMiB, durationMs),
      worker: this.worker,
      logs: active.lines,
      logsDropped: active.dropped,
      traceId: active.trace.traceId,
    };
    if (response?.initMs !== undefined) record.initMs = Math.round(response.initMs * 1000) / 1000;
    const memoryPeakBytes = response?.memoryPeakBytes ?? failedPeakMemory(error);
    if (memoryPeakBytes !== undefined) record.memoryPeakBytes = memoryPeakBytes;
    if (response !== undefined && request.event === undefined) record.status = response.status;
    if (error !== undefined) {
      const e = asLitefaasError(error);
      record.outcome = "error";
      record.error = { code: e.code, message: e.message };
      if (request.event === undefined) record.status = e.status;
    } else if (response !== undefined && response.status >= 500) {
      record.outcome = "error";
      record.error = {
        code: "FUNCTION_ERROR_STATUS",
        message: `the function answered ${response.status}`,
      };
    }
    if (input !== undefined) record.input = input;
    if (output !== undefined && response !== undefined)
      record.output = output.payload(response.status, response.headers);
    this.options.onRecord?.(record, active.trace);
    this.push(record, fn);
  }

  private push(record: InvocationRecordEntry, fn: FunctionVersion): void {
    this.retention.added(fn, 1);
    this.pending.push(record);
    if (this.pending.length > MAX_PENDING) {
      const over = this.pending.length - MAX_PENDING;
      this.pending.splice(0, over);
      this.dropped += over;
    }
    if (this.closed) return;
    if (this.pending.length >= MAX_BATCH) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** One batch to the store; on failure it goes back in front for the next flush. */
  private async store1(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.options.store.append(batch);
      } catch (error) {
        this.pending.unshift(...batch);
        this.options.onError(error, `storing ${this.pending.length} invocation records`);
        if (!this.closed && this.timer === undefined) {
          this.timer = setTimeout(() => void this.flush(), FLUSH_MS * 10);
          this.timer.unref();
        }
        return;
      }
    }
    await this.retention.trimFull();
    if (this.dropped > 0) {
      this.options.onError(
        new Error(
          `${this.dropped} invocation records were dropped: more were waiting to be stored than ${MAX_PENDING}`,
        ),
        "storing invocation records",
      );
      this.dropped = 0;
    }
  }
}

function triggerOf(request: InvocationRequest): RecordTrigger {
  if (request.trigger !== undefined) return request.trigger;
  const kind = request.event?.kind;
  return kind === undefined ? "http" : kind;
}

/** A streamed body that reports its end (or failure, or the client leaving) once. */
async function* observed(
  body: AsyncIterable<string | Uint8Array>,
  capture: BodyCapture | undefined,
  onEnd: (error: unknown) => void,
): AsyncIterable<string | Uint8Array> {
  let failure: unknown;
  try {
    for await (const chunk of body) {
      capture?.add(chunk);
      yield chunk;
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    onEnd(failure);
  }
}
