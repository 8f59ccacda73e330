// A prepared isolate: created, Web platform bootstrap already run, host hooks installed, but not
// yet bound to any function. Preparing is the expensive part of a cold start (~2–13 ms), so the
// supply keeps some ready ahead of demand; binding one to a function is what remains (~0.3 ms).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type {
  CachedDataResult,
  Context,
  ExternalCopy,
  Isolate,
  Reference,
  Script,
} from "isolated-vm";
import type { FetchResult, LogLevel } from "./guest/host-api.js";
import { BindingAnswers } from "./binding-answers.js";
import { ivm } from "./ivm.js";

/** The per-isolate half of every hook; rebound when the isolate is given to a function. */
export interface HostState {
  onLog(level: LogLevel, requestId: string, message: string): void;
  fetch(
    requestId: string,
    method: string,
    url: string,
    headers: string[],
    body: ArrayBuffer | null,
  ): Promise<FetchResult>;
  crypto(op: string, args: unknown[]): Promise<unknown>;
  emit(seq: number, chunk: ArrayBuffer | string | null, error?: string): Promise<void>;
  onDone(seq: number): void;
  onRespond(seq: number, kind: 0 | 1, payload: unknown): void;
  binding(seq: number, binding: string, op: string, args: unknown[]): Promise<unknown>;
  /** Invocation `seq`'s WebSocket: a message to send (op 0) or a close (op 1). */
  onSocket(
    seq: number,
    op: 0 | 1,
    data: string | ArrayBuffer | null,
    code: number,
    reason: string,
  ): void;
}

export interface PreparedIsolate {
  readonly isolate: Isolate;
  readonly context: Context;
  readonly memoryMiB: number;
  readonly bind: Reference;
  readonly dispatch: Reference;
  readonly abort: Reference;
  /** (seq, kind 0 message | 1 close, data, code, reason): a client's frames for the guest. */
  readonly socketEvent: Reference;
  state: HostState;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_RANDOM = 65_536;

let bootstrap: { source: string; cachedData?: ExternalCopy<ArrayBuffer> } | undefined;

function bootstrapSource() {
  if (bootstrap === undefined) {
    const path = fileURLToPath(new URL("../../../guest/bootstrap.js", import.meta.url));
    bootstrap = { source: readFileSync(path, "utf8") };
  }
  return bootstrap;
}

const unbound: HostState = {
  onLog: () => undefined,
  fetch: () => Promise.reject(new Error("fetch is not available outside an invocation")),
  crypto: () =>
    Promise.reject(new Error("crypto.subtle is not available before the function is bound")),
  emit: () => Promise.resolve(),
  onDone: () => undefined,
  onRespond: () => undefined,
  binding: () =>
    Promise.resolve([1, "Error", "bindings are not available before the function is bound"]),
  onSocket: () => undefined,
};

/**
 * isolated-vm subscribes to a hook's promise only after a thread hop; a promise that is already
 * rejected by then would count as unhandled and bring the process down. Mark it handled here;
 * the guest still receives the rejection.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

export async function prepareIsolate(memoryMiB: number): Promise<PreparedIsolate> {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMiB });
  try {
    const context = await isolate.createContext();
    const boot = bootstrapSource();
    // V8's code cache for the bootstrap: produced by the first isolate, reused by every other.
    const script: Script & CachedDataResult = await isolate.compileScript(
      boot.source,
      boot.cachedData === undefined
        ? { filename: "litefaas:bootstrap", produceCachedData: true }
        : { filename: "litefaas:bootstrap", cachedData: boot.cachedData },
    );
    if (boot.cachedData === undefined && script.cachedData !== undefined) {
      boot.cachedData = script.cachedData;
    }
    await script.run(context);
    script.release();

    const prepared: { state: HostState } = { state: unbound };
    const answers = new BindingAnswers(isolate);
    const hooks = [
      (level: LogLevel, requestId: string, message: string) =>
        prepared.state.onLog(level, requestId, message),
      (ms: unknown) =>
        new Promise<void>((resolve) =>
          setTimeout(resolve, Math.min(Math.max(Number(ms) || 0, 0), MAX_TIMER_MS)).unref(),
        ),
      (
        requestId: string,
        method: string,
        url: string,
        headers: string[],
        body: ArrayBuffer | null,
      ) => handled(prepared.state.fetch(requestId, method, url, headers, body)),
      (op: string, args: unknown[]) => handled(prepared.state.crypto(op, args)),
      (length: unknown) => {
        const n = Math.min(Math.max(Math.floor(Number(length) || 0), 0), MAX_RANDOM);
        const bytes = randomBytes(n);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n);
      },
      (seq: number, chunk: ArrayBuffer | string | null, error?: string) =>
        handled(prepared.state.emit(seq, chunk, error)),
      (seq: number) => prepared.state.onDone(seq),
      (seq: number, kind: 0 | 1, payload: unknown) => prepared.state.onRespond(seq, kind, payload),
      (calls: unknown[]) => {
        answers.run(calls, (seq, binding, op, args) =>
          prepared.state.binding(seq, binding, op, args),
        );
      },
      (seq: number, op: 0 | 1, data: string | ArrayBuffer | null, code: number, reason: string) =>
        prepared.state.onSocket(seq, op, data, code, reason),
    ].map((fn) => new ivm.Reference(fn));

    const install: Reference = await context.global.get("__lf_install", { reference: true });
    await install.apply(undefined, hooks);
    const take = async (name: string) => {
      const ref: Reference = await context.global.get(name, { reference: true });
      await context.global.delete(name);
      return ref;
    };
    const bind = await take("__lf_bind");
    const dispatch = await take("__lf_dispatch");
    const abort = await take("__lf_abort");
    const socketEvent = await take("__lf_socket_event");
    answers.connect(await take("__lf_binding_answers"));
    await context.global.delete("__lf_install");
    const warm: Reference = await context.global.get("__lf_warm", { reference: true });
    await context.global.delete("__lf_warm");
    await warm.apply(undefined, [], { result: { promise: true } });
    return Object.assign(prepared, {
      isolate,
      context,
      memoryMiB,
      bind,
      dispatch,
      abort,
      socketEvent,
    });
  } catch (error) {
    if (!isolate.isDisposed) isolate.dispose();
    throw error;
  }
}
