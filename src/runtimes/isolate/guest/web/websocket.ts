// WebSocketPair and WebSocket as Workers has them: the function keeps the server half, calls
// accept(), and returns the client half in `new Response(null, { status: 101, webSocket })`.
// The host then carries frames between the server half and the real client.
import { DOMException } from "./dom-exception.js";
import { Event, type EventInit, EventTarget, dispatchTrusted } from "./events.js";

/** Where an accepted server half's frames go once the host has the connection. */
export interface SocketSink {
  send(data: string | ArrayBuffer): void;
  close(code: number, reason: string): void;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** A close frame's reason is at most 123 bytes (RFC 6455, 5.5). */
const MAX_REASON_BYTES = 123;

export interface MessageEventInit<T> extends EventInit {
  data?: T;
}

export class MessageEvent<T = unknown> extends Event {
  readonly #data: T | null;
  constructor(type: string, init?: MessageEventInit<T>) {
    super(type, init);
    this.#data = init?.data ?? null;
  }
  get data(): T | null {
    return this.#data;
  }
}

export interface CloseEventInit extends EventInit {
  code?: number;
  reason?: string;
  wasClean?: boolean;
}

export class CloseEvent extends Event {
  readonly #code: number;
  readonly #reason: string;
  readonly #wasClean: boolean;
  constructor(type: string, init?: CloseEventInit) {
    super(type, init);
    this.#code = init?.code ?? 0;
    this.#reason = init?.reason ?? "";
    this.#wasClean = init?.wasClean ?? false;
  }
  get code(): number {
    return this.#code;
  }
  get reason(): string {
    return this.#reason;
  }
  get wasClean(): boolean {
    return this.#wasClean;
  }
}

type Handler = ((event: Event) => unknown) | null;
type Outgoing =
  { kind: "send"; data: string | ArrayBuffer } | { kind: "close"; code: number; reason: string };

let makePair: () => [WebSocket, WebSocket];
/** Only WebSocketPair makes WebSockets. */
let constructing = false;
let isClientHalf: (socket: WebSocket) => boolean;
let serverHalfOf: (client: WebSocket) => WebSocket | undefined;
let connect: (server: WebSocket, sink: SocketSink) => void;
let receive: (server: WebSocket, data: string | ArrayBuffer) => void;
let closed: (server: WebSocket, code: number, reason: string) => void;

export class WebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  #state = CONNECTING;
  #client = false;
  #pair: WebSocket | undefined;
  #sink: SocketSink | undefined;
  /** What the function sent before the host took the connection. */
  #outgoing: Outgoing[] = [];
  /** on<type> handlers: the user's function, and the listener that calls it. */
  #handlers = new Map<string, { handler: Handler; listener: (event: Event) => unknown }>();

  constructor() {
    super();
    if (!constructing) {
      throw new TypeError(
        "a function does not open WebSockets: accept one with const [client, server] = Object.values(new WebSocketPair())",
      );
    }
  }

  get readyState(): number {
    return this.#state;
  }
  get url(): string | null {
    return null;
  }
  get protocol(): string {
    return "";
  }
  get extensions(): string {
    return "";
  }
  get binaryType(): "arraybuffer" {
    return "arraybuffer";
  }
  set binaryType(value: string) {
    if (value !== "arraybuffer")
      throw new TypeError('binary messages arrive as ArrayBuffer: binaryType is "arraybuffer"');
  }
  get bufferedAmount(): number {
    return 0;
  }

  /** Take the server half's events from now on; needed before send() and before returning it. */
  accept(): void {
    if (this.#client) {
      throw new TypeError(
        "accept() is for the server half: keep server and return client in new Response(null, { status: 101, webSocket: client })",
      );
    }
    if (this.#state !== CONNECTING) throw new TypeError("this WebSocket was already accepted");
    this.#state = OPEN;
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.#state === CONNECTING)
      throw new TypeError("call accept() on the server half before send()");
    if (this.#state !== OPEN) throw new TypeError("send() after close(): the WebSocket is closed");
    const payload =
      typeof data === "string"
        ? data
        : data instanceof ArrayBuffer
          ? data.slice(0)
          : ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer
            : undefined;
    if (payload === undefined)
      throw new TypeError("send() takes a string, an ArrayBuffer or a typed array");
    this.#out({ kind: "send", data: payload });
  }

  close(code?: number, reason?: string): void {
    // WebIDL's [Clamp] unsigned short: what the host sends is a whole number
    const given = code === undefined ? undefined : clampShort(code);
    if (given !== undefined && !(given === 1000 || (given >= 3000 && given <= 4999))) {
      throw new DOMException(
        `close code ${code} is not allowed: use 1000 or one from 3000 to 4999`,
        "InvalidAccessError",
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- user code may pass anything
    const text = reason === undefined ? "" : String(reason);
    if (new TextEncoder().encode(text).byteLength > MAX_REASON_BYTES)
      throw new DOMException("the close reason is over 123 bytes", "SyntaxError");
    if (this.#state === CLOSING || this.#state === CLOSED) return;
    if (this.#state === CONNECTING) throw new TypeError("call accept() before close()");
    this.#state = CLOSING;
    this.#out({ kind: "close", code: given ?? 1000, reason: text });
  }

  get onmessage(): Handler {
    return this.#handlers.get("message")?.handler ?? null;
  }
  set onmessage(handler: Handler) {
    this.#setHandler("message", handler);
  }
  get onclose(): Handler {
    return this.#handlers.get("close")?.handler ?? null;
  }
  set onclose(handler: Handler) {
    this.#setHandler("close", handler);
  }
  get onerror(): Handler {
    return this.#handlers.get("error")?.handler ?? null;
  }
  set onerror(handler: Handler) {
    this.#setHandler("error", handler);
  }
  get onopen(): Handler {
    return this.#handlers.get("open")?.handler ?? null;
  }
  set onopen(handler: Handler) {
    this.#setHandler("open", handler);
  }

  /** An on<type> handler is a listener of its own, apart from any added with addEventListener. */
  #setHandler(type: string, handler: Handler) {
    const previous = this.#handlers.get(type);
    if (previous !== undefined) {
      this.removeEventListener(type, previous.listener);
      this.#handlers.delete(type);
    }
    if (typeof handler !== "function") return;
    const listener = (event: Event) => handler.call(this, event);
    this.#handlers.set(type, { handler, listener });
    this.addEventListener(type, listener);
  }

  #out(op: Outgoing) {
    const sink = this.#sink;
    if (sink === undefined) this.#outgoing.push(op);
    else if (op.kind === "send") sink.send(op.data);
    else sink.close(op.code, op.reason);
  }

  static {
    isClientHalf = (socket) => socket.#client;
    serverHalfOf = (client) => (client.#client ? client.#pair : undefined);
    connect = (server, sink) => {
      server.#sink = sink;
      for (const op of server.#outgoing.splice(0)) server.#out(op);
    };
    receive = (server, data) => {
      if (server.#state !== OPEN) return;
      dispatchTrusted(server, new MessageEvent("message", { data }));
    };
    closed = (server, code, reason) => {
      if (server.#state === CLOSED) return;
      server.#state = CLOSED;
      if (code === 1006) dispatchTrusted(server, new Event("error"));
      dispatchTrusted(server, new CloseEvent("close", { code, reason, wasClean: code !== 1006 }));
    };
  }

  static {
    makePair = () => {
      constructing = true;
      try {
        const client = new WebSocket();
        const server = new WebSocket();
        client.#client = true;
        client.#pair = server;
        server.#pair = client;
        return [client, server];
      } finally {
        constructing = false;
      }
    };
  }
}
Object.defineProperty(WebSocket.prototype, Symbol.toStringTag, {
  value: "WebSocket",
  configurable: true,
});
// the ready states are on instances too (server.OPEN), as browsers have them
for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED }))
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });

/** WebIDL [Clamp] unsigned short: clamped to 0..65535, rounded half to even. */
function clampShort(value: unknown): number {
  const n = Math.min(Math.max(Number(value), 0), 65_535);
  if (Number.isNaN(n)) return 0;
  const floor = Math.floor(n);
  const fraction = n - floor;
  if (fraction !== 0.5) return Math.round(n);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** new WebSocketPair(): { 0: client, 1: server }, as Workers has it (Object.values gives both). */
export class WebSocketPair {
  0: WebSocket;
  1: WebSocket;
  constructor() {
    const [client, server] = makePair();
    this[0] = client;
    this[1] = server;
  }
}

/** The server half a 101 Response hands over, checked for what the host needs of it. */
export function acceptedServerHalf(webSocket: unknown): WebSocket {
  if (!(webSocket instanceof WebSocket) || !isClientHalf(webSocket)) {
    throw new TypeError(
      "a 101 Response's webSocket is the client half of a WebSocketPair: new Response(null, { status: 101, webSocket: client })",
    );
  }
  const server = serverHalfOf(webSocket);
  if (server === undefined || server.readyState === CONNECTING) {
    throw new TypeError(
      "call server.accept() on the WebSocketPair's server half before returning the 101 Response",
    );
  }
  return server;
}

/** The host took the connection: the server half's frames go to `sink` from now on. */
export function connectSocket(server: WebSocket, sink: SocketSink): void {
  connect(server, sink);
}

/** A message from the client. */
export function socketMessage(server: WebSocket, data: string | ArrayBuffer): void {
  receive(server, data);
}

/** The connection closed (1006: without a close frame). */
export function socketClosed(server: WebSocket, code: number, reason: string): void {
  closed(server, code, reason);
}
