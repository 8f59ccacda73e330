// WebSockets at the gateway. An upgrade request goes through routing, authentication and rate
// limits like any request and reaches the function; when the function accepts (a 101 answer
// carrying a WebSocket), ws completes the handshake and frames flow between client and function.
// Closing either side closes the other.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { FunctionSocket } from "../runtimes/types.js";

/** A client that reads slower than the function sends is cut off past this much unsent data. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** Dead peers (no pong to a ping within this) are closed. */
const HEARTBEAT_MS = 30_000;
/** A close frame's reason holds at most 123 bytes. */
const MAX_REASON_BYTES = 123;
/** Headers of the function's 101 answer that the handshake itself owns. */
const HANDSHAKE_HEADERS = new Set([
  "connection",
  "upgrade",
  "content-length",
  "transfer-encoding",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
]);
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

/** What the function's 101 answer says beyond accepting: its subprotocol and other headers. */
interface Answer {
  protocol: string | undefined;
  headers: string[];
}

export interface SessionEnd {
  code: number;
  /** Bytes of the messages sent to the client. */
  bytes: number;
}

export class WebSockets {
  private readonly server: WebSocketServer;
  private readonly open = new Set<WebSocket>();
  private readonly answers = new WeakMap<IncomingMessage, Answer>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(maxMessageBytes: number) {
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (offered, req) => {
        const chosen = this.answers.get(req)?.protocol;
        return chosen !== undefined && offered.has(chosen) ? chosen : false;
      },
    });
    this.server.on("headers", (headers: string[], req: IncomingMessage) => {
      const extra = this.answers.get(req)?.headers ?? [];
      for (let i = 0; i + 1 < extra.length; i += 2) headers.push(`${extra[i]}: ${extra[i + 1]}`);
    });
    this.heartbeat = setInterval(() => this.ping(), HEARTBEAT_MS).unref();
  }

  /** Why `req` is not a valid WebSocket opening handshake (RFC 6455, 4.2.1), or undefined. */
  static handshakeProblem(req: IncomingMessage): string | undefined {
    if (req.method !== "GET") return `a WebSocket handshake is a GET, not ${req.method ?? "?"}`;
    const key = req.headers["sec-websocket-key"];
    if (typeof key !== "string" || !WEBSOCKET_KEY.test(key))
      return "Sec-WebSocket-Key is missing, or not 16 bytes in base64";
    if (req.headers["sec-websocket-version"] !== "13") return "Sec-WebSocket-Version must be 13";
    return undefined;
  }

  static isWebSocketUpgrade(req: IncomingMessage): boolean {
    return req.headers.upgrade?.toLowerCase() === "websocket";
  }

  /** Complete the handshake the function accepted and carry frames both ways until one closes. */
  accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    fn: FunctionSocket,
    answerHeaders: string[],
    requestId: string,
    onEnd: (end: SessionEnd) => void,
  ): void {
    const answer: Answer = { protocol: undefined, headers: ["x-request-id", requestId] };
    for (let i = 0; i + 1 < answerHeaders.length; i += 2) {
      const name = (answerHeaders[i] as string).toLowerCase();
      const value = answerHeaders[i + 1] as string;
      if (name === "sec-websocket-protocol") answer.protocol = value.trim();
      else if (!HANDSHAKE_HEADERS.has(name) && name !== "x-request-id")
        answer.headers.push(name, value);
    }
    this.answers.set(req, answer);
    let upgraded = false;
    // the client may be gone before the handshake completes: the function hears 1006
    socket.once("close", () => {
      if (!upgraded) {
        fn.closed(1006, "");
        onEnd({ code: 1006, bytes: 0 });
      }
    });
    this.server.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      this.open.add(ws);
      this.alive.add(ws);
      let bytes = 0;
      fn.attach({
        send: (data) => {
          if (ws.readyState !== ws.OPEN) return;
          if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
            ws.close(1008, "the client is not reading its messages");
            return;
          }
          bytes += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
          ws.send(data);
        },
        close: (code, reason) => {
          if (ws.readyState === ws.OPEN) ws.close(code, clip(reason));
        },
      });
      ws.on("message", (data: RawData, isBinary: boolean) =>
        fn.deliver(isBinary ? asBytes(data) : asBytes(data).toString()),
      );
      ws.on("pong", () => this.alive.add(ws));
      ws.on("error", () => undefined); // a close follows, with 1006 or the protocol error's code
      ws.on("close", (code: number, reason: Buffer) => {
        this.open.delete(ws);
        fn.closed(code, reason.toString());
        onEnd({ code, bytes });
      });
    });
  }

  /** Close every open WebSocket (e.g. 1001 when the platform shuts down). */
  closeAll(code: number, reason: string): void {
    for (const ws of this.open) ws.close(code, reason);
  }

  get count(): number {
    return this.open.size;
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const ws of this.open) ws.terminate();
  }

  private ping() {
    for (const ws of this.open) {
      if (!this.alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }
}

function asBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A reason cut to what a close frame holds. */
function clip(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out;
}
