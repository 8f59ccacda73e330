// What every runtime (V8 isolates today, sandboxed processes later) offers the scheduler.
import type { FunctionConfig } from "../shared/manifest/types.js";

/** A deployed, immutable function version: what the scheduler asks a runtime to run. */
export interface FunctionVersion {
  project: string;
  name: string;
  version: number;
  config: FunctionConfig;
  /** Blob key of the bundled code. */
  artifact: string;
}

export interface InvocationRequest {
  id: string;
  method: string;
  /** Absolute URL as the function sees it (mount prefix already stripped). */
  url: string;
  /** Flat [name, value, …] list, as Node's rawHeaders. */
  headers: string[];
  body: Uint8Array | null;
  sourceIp: string;
  /** Set by the runtime, called by the gateway when the client goes away (cheaper than an AbortSignal). */
  cancel?: { onCancel: ((reason?: string) => void) | undefined };
  /** A message or a cron tick for the function's message / scheduled handler, instead of HTTP. */
  event?: TriggerEvent;
  /** An HTTP request that did not come straight from a client: queued (async) or replayed. */
  trigger?: "async" | "replay";
  /** Which try this is of queued work (1 on the first). */
  attempt?: number;
  /** W3C traceparent naming the invocation's span (for a tick, which has no headers to carry it). */
  traceparent?: string | undefined;
}

/** What a function can be invoked by: its fetch, message and scheduled handlers. */
export type TriggerKind = "http" | "message" | "scheduled";

export type TriggerEvent =
  | {
      kind: "message";
      id: string;
      subject: string;
      data: Uint8Array;
      headers: Record<string, string>;
      attempt: number;
      publishedAt: number;
    }
  | { kind: "scheduled"; cron: string; scheduledTime: number; attempt: number };

export type ResponseBody = string | Uint8Array | null | AsyncIterable<string | Uint8Array>;

/** The client's end of a WebSocket a function accepted, as the gateway drives it. */
export interface SocketPeer {
  send(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

/** A WebSocket a function accepted (a 101 answer): the gateway connects it to the client. */
export interface FunctionSocket {
  /** From now on the function's messages and its close go to `peer` (earlier ones first). */
  attach(peer: SocketPeer): void;
  /** A message from the client. */
  deliver(data: string | Uint8Array): void;
  /** The client's side closed: with its close frame's code, or 1006 without one. */
  closed(code: number, reason: string): void;
}

export interface InvocationResponse {
  status: number;
  headers: string[];
  body: ResponseBody;
  /** On a 101 answer: the WebSocket the function accepted. */
  webSocket?: FunctionSocket;
  /** True when this invocation started a new instance. */
  coldStart: boolean;
  /** Cold starts: how long this invocation waited for its new instance to be ready (ms). */
  initMs?: number;
  /** The instance's peak memory as last measured, where the runtime measures it. */
  memoryPeakBytes?: number;
}

export interface Instance {
  readonly id: string;
  readonly inflight: number;
  readonly alive: boolean;
  /** Alive and fit for new work (false while a timed-out invocation is being looked into). */
  readonly accepting: boolean;
  /** ms epoch of the last invocation start or end. */
  readonly lastUsed: number;
  /** The triggers the function's code has handlers for. */
  readonly handles: ReadonlySet<TriggerKind>;
  /** WebSockets open on it: they keep it from being swept as idle. */
  readonly sockets: number;
  /** Its peak memory as last measured, where the runtime can measure it. */
  readonly memoryPeakBytes?: number | undefined;
  invoke(request: InvocationRequest): Promise<Omit<InvocationResponse, "coldStart">>;
  /** Stop at once; in-flight invocations fail with INSTANCE_RESET. */
  dispose(): void;
}

export interface Runtime {
  /** Make an instance of `fn` ready to serve (the cold start). */
  createInstance(fn: FunctionVersion): Promise<Instance>;
  /** Invocations one instance of `fn` serves at once, when the runtime decides (a process: 1). */
  perInstance?(fn: FunctionVersion): number;
  /** Check that code loads and exports a handler, in a scratch instance; throws why not. */
  verify(fn: FunctionVersion): Promise<void>;
  close(): Promise<void>;
}
