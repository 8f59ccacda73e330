// The contract between the guest (code running inside a V8 isolate) and the host (Node).
// The guest never sees a host object: it gets isolated-vm References, one per hook, and
// wraps them into this interface once at install. Every value crossing is copied.

export type LogLevel = "debug" | "info" | "log" | "warn" | "error";

/** A flat header list as Node's `rawHeaders`: [name, value, name, value, …]. */
export type FlatHeaders = string[];

/** What an outbound fetch resolves to on the host: [status, statusText, headers, body, finalUrl]. */
export type FetchResult = [number, string, FlatHeaders, ArrayBuffer, string];

/** Hooks the host provides; the web platform layer and the dispatcher use only these. */
export interface HostHooks {
  /** Fire-and-forget: a console line of the invocation `requestId` ("" when outside one). */
  log(level: LogLevel, requestId: string, message: string): void;
  /** Resolves after `ms` milliseconds (host timer); the basis of setTimeout/setInterval. */
  sleep(ms: number): Promise<void>;
  /** Outbound HTTP through the host's egress policy. Rejects with a message on refusal. */
  fetch(
    requestId: string,
    method: string,
    url: string,
    headers: FlatHeaders,
    body: ArrayBuffer | null,
  ): Promise<FetchResult>;
  /** crypto.subtle: `op` is the SubtleCrypto method name; keys cross as numeric handles. */
  crypto(op: string, args: unknown[]): Promise<unknown>;
  /** Synchronous CSPRNG bytes (used to refill the guest's entropy pool). */
  randomBytes(length: number): ArrayBuffer;
  /** One chunk of a streamed response body; `null` ends it, `error` aborts it. Resolves when the host took it. */
  emit(seq: number, chunk: ArrayBuffer | string | null, error?: string): Promise<void>;
  /** Fire-and-forget: invocation `seq`'s response and every ctx.waitUntil promise have settled. */
  done(seq: number): void;
  /** A binding call (kv, sql, events) made by invocation `seq`: resolves [0, value] or [1, errorName, message]. */
  binding(seq: number, binding: string, op: string, args: unknown[]): Promise<unknown>;
  /** Fire-and-forget: the late answer of invocation `seq` (kind 0: result, 1: [message, stack]). */
  respond(seq: number, kind: 0 | 1, payload: unknown): void;
  /** Fire-and-forget: invocation `seq`'s WebSocket sends a message (op 0) or closes (op 1). */
  socket(
    seq: number,
    op: 0 | 1,
    data: string | ArrayBuffer | null,
    code: number,
    reason: string,
  ): void;
}

/** The minimal surface of an isolated-vm Reference as seen from inside the isolate. */
export interface IvmReference {
  apply(
    receiver: undefined,
    args: unknown[],
    options?: { arguments?: { copy?: boolean }; result?: { promise?: boolean; copy?: boolean } },
  ): Promise<unknown>;
  applySync(
    receiver: undefined,
    args: unknown[],
    options?: { arguments?: { copy?: boolean }; result?: { copy?: boolean } },
  ): unknown;
  applyIgnored(
    receiver: undefined,
    args: unknown[],
    options?: { arguments?: { copy?: boolean } },
  ): void;
}
