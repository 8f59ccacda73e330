// Inside the isolate: bind the function's exports once, then turn host calls into Requests, run
// the handler, and hand back [status, headers, body, streamed, settled].
//
// Invocations arrive in batches (every request the host accepted in one event-loop turn): one
// thread hop for many requests. Handlers that finish within a few microtask turns answer in the
// batch's own result; the rest answer later through the `respond` hook.
import { bindingCaller } from "./bindings/call.js";
import { createEvents } from "./bindings/events.js";
import { createKv } from "./bindings/kv.js";
import { createSql } from "./bindings/sql.js";
import type { FlatHeaders, HostHooks } from "./host-api.js";
import { lambdaInvoke, type LambdaHandler } from "./lambda.js";
import { lambdaMessage, lambdaScheduled } from "./lambda-events.js";
import { toMessage, toScheduledEvent, type EventMeta } from "./trigger-events.js";
import type { GuestSocket, WebPlatform } from "./web/index.js";

export interface FunctionMeta {
  project: string;
  name: string;
  version: number;
  memoryMiB: number;
  timeoutMs: number;
}

interface Context {
  readonly requestId: string;
  /** The W3C trace this invocation belongs to (32 hex digits). */
  readonly traceId: string | undefined;
  /** W3C traceparent naming this invocation's span: send it on to continue the trace. */
  readonly traceparent: string | undefined;
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

type Env = Record<string, unknown>;
type FetchHandler = (request: Request, env: Env, ctx: Context) => unknown;
type EventHandler = (event: unknown, env: Env, ctx: Context) => unknown;

/** [status, headers, body, streamed, settled]: `streamed` 1 is a streamed body, 2 an accepted
 * WebSocket; `settled` 1 means no waitUntil work is left, so the host needs no `done` call. */
export type HostResult = [number, FlatHeaders, string | ArrayBuffer | null, 0 | 1 | 2, 0 | 1];

/**
 * Fields per invocation in a batch: seq, requestId, kind, then for HTTP (kind 0) method, url,
 * headers, body, sourceIp, and for an event (1 message, 2 scheduled) its meta as JSON, "",
 * headers, data, ""; then the deadline, then the invocation's traceparent ("" for none).
 */
export const BATCH_STRIDE = 10;
const KIND_HTTP = 0;
/** Microtask turns a batch waits for quick handlers before it returns. */
const QUICK_TURNS = 24;

type Bound =
  | {
      style: "module";
      self: object;
      fetch: FetchHandler | undefined;
      message: EventHandler | undefined;
      scheduled: EventHandler | undefined;
    }
  | { style: "lambda"; handler: LambdaHandler };

export function createDispatcher(hooks: HostHooks, web: WebPlatform) {
  let bound: Bound | undefined;
  let makeEnv: (seq: number) => Env = () => ({});
  let meta: FunctionMeta | undefined;
  const controllers = new Map<number, AbortController>();
  /** Open WebSockets by invocation: the invocation lasts until its socket closes. */
  const sockets = new Map<
    number,
    { socket: GuestSocket; requestId: string; pending: Array<Promise<unknown>> }
  >();

  /** Called once after the function's bundle ran; returns the triggers it handles
   * ("http,message,scheduled") or throws why none. */
  function bind(envJson: string, metaJson: string): string {
    makeEnv = envFactory(hooks, JSON.parse(envJson) as Record<string, string>);
    meta = JSON.parse(metaJson) as FunctionMeta;
    const exports = (globalThis as Record<string, unknown>)["__litefaas_fn"];
    delete (globalThis as Record<string, unknown>)["__litefaas_fn"];
    bound = pickHandler(exports);
    if (bound.style === "lambda") return "http,message,scheduled";
    const handles: string[] = [];
    if (bound.fetch !== undefined) handles.push("http");
    if (bound.message !== undefined) handles.push("message");
    if (bound.scheduled !== undefined) handles.push("scheduled");
    return handles.join(",");
  }

  /** Start every invocation of the batch; return [seq, 0, result | 1, [message, stack]]… for those done quickly. */
  async function dispatchBatch(flat: unknown[]): Promise<unknown[]> {
    const out: unknown[] = [];
    const count = flat.length / BATCH_STRIDE;
    let answered = 0;
    let open = true;
    for (let i = 0; i < flat.length; i += BATCH_STRIDE) {
      const seq = flat[i] as number;
      const kind = flat[i + 2] as number;
      (kind === KIND_HTTP
        ? dispatch(
            seq,
            flat[i + 1] as string,
            flat[i + 3] as string,
            flat[i + 4] as string,
            flat[i + 5] as FlatHeaders,
            flat[i + 6] as ArrayBuffer | null,
            flat[i + 7] as string,
            flat[i + 8] as number,
            flat[i + 9] as string,
          )
        : dispatchEvent(
            seq,
            flat[i + 1] as string,
            kind,
            flat[i + 3] as string,
            flat[i + 5] as FlatHeaders,
            flat[i + 6] as ArrayBuffer | null,
            flat[i + 8] as number,
            flat[i + 9] as string,
          )
      ).then(
        (result) => {
          answered++;
          if (open) out.push(seq, 0, result);
          else hooks.respond(seq, 0, result);
        },
        (error: unknown) => {
          answered++;
          const failure = describeError(error);
          if (open) out.push(seq, 1, failure);
          else hooks.respond(seq, 1, failure);
        },
      );
    }
    for (let turn = 0; turn < QUICK_TURNS && answered < count; turn++) await Promise.resolve();
    open = false;
    return out;
  }

  async function dispatch(
    seq: number,
    requestId: string,
    method: string,
    url: string,
    headers: FlatHeaders,
    body: ArrayBuffer | null,
    sourceIp: string,
    deadline: number,
    traceparent: string,
  ): Promise<HostResult> {
    if (bound === undefined || meta === undefined) throw new Error("function is not bound");
    const controller = new AbortController();
    controllers.set(seq, controller);
    const pending: Array<Promise<unknown>> = [];
    const ctx = contextFor(requestId, pending, traceparent);
    let streaming = false;
    try {
      const request = web.requestFromHost(method, url, headers, body, controller.signal);
      const b = bound;
      if (b.style === "module" && b.fetch === undefined) {
        throw new TypeError(
          "this function has no fetch handler, so it does not answer HTTP; add async fetch(request, env, ctx) to its default export",
        );
      }
      const fetchHandler = b.style === "module" ? b.fetch : undefined;
      const result = await web.withRequest(requestId, () =>
        b.style === "module" && fetchHandler !== undefined
          ? fetchHandler.call(b.self, request, makeEnv(seq), ctx)
          : b.style === "lambda"
            ? lambdaInvoke(b.handler, request, {
                requestId,
                sourceIp,
                deadline,
                meta: meta as FunctionMeta,
              })
            : undefined,
      );
      if (!web.isResponse(result)) {
        throw new TypeError(
          `the fetch handler returned ${describe(result)} instead of a Response; return new Response(body, init)`,
        );
      }
      const flat = web.headersForHost(result.headers);
      const socket = web.serverSocketOf(result);
      if (socket !== undefined) {
        controllers.delete(seq);
        sockets.set(seq, { socket, requestId, pending });
        web.connectSocket(socket, {
          send: (data) => hooks.socket(seq, 0, data, 0, ""),
          close: (code, reason) => hooks.socket(seq, 1, null, code, reason),
        });
        streaming = true;
        return [101, flat, null, 2, 0];
      }
      const out = web.bodyForHost(result);
      if (out !== null && typeof out === "object" && !(out instanceof ArrayBuffer)) {
        streaming = true;
        void pump(seq, requestId, out, pending);
        return [result.status, flat, null, 1, 0];
      }
      controllers.delete(seq);
      if (pending.length === 0) return [result.status, flat, out, 0, 1];
      finish(seq, pending);
      return [result.status, flat, out, 0, 0];
    } catch (error) {
      if (!streaming) {
        controllers.delete(seq);
        if (pending.length > 0) finish(seq, pending);
      }
      throw error;
    }
  }

  /** A message or a cron tick: the handler's return acknowledges it, a throw fails it. */
  async function dispatchEvent(
    seq: number,
    requestId: string,
    kind: number,
    metaJson: string,
    headers: FlatHeaders,
    data: ArrayBuffer | null,
    deadline: number,
    traceparent: string,
  ): Promise<HostResult> {
    if (bound === undefined || meta === undefined) throw new Error("function is not bound");
    const pending: Array<Promise<unknown>> = [];
    const ctx = contextFor(requestId, pending, traceparent);
    const event = JSON.parse(metaJson) as EventMeta;
    const b = bound;
    const fnMeta = meta;
    try {
      await web.withRequest(requestId, () => {
        if (kind === 1) {
          const message = toMessage(event, headers, data);
          if (b.style === "lambda") {
            return lambdaMessage(
              b.handler,
              event,
              message.headers,
              new Uint8Array(data ?? new ArrayBuffer(0)),
              { requestId, deadline, meta: fnMeta },
            );
          }
          if (b.message === undefined)
            throw new TypeError(
              "this function has no message handler; add async message(msg, env, ctx) to its default export",
            );
          return b.message.call(b.self, message, makeEnv(seq), ctx);
        }
        const scheduled = toScheduledEvent(event);
        if (b.style === "lambda")
          return lambdaScheduled(b.handler, scheduled, { requestId, deadline, meta: fnMeta });
        if (b.scheduled === undefined)
          throw new TypeError(
            "this function has no scheduled handler; add async scheduled(event, env, ctx) to its default export",
          );
        return b.scheduled.call(b.self, scheduled, makeEnv(seq), ctx);
      });
    } finally {
      if (pending.length > 0) finish(seq, pending);
    }
    return [204, [], null, 0, pending.length === 0 ? 1 : 0];
  }

  async function pump(
    seq: number,
    requestId: string,
    stream: ReadableStream<Uint8Array>,
    pending: Array<Promise<unknown>>,
  ) {
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const chunk: unknown = value;
        if (typeof chunk === "string") await hooks.emit(seq, chunk);
        else if (chunk instanceof Uint8Array) await hooks.emit(seq, toArrayBuffer(chunk));
        else if (chunk instanceof ArrayBuffer) await hooks.emit(seq, chunk);
        else
          throw new TypeError(
            `a response stream yielded ${describe(chunk)}; yield Uint8Array or string chunks`,
          );
      }
      await hooks.emit(seq, null);
    } catch (error) {
      logError(requestId, error);
      await hooks
        .emit(seq, null, error instanceof Error ? error.message : String(error))
        .catch(() => undefined);
      reader.cancel(error).catch(() => undefined);
    } finally {
      controllers.delete(seq);
      finish(seq, pending);
    }
  }

  /**
   * ctx of one invocation: its ctx.waitUntil promises collect in `pending`; `traceparent` is the
   * one the host made for it ("00-<trace id>-<its span>-<flags>").
   */
  function contextFor(
    requestId: string,
    pending: Array<Promise<unknown>>,
    traceparent: string,
  ): Context {
    return {
      requestId,
      traceId: traceparent === "" ? undefined : traceparent.slice(3, 35),
      traceparent: traceparent === "" ? undefined : traceparent,
      waitUntil: (promise) => {
        pending.push(
          Promise.resolve(promise).catch((error: unknown) => logError(requestId, error)),
        );
      },
      passThroughOnException: () => undefined,
    };
  }

  function finish(seq: number, pending: Array<Promise<unknown>>) {
    if (pending.length === 0) hooks.done(seq);
    else void Promise.allSettled(pending).then(() => hooks.done(seq));
  }

  function abort(seq: number, reason: string): void {
    controllers.get(seq)?.abort(new AbortReason(reason));
  }

  /** From the host: a client's message (kind 0) to invocation `seq`'s WebSocket, or its close (1). */
  function socketEvent(
    seq: number,
    kind: number,
    data: string | ArrayBuffer | null,
    code: number,
    reason: string,
  ): void {
    const open = sockets.get(seq);
    if (open === undefined) return;
    web.withRequest(open.requestId, () => {
      if (kind === 0) web.socketMessage(open.socket, data ?? "");
      else {
        sockets.delete(seq);
        web.socketClosed(open.socket, code, reason);
      }
    });
    // calls the close listeners made (env.kv.put(…)) reach the host before the invocation ends;
    // later async work needs ctx.waitUntil, as after any response
    if (kind !== 0) void hooks.sleep(0).then(() => finish(seq, open.pending));
  }

  function logError(requestId: string, error: unknown) {
    hooks.log("error", requestId, `Uncaught (in waitUntil or stream) ${describeError(error)[1]}`);
  }

  return { bind, dispatchBatch, abort, socketEvent };
}

/**
 * A function's env for one invocation: its manifest variables as own properties (what
 * Object.keys shows), and its bindings as getters made on first use, tied to the invocation so
 * the host can refuse calls that outlive it.
 */
function envFactory(hooks: HostHooks, vars: Record<string, string>): (seq: number) => Env {
  class InvocationEnv {
    #seq: number;
    #kv: unknown;
    #sql: unknown;
    #events: unknown;
    constructor(seq: number) {
      this.#seq = seq;
      Object.assign(this, vars);
    }
    get kv(): unknown {
      return (this.#kv ??= createKv(bindingCaller(hooks, this.#seq, "kv")));
    }
    get sql(): unknown {
      return (this.#sql ??= createSql(bindingCaller(hooks, this.#seq, "sql")));
    }
    get events(): unknown {
      return (this.#events ??= createEvents(bindingCaller(hooks, this.#seq, "events")));
    }
  }
  return (seq) => new InvocationEnv(seq) as unknown as Env;
}

/** [message, stack-or-message] of anything thrown. */
function describeError(error: unknown): [string, string] {
  if (error instanceof Error) {
    const message = `${error.name}: ${error.message}`;
    return [
      message,
      typeof error.stack === "string" && error.stack.length > 0 ? error.stack : message,
    ];
  }
  const text = `Uncaught ${typeof error === "string" ? error : describe(error)}`;
  return [text, text];
}

function pickHandler(exports: unknown): Bound {
  const mod = (exports ?? {}) as Record<string, unknown>;
  const def = mod["default"];
  if (def !== null && typeof def === "object") {
    const handler = (name: string) => {
      const value = (def as Record<string, unknown>)[name];
      return typeof value === "function" ? value : undefined;
    };
    const fetch = handler("fetch") as FetchHandler | undefined;
    const message = handler("message") as EventHandler | undefined;
    const scheduled = handler("scheduled") as EventHandler | undefined;
    if (fetch !== undefined || message !== undefined || scheduled !== undefined)
      return { style: "module", self: def, fetch, message, scheduled };
  }
  if (typeof mod["handler"] === "function")
    return { style: "lambda", handler: mod["handler"] as LambdaHandler };
  if (typeof def === "function") {
    throw new Error(
      "the default export is a function; export default { fetch(request, env, ctx) { … } } (or message / scheduled handlers) or export const handler = async (event, context) => { … }",
    );
  }
  throw new Error(
    'the function exports no handler; add export default { async fetch(request, env, ctx) { return new Response("hi") } } (or message(msg, env, ctx) / scheduled(event, env, ctx)), or export const handler = async (event, context) => { … }',
  );
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer;
  }
  return bytes.slice().buffer;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return `a ${typeof value}`;
}

/** The abort reason a client disconnect or timeout gives the request's signal. */
class AbortReason extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AbortError";
  }
}
