// The Web platform inside an isolate: what a Cloudflare Workers user expects to find on
// globalThis, built only on the HostHooks (the guest never touches isolated-vm itself).
import type { FlatHeaders, HostHooks } from "../host-api.js";
import { AbortController, AbortSignal } from "./abort.js";
import { atob, btoa } from "./base64.js";
import { Blob, File } from "./blob.js";
import { createConsole, uncaughtMessage } from "./console.js";
import { Crypto, createCrypto } from "./crypto.js";
import { DOMException } from "./dom-exception.js";
import { TextDecoder, TextEncoder } from "./encoding.js";
import { TextDecoderStream, TextEncoderStream } from "./encoding-streams.js";
import { CustomEvent, Event, EventTarget } from "./events.js";
import { createFetch } from "./fetch.js";
import { FormData } from "./form-data.js";
import { Headers, flattenHeaders } from "./headers.js";
import { Request, requestFromHost } from "./request.js";
import { withRequest } from "./request-context.js";
import { Response, responseBodyForHost } from "./response.js";
import type {
  PlatformAbortSignal,
  PlatformHeaders,
  PlatformRequest,
  PlatformResponse,
} from "./platform-types.js";
import { installServices } from "./services.js";
import * as streams from "./streams.js";
import { markUncloneable, structuredClone } from "./structured-clone.js";
import { CryptoKey, SubtleCrypto } from "./subtle.js";
import { createTimers } from "./timers.js";
import { CORE_JS_SHARED_GLOBAL, URL, URLSearchParams } from "./url.js";
import {
  CloseEvent,
  MessageEvent,
  WebSocket,
  WebSocketPair,
  acceptedServerHalf,
  connectSocket,
  socketClosed,
  socketMessage,
  type SocketSink,
} from "./websocket.js";

export type {
  PlatformAbortSignal,
  PlatformHeaders,
  PlatformRequest,
  PlatformResponse,
} from "./platform-types.js";

export interface WebPlatform {
  /** Build the Request a function sees from host data; headers are parsed on first use. */
  requestFromHost(
    method: string,
    url: string,
    headers: FlatHeaders,
    body: ArrayBuffer | null,
    signal: PlatformAbortSignal,
  ): PlatformRequest;
  /** The cheapest form of a Response body for the host: string or ArrayBuffer when in memory, the stream when streamed, null when none. Consumes the body. */
  bodyForHost(
    response: PlatformResponse,
  ): string | ArrayBuffer | streams.ReadableStream<Uint8Array> | null;
  /** Response headers as a flat list, every Set-Cookie kept separate. */
  headersForHost(headers: PlatformHeaders): FlatHeaders;
  isResponse(value: unknown): value is PlatformResponse;
  /** Run `fn` with `requestId` as the console's current invocation (used for log attribution). */
  withRequest<T>(requestId: string, fn: () => T): T;
  /** The accepted server half of a 101 answer's WebSocketPair; undefined for other answers. */
  serverSocketOf(response: PlatformResponse): GuestSocket | undefined;
  connectSocket(socket: GuestSocket, sink: SocketSink): void;
  socketMessage(socket: GuestSocket, data: string | ArrayBuffer): void;
  socketClosed(socket: GuestSocket, code: number, reason: string): void;
}

/** A function's server half of a WebSocket, as the dispatcher holds it. */
export type GuestSocket = WebSocket;
export type { SocketSink } from "./websocket.js";

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** Define the Web platform on globalThis. Call once per isolate, before any user code runs. */
export function installWebPlatform(hooks: HostHooks): WebPlatform {
  const console = createConsole(hooks);
  const reportError = (error: unknown): void => console.error(uncaughtMessage(error));
  const timers = createTimers(hooks, reportError);
  installServices({ setTimeout: (callback, ms) => timers.setTimeout(callback, ms), reportError });
  const timeOrigin = Date.now();

  markUncloneable(
    Headers,
    Request,
    Response,
    FormData,
    AbortController,
    AbortSignal,
    EventTarget,
    Event,
    WebSocket,
    CryptoKey,
    streams.ReadableStream,
    streams.WritableStream,
    streams.TransformStream,
  );
  addInspectors();

  const globals: Record<string, unknown> = {
    self: globalThis,
    console,
    crypto: createCrypto(hooks),
    fetch: createFetch(hooks),
    navigator: Object.freeze({ userAgent: "litefaas", hardwareConcurrency: 1 }),
    performance: Object.freeze({ timeOrigin, now: () => Date.now() - timeOrigin }),
    ...timers,
    atob,
    btoa,
    structuredClone,
    reportError,
    Headers,
    Request,
    Response,
    Blob,
    File,
    FormData,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    TextEncoderStream,
    TextDecoderStream,
    AbortController,
    AbortSignal,
    Event,
    EventTarget,
    CustomEvent,
    MessageEvent,
    CloseEvent,
    WebSocket,
    WebSocketPair,
    DOMException,
    Crypto,
    CryptoKey,
    SubtleCrypto,
    ...streams.streamGlobals,
  };
  for (const [name, value] of Object.entries(globals)) {
    // Minifiers rename classes and functions; user code sees the names browsers have.
    if (typeof value === "function" && value.name !== name)
      Object.defineProperty(value, "name", { value: name, configurable: true });
    Object.defineProperty(globalThis, name, {
      value,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  Reflect.deleteProperty(globalThis, CORE_JS_SHARED_GLOBAL);

  // The contract's types are the global ones; the objects crossing it are this layer's classes
  // (the globals), so each boundary checks the class and converts the static type.
  return {
    requestFromHost(method, url, headers, body, signal) {
      const own = ownInstance(signal, AbortSignal, "signal");
      return requestFromHost(method, url, headers, body, own) as unknown as PlatformRequest;
    },
    bodyForHost: (response) => responseBodyForHost(ownInstance(response, Response, "response")),
    headersForHost: (headers) => flattenHeaders(ownInstance(headers, Headers, "headers")),
    isResponse: (value): value is PlatformResponse => value instanceof Response,
    withRequest,
    serverSocketOf: (response) => {
      const own = ownInstance(response, Response, "response");
      return own.status === 101 ? acceptedServerHalf(own.webSocket) : undefined;
    },
    connectSocket,
    socketMessage,
    socketClosed,
  };
}

function ownInstance<T>(
  value: unknown,
  type: abstract new (...args: never[]) => T,
  what: string,
): T {
  if (!(value instanceof type))
    throw new TypeError(`${what} is not a ${type.name} of this platform`);
  return value;
}

/** core-js and the streams polyfill keep their state in internals; console shows what browsers show. */
function addInspectors(): void {
  const inspectors: [object, (this: never) => unknown][] = [
    [
      URL.prototype,
      function (this: URL) {
        return {
          href: this.href,
          origin: this.origin,
          pathname: this.pathname,
          search: this.search,
          hash: this.hash,
        };
      },
    ],
    [
      URLSearchParams.prototype,
      function (this: URLSearchParams) {
        return Object.fromEntries(this);
      },
    ],
    [
      streams.ReadableStream.prototype,
      function (this: streams.ReadableStream<unknown>) {
        return { locked: this.locked };
      },
    ],
    [
      streams.WritableStream.prototype,
      function (this: streams.WritableStream<unknown>) {
        return { locked: this.locked };
      },
    ],
    [
      streams.TransformStream.prototype,
      function (this: streams.TransformStream<unknown, unknown>) {
        return { readable: this.readable, writable: this.writable };
      },
    ],
  ];
  for (const [prototype, inspector] of inspectors) {
    Object.defineProperty(prototype, INSPECT, {
      value: inspector,
      configurable: true,
      writable: true,
    });
  }
}
