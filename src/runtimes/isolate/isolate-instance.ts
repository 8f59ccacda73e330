// One isolate bound to one function version. It serves many invocations at once (as a Workers
// isolate does); each has a wall-clock deadline. A stuck or over-budget isolate is disposed and
// its in-flight invocations fail; the scheduler replaces it.
//
// Crossing into the isolate costs a thread hop (~20 µs of the event loop's time), so invocations
// accepted in the same event-loop turn go in one batch: one hop for all of them.
import type { CachedDataResult, ExternalCopy, Script } from "isolated-vm";
import { randomUUID } from "node:crypto";
import { LitefaasError } from "../../shared/errors.js";
import { ChunkChannel } from "../../shared/chunk-channel.js";
import type { LogSink } from "../../observe/logs.js";
import type {
  FunctionVersion,
  Instance,
  InvocationRequest,
  InvocationResponse,
  TriggerKind,
} from "../types.js";
import type { PreparedIsolate } from "./prepared-isolate.js";
import type { FetchResult } from "./guest/host-api.js";
import { BindingUserError, type BindingHost } from "../../bindings/binding-error.js";
import { IsolateSocket } from "./isolate-socket.js";

/** Bundled code of a version, with V8's code cache once one instance produced it. */
export interface LoadedCode {
  source: string;
  cachedData?: ExternalCopy<ArrayBuffer>;
}

/** What an instance needs from the platform, per function. */
export interface InstanceServices {
  logs: LogSink;
  fetch: (
    requestId: string,
    method: string,
    url: string,
    headers: string[],
    body: ArrayBuffer | null,
  ) => Promise<FetchResult>;
  createSubtle: () => { call(op: string, args: unknown[]): Promise<unknown>; dispose(): void };
  /** Host halves of env.kv, env.sql, env.events, by name. */
  bindings: Record<string, BindingHost>;
  /** Where a process function may connect (its egress list, checked as fetch checks it);
   * undefined: nowhere. */
  egress?: EgressCheck | undefined;
}

/** The addresses `hostname:port` may be reached at, or a refusal saying why. */
export type EgressCheck = (
  hostname: string,
  port: number,
) => Promise<ReadonlyArray<{ address: string; family: 4 | 6 }>>;

type Answer = Omit<InvocationResponse, "coldStart">;

interface Call {
  requestId: string;
  timer: NodeJS.Timeout;
  /** Until the response head is known; then undefined. */
  resolve: ((answer: Answer) => void) | undefined;
  reject: ((error: LitefaasError) => void) | undefined;
  channel: ChunkChannel | undefined;
  /** The WebSocket the invocation accepted, once the guest or the head mentions it. */
  socket: IsolateSocket | undefined;
  /** Answered 101: the invocation lasts as long as its WebSocket, with no deadline. */
  upgraded: boolean;
}

/** [status, headers, body, streamed (1 a stream, 2 a WebSocket), settled] */
type GuestResult = [number, string[], string | ArrayBuffer | null, 0 | 1 | 2, 0 | 1];

const RESPONSIVE_PROBE_MS = 50;
const INIT_TIMEOUT_CAP_MS = 10_000;
/** How often an instance's heap is measured, at most (for invocation records). */
const MEMORY_SAMPLE_MS = 1_000;
const STRIDE = 10;
const KIND = { http: 0, message: 1, scheduled: 2 } as const;
const batchOptions = { arguments: { copy: true }, result: { promise: true, copy: true } } as const;

export class IsolateInstance implements Instance {
  readonly id = randomUUID();
  lastUsed = Date.now();
  handles: ReadonlySet<TriggerKind> = new Set();
  private calls = new Map<number, Call>();
  private nextSeq = 1;
  private openSockets = 0;
  memoryPeakBytes: number | undefined;
  private sampledAt = 0;
  private batch: unknown[] = [];
  private disposed = false;
  /** Set while a timed-out invocation makes us unsure the isolate can still run anything. */
  private suspect = false;
  /** Why V8 disposed the isolate on its own, once known: every waiting invocation gets the same. */
  private lost: LitefaasError | undefined;
  private subtle: ReturnType<InstanceServices["createSubtle"]>;

  private constructor(
    private readonly prepared: PreparedIsolate,
    private readonly fn: FunctionVersion,
    private readonly services: InstanceServices,
  ) {
    this.subtle = services.createSubtle();
    const { project, name, version } = fn;
    prepared.state = {
      onLog: (level, requestId, message) =>
        services.logs.append({
          ts: Date.now(),
          project,
          function: name,
          version,
          requestId,
          level,
          message,
        }),
      fetch: services.fetch,
      crypto: (op, args) => this.subtle.call(op, args),
      emit: (seq, chunk, error) => this.emit(seq, chunk, error),
      onDone: (seq) => this.release(seq),
      onRespond: (seq, kind, payload) => this.answer(seq, kind, payload),
      binding: (seq, name, op, args) => this.binding(seq, name, op, args),
      onSocket: (seq, op, data, code, reason) => this.onSocket(seq, op, data, code, reason),
    };
  }

  /** Load the function's code into a prepared isolate and bind its handler: the cold start. */
  static async bind(
    prepared: PreparedIsolate,
    fn: FunctionVersion,
    code: LoadedCode,
    services: InstanceServices,
  ): Promise<IsolateInstance> {
    const instance = new IsolateInstance(prepared, fn, services);
    const timeout = Math.min(fn.config.timeoutMs, INIT_TIMEOUT_CAP_MS);
    const { isolate, context } = prepared;
    try {
      const filename = `litefaas:///${fn.project}/${fn.name}@${fn.version}.js`;
      const script: Script & CachedDataResult = await isolate.compileScript(
        code.source,
        code.cachedData === undefined
          ? { filename, produceCachedData: true }
          : { filename, cachedData: code.cachedData },
      );
      if (code.cachedData === undefined && script.cachedData !== undefined)
        code.cachedData = script.cachedData;
      await script.run(context, { timeout });
      script.release();
      const meta = {
        project: fn.project,
        name: fn.name,
        version: fn.version,
        memoryMiB: fn.config.memoryMiB,
        timeoutMs: fn.config.timeoutMs,
      };
      const handles = (await prepared.bind.apply(
        undefined,
        [JSON.stringify(fn.config.env), JSON.stringify(meta)],
        { arguments: { copy: true }, result: { copy: true }, timeout },
      )) as string;
      instance.handles = new Set(handles.split(",") as TriggerKind[]);
    } catch (error) {
      instance.dispose();
      throw new LitefaasError(
        "FUNCTION_INIT_FAILED",
        `${fn.project}/${fn.name}: ${describeInitError(error, isolate.isDisposed)}`,
        {
          fix: "check the function's top-level code and exports (litefaas logs shows its output)",
          cause: error,
        },
      );
    }
    instance.watchForDisposal();
    return instance;
  }

  /** Invocations running, not counting those that are now an open WebSocket. */
  get inflight(): number {
    return this.calls.size - this.openSockets;
  }

  get sockets(): number {
    return this.openSockets;
  }

  get alive(): boolean {
    return !this.disposed && !this.prepared.isolate.isDisposed;
  }

  get accepting(): boolean {
    return !this.suspect && this.alive;
  }

  invoke(request: InvocationRequest): Promise<Answer> {
    if (!this.alive) return Promise.reject(new LitefaasError("INSTANCE_RESET"));
    const trigger = request.event?.kind ?? "http";
    if (!this.handles.has(trigger)) return Promise.reject(missingHandler(this.fn, trigger));
    this.lastUsed = Date.now();
    const seq = this.nextSeq++;
    const deadline = this.lastUsed + this.fn.config.timeoutMs;
    const body = request.body === null ? null : toArrayBuffer(request.body);
    return new Promise<Answer>((resolve, reject) => {
      this.calls.set(seq, {
        requestId: request.id,
        timer: setTimeout(() => this.onTimeout(seq), this.fn.config.timeoutMs),
        resolve,
        reject,
        channel: undefined,
        socket: undefined,
        upgraded: false,
      });
      if (request.cancel !== undefined)
        request.cancel.onCancel = (reason) => this.abortGuest(seq, reason ?? "client disconnected");
      if (this.batch.length === 0) setImmediate(() => this.flush());
      const event = request.event;
      if (event === undefined) {
        this.batch.push(
          seq,
          request.id,
          KIND.http,
          request.method,
          request.url,
          request.headers,
          body,
          request.sourceIp,
          deadline,
          request.traceparent ?? "",
        );
      } else if (event.kind === "message") {
        const { id, subject, attempt, publishedAt } = event;
        const headers: string[] = [];
        for (const [name, value] of Object.entries(event.headers)) headers.push(name, value);
        this.batch.push(
          seq,
          request.id,
          KIND.message,
          JSON.stringify({ id, subject, attempt, publishedAt }),
          "",
          headers,
          toArrayBuffer(event.data),
          "",
          deadline,
          request.traceparent ?? "",
        );
      } else {
        const { cron, scheduledTime, attempt } = event;
        const meta = JSON.stringify({ cron, scheduledTime, attempt });
        const traceparent = request.traceparent ?? "";
        this.batch.push(
          seq,
          request.id,
          KIND.scheduled,
          meta,
          "",
          [],
          null,
          "",
          deadline,
          traceparent,
        );
      }
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const seq of [...this.calls.keys()])
      this.fail(seq, this.lost ?? new LitefaasError("INSTANCE_RESET"));
    this.subtle.dispose();
    if (!this.prepared.isolate.isDisposed) this.prepared.isolate.dispose();
  }

  private flush() {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    if (!this.alive) {
      for (let i = 0; i < batch.length; i += STRIDE)
        this.fail(batch[i] as number, new LitefaasError("INSTANCE_RESET"));
      return;
    }
    (this.prepared.dispatch.apply(undefined, [batch], batchOptions) as Promise<unknown[]>).then(
      (answers) => {
        for (let i = 0; i < answers.length; i += 3)
          this.answer(answers[i] as number, answers[i + 1] as 0 | 1, answers[i + 2]);
      },
      (error: unknown) => {
        const failure = this.classify(error, batch[1] as string);
        for (let i = 0; i < batch.length; i += STRIDE) this.fail(batch[i] as number, failure);
      },
    );
  }

  /** The guest's answer for one invocation: a response head (maybe streaming) or a thrown error. */
  private answer(seq: number, kind: 0 | 1, payload: unknown) {
    const call = this.calls.get(seq);
    if (call?.resolve === undefined) return;
    const { resolve } = call;
    call.resolve = undefined;
    if (kind === 1) {
      const [, stack] = payload as [string, string];
      this.log(call.requestId, `Uncaught ${stack}`);
      this.fail(
        seq,
        new LitefaasError("FUNCTION_ERROR", "the function threw an exception", {
          fix: `see the stack in \`litefaas logs ${this.fn.project}/${this.fn.name}\` (request ${call.requestId})`,
        }),
      );
      return;
    }
    const [status, headers, out, streamed, settled] = payload as GuestResult;
    if (streamed === 2) {
      call.reject = undefined;
      clearTimeout(call.timer);
      call.upgraded = true;
      this.openSockets++;
      resolve({ status, headers, body: null, webSocket: this.socketOf(seq) });
      return;
    }
    if (streamed === 1) {
      call.reject = undefined;
      resolve({ status, headers, body: this.channel(seq) });
      return;
    }
    call.reject = undefined;
    if (settled === 1) this.release(seq);
    resolve({ status, headers, body: out instanceof ArrayBuffer ? new Uint8Array(out) : out });
  }

  /** Fail an invocation: its caller if it still waits for the head, its stream if one is open. */
  private fail(seq: number, error: LitefaasError) {
    const call = this.calls.get(seq);
    if (call === undefined) return;
    call.resolve = undefined;
    call.reject?.(error);
    call.reject = undefined;
    call.channel?.fail(error);
    // 1001 "going away" when the instance was stopped; 1011 when something went wrong in it
    call.socket?.end(
      this.disposed && error.code === "INSTANCE_RESET" ? 1001 : 1011,
      error.code === "INSTANCE_RESET" ? "the function's instance stopped" : error.message,
    );
    this.release(seq);
  }

  private release(seq: number) {
    const call = this.calls.get(seq);
    if (call === undefined) return;
    clearTimeout(call.timer);
    if (call.upgraded) this.openSockets--;
    this.calls.delete(seq);
    this.lastUsed = Date.now();
    if (this.lastUsed - this.sampledAt >= MEMORY_SAMPLE_MS) this.sampleMemory();
  }

  /** The heap's high-water mark, read off the request path at most once a second. */
  private sampleMemory() {
    this.sampledAt = this.lastUsed;
    if (this.disposed) return;
    this.prepared.isolate.getHeapStatistics().then(
      (s) => {
        const used = s.used_heap_size + s.externally_allocated_size;
        if (used > (this.memoryPeakBytes ?? 0)) this.memoryPeakBytes = used;
      },
      () => undefined, // disposed meanwhile: nothing to measure
    );
  }

  /** Invocation `seq`'s WebSocket, made on first mention (frames may come before the head). */
  private socketOf(seq: number): IsolateSocket {
    const call = this.calls.get(seq);
    if (call === undefined) {
      const orphan = new IsolateSocket(() => undefined);
      orphan.end(1011, "the function's invocation had ended");
      return orphan;
    }
    call.socket ??= new IsolateSocket((kind, data, code, reason) =>
      this.toGuestSocket(seq, kind, data, code, reason),
    );
    return call.socket;
  }

  /** The guest's WebSocket sends (op 0) or closes (op 1). */
  private onSocket(
    seq: number,
    op: 0 | 1,
    data: string | ArrayBuffer | null,
    code: number,
    reason: string,
  ) {
    if (!this.calls.has(seq)) return;
    const socket = this.socketOf(seq);
    if (op === 0) socket.fromGuest(data ?? "");
    else socket.guestClosed(code, reason);
  }

  /**
   * A client's message or close for the guest. The listeners run without a deadline of their
   * own, so one that does not return within the function's timeout gets the isolate looked into
   * as a timed-out invocation would.
   */
  private toGuestSocket(
    seq: number,
    kind: 0 | 1,
    data: string | Uint8Array | null,
    code: number,
    reason: string,
  ) {
    if (!this.alive) return;
    this.lastUsed = Date.now();
    const payload = data instanceof Uint8Array ? toArrayBuffer(data) : data;
    const guard = setTimeout(() => {
      this.calls
        .get(seq)
        ?.socket?.abort(1011, "a WebSocket listener ran past the function's timeout");
      void this.disposeIfStuck();
    }, this.fn.config.timeoutMs);
    this.prepared.socketEvent
      .apply(undefined, [seq, kind, payload, code, reason], { arguments: { copy: true } })
      .then(
        () => clearTimeout(guard),
        (error: unknown) => {
          clearTimeout(guard);
          const call = this.calls.get(seq);
          if (call !== undefined) this.fail(seq, this.classify(error, call.requestId));
        },
      );
  }

  /**
   * A binding call from the guest. It must belong to an invocation still running (its response
   * or its waitUntil work): a call from code that outlived its invocation is refused.
   */
  private async binding(seq: number, name: string, op: string, args: unknown[]): Promise<unknown> {
    const call = this.calls.get(seq);
    if (call === undefined) {
      return [
        1,
        "Error",
        `env.${name}.${op}() was called after its invocation ended; keep work going with ctx.waitUntil(promise)`,
      ];
    }
    const host = this.services.bindings[name];
    if (host === undefined)
      return [1, "TypeError", `env.${name} is not a binding of this function`];
    try {
      return [0, await host(op, args, call.requestId)];
    } catch (error) {
      if (error instanceof BindingUserError) return [1, error.name, error.message];
      this.log(
        call.requestId,
        `env.${name}.${op}() failed in the platform: ${error instanceof Error ? error.message : String(error)}`,
      );
      return [
        1,
        "Error",
        `env.${name}.${op}() failed in the platform (request ${call.requestId}); retry, and report it if it persists`,
      ];
    }
  }

  /** A streamed body's channel; chunks may arrive before the response head does. */
  private channel(seq: number): ChunkChannel {
    const call = this.calls.get(seq);
    if (call === undefined) {
      const orphan = new ChunkChannel();
      orphan.fail(new LitefaasError("INSTANCE_RESET"));
      return orphan;
    }
    call.channel ??= new ChunkChannel();
    return call.channel;
  }

  private emit(seq: number, chunk: ArrayBuffer | string | null, error?: string): Promise<void> {
    if (!this.calls.has(seq)) return Promise.resolve();
    const channel = this.channel(seq);
    if (error !== undefined) {
      channel.fail(new Error(`the function's response stream failed: ${error}`));
      return Promise.resolve();
    }
    if (chunk === null) {
      channel.end();
      return Promise.resolve();
    }
    return channel.push(typeof chunk === "string" ? chunk : new Uint8Array(chunk));
  }

  private onTimeout(seq: number) {
    this.abortGuest(seq, "timeout");
    this.fail(
      seq,
      new LitefaasError(
        "FUNCTION_TIMEOUT",
        `the function did not finish within ${this.fn.config.timeoutMs} ms`,
        {
          fix: "make the function faster, or raise limits.timeout in litefaas.yaml",
        },
      ),
    );
    void this.disposeIfStuck();
  }

  /** A timed-out invocation may be a busy loop: if the isolate cannot answer a no-op soon, replace it. */
  private async disposeIfStuck() {
    if (!this.alive || this.suspect) return;
    this.suspect = true;
    const probe = this.prepared.context.eval("0", { timeout: RESPONSIVE_PROBE_MS }).then(
      () => true,
      () => false,
    );
    const answered = await Promise.race([probe, sleep(RESPONSIVE_PROBE_MS).then(() => false)]);
    if (answered) this.suspect = false;
    else this.dispose();
  }

  /**
   * A promise that never settles while the isolate lives: when V8 disposes the isolate on its own
   * (memory limit) while invocations wait on timers or fetches, this is how the host finds out.
   */
  private watchForDisposal() {
    this.prepared.context.eval("new Promise(() => {})", { promise: true }).then(
      () => undefined,
      () => {
        // "abandoned" comes first, before isDisposed turns true, and also when the guest's GC
        // merely collected the promise: look again shortly, then fail everything or re-arm
        setTimeout(() => {
          if (this.disposed) return;
          if (!this.prepared.isolate.isDisposed) {
            this.watchForDisposal();
            return;
          }
          const failure = this.classify(new Error("memory limit"), "");
          for (const seq of [...this.calls.keys()]) this.fail(seq, failure);
        }, 20).unref();
      },
    );
  }

  private abortGuest(seq: number, reason: string) {
    if (!this.alive) return;
    this.prepared.abort.applyIgnored(undefined, [seq, reason], { arguments: { copy: true } });
  }

  private classify(error: unknown, requestId: string): LitefaasError {
    if (error instanceof LitefaasError) return error;
    if (this.lost !== undefined) return this.lost;
    // isolated-vm disposes an isolate by itself only when it hits its memory limit; the error
    // can reach us a moment before isDisposed turns true, so its message counts too
    const message = error instanceof Error ? error.message : String(error);
    if (!this.disposed && (this.prepared.isolate.isDisposed || /memory limit/i.test(message))) {
      this.log(
        requestId,
        `Memory limit of ${this.fn.config.memoryMiB} MiB exceeded; the instance was replaced`,
      );
      this.lost = new LitefaasError(
        "FUNCTION_MEMORY_LIMIT",
        `the function exceeded its memory limit of ${this.fn.config.memoryMiB} MiB`,
        {
          fix: "use less memory, or raise limits.memory in litefaas.yaml",
        },
      );
      this.dispose();
      return this.lost;
    }
    this.dispose();
    return new LitefaasError(
      "INSTANCE_RESET",
      "the function instance was reset while this invocation ran",
      {
        fix: "retry the request; another invocation on the same instance timed out or crashed",
        cause: error,
      },
    );
  }

  private log(requestId: string, message: string) {
    this.prepared.state.onLog("error", requestId, message);
  }
}

function missingHandler(fn: FunctionVersion, trigger: TriggerKind): LitefaasError {
  const handler = {
    http: "fetch(request, env, ctx)",
    message: "message(msg, env, ctx)",
    scheduled: "scheduled(event, env, ctx)",
  }[trigger];
  return new LitefaasError(
    "NO_HANDLER",
    `${fn.project}/${fn.name}@${fn.version} has no handler for ${trigger === "http" ? "HTTP requests" : trigger === "message" ? "messages" : "cron ticks"}`,
    { fix: `add async ${handler} to the function's default export and deploy again` },
  );
}

function describeInitError(error: unknown, disposed: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  if (disposed && /memory limit/i.test(message))
    return "its top-level code exceeded the memory limit";
  if (/timed out/i.test(message)) return "its top-level code did not finish in time";
  return message;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength)
    return bytes.buffer as ArrayBuffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function sleep(ms: number) {
  return new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
}
