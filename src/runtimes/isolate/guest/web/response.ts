// Response, and the host's views of one: its body in the cheapest form and its flat headers.
import type { FlatHeaders } from "../host-api.js";
import type { Blob } from "./blob.js";
import { Body, type BodyInit, extractBody } from "./body.js";
import type { FormData } from "./form-data.js";
import { Headers, type HeadersInit, freezeHeaders, headersFromFlat } from "./headers.js";
import type { ReadableStream } from "./streams.js";
import { URL } from "./url.js";
import { WebSocket } from "./websocket.js";
import { toDOMString, toNumber } from "./webidl.js";

export type ResponseType = "basic" | "cors" | "default" | "error" | "opaque" | "opaqueredirect";

export interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
  [option: string]: unknown;
}

/** A Response's state as the platform hands it to the constructor. */
class ResponseParts {
  constructor(
    readonly type: ResponseType,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers | FlatHeaders,
    readonly body: Body | null,
    readonly url: string,
    readonly redirected = false,
    readonly webSocket: WebSocket | null = null,
  ) {}
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

let bodyOf: (response: Response) => Body | null;

export class Response {
  readonly #type: ResponseType;
  readonly #status: number;
  readonly #statusText: string;
  #headers: Headers | FlatHeaders;
  readonly #body: Body | null;
  readonly #url: string;
  readonly #redirected: boolean;
  readonly #webSocket: WebSocket | null;

  constructor(body?: BodyInit | null | ResponseParts, init?: ResponseInit) {
    const parts =
      body instanceof ResponseParts
        ? body
        : partsFromInit(body === undefined || body === null ? null : extractBody(body), init);
    this.#type = parts.type;
    this.#status = parts.status;
    this.#statusText = parts.statusText;
    this.#headers = parts.headers;
    this.#body = parts.body;
    this.#url = parts.url;
    this.#redirected = parts.redirected;
    this.#webSocket = parts.webSocket;
  }

  /** The client half of an accepted WebSocketPair, on a 101 answer. */
  get webSocket(): WebSocket | null {
    return this.#webSocket;
  }

  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("The data is not JSON-serializable");
    return new Response(
      partsFromInit({ body: new Body(text), contentType: "application/json" }, init),
    );
  }

  static redirect(url: string | URL, status = 302): Response {
    if (!REDIRECT_STATUSES.has(status)) throw new RangeError(`Invalid redirect status: ${status}`);
    let location: string;
    try {
      location = new URL(String(url)).href;
    } catch {
      throw new TypeError(`Invalid URL: ${String(url)}`);
    }
    const headers = new Headers({ location });
    freezeHeaders(headers);
    return new Response(new ResponseParts("default", status, "", headers, null, ""));
  }

  static error(): Response {
    const headers = new Headers();
    freezeHeaders(headers);
    return new Response(new ResponseParts("error", 0, "", headers, null, ""));
  }

  get type(): ResponseType {
    return this.#type;
  }
  get url(): string {
    return this.#url;
  }
  get redirected(): boolean {
    return this.#redirected;
  }
  get status(): number {
    return this.#status;
  }
  get ok(): boolean {
    return this.#status >= 200 && this.#status <= 299;
  }
  get statusText(): string {
    return this.#statusText;
  }
  get headers(): Headers {
    if (!(this.#headers instanceof Headers)) this.#headers = headersFromFlat(this.#headers, true);
    return this.#headers;
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this.#body === null ? null : this.#body.stream;
  }
  get bodyUsed(): boolean {
    return this.#body !== null && this.#body.used;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#body === null ? Promise.resolve(new ArrayBuffer(0)) : this.#body.arrayBuffer();
  }
  bytes(): Promise<Uint8Array> {
    return this.#body === null ? Promise.resolve(new Uint8Array(0)) : this.#body.bytes();
  }
  text(): Promise<string> {
    return this.#body === null ? Promise.resolve("") : this.#body.text();
  }
  json(): Promise<unknown> {
    return this.#body === null
      ? Promise.reject(new SyntaxError("Unexpected end of JSON input"))
      : this.#body.json();
  }
  blob(): Promise<Blob> {
    return (this.#body ?? new Body("")).blob(this.headers.get("content-type"));
  }
  formData(): Promise<FormData> {
    return (this.#body ?? new Body("")).formData(this.headers.get("content-type"));
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError("Cannot clone a Response whose body is already used");
    const body = this.#body === null ? null : this.#body.clone();
    const headers = new Headers(this.headers);
    if (this.#type !== "default") freezeHeaders(headers);
    return new Response(
      new ResponseParts(
        this.#type,
        this.#status,
        this.#statusText,
        headers,
        body,
        this.#url,
        this.#redirected,
        this.#webSocket,
      ),
    );
  }

  [Symbol.for("nodejs.util.inspect.custom")](): Record<string, unknown> {
    return {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.headers,
      bodyUsed: this.bodyUsed,
    };
  }

  static {
    bodyOf = (response) => response.#body;
  }
}
Object.defineProperty(Response.prototype, Symbol.toStringTag, {
  value: "Response",
  configurable: true,
});

function partsFromInit(
  extracted: { body: Body; contentType: string | null } | null,
  init: ResponseInit | undefined,
): ResponseParts {
  const status = init?.status === undefined ? 200 : toNumber(init.status);
  const webSocket = init?.["webSocket"] ?? null;
  if (webSocket !== null || status === 101) {
    if (status !== 101 || !(webSocket instanceof WebSocket)) {
      throw new RangeError(
        "a WebSocket answer is new Response(null, { status: 101, webSocket: client }) with the client half of a WebSocketPair",
      );
    }
  } else if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(
      `Response status must be an integer from 200 to 599, got ${String(init?.status)}`,
    );
  }
  const statusText = init?.statusText === undefined ? "" : toDOMString(init.statusText);
  if (!REASON_PHRASE.test(statusText)) throw new TypeError("Invalid statusText");
  const headers = new Headers(init?.headers);
  if (extracted !== null) {
    if (NULL_BODY_STATUSES.has(status))
      throw new TypeError(`Response with status ${status} cannot have a body`);
    if (extracted.contentType !== null && !headers.has("content-type"))
      headers.set("content-type", extracted.contentType);
  }
  return new ResponseParts(
    "default",
    status,
    statusText,
    headers,
    extracted?.body ?? null,
    "",
    false,
    webSocket,
  );
}

/** The Response of an outbound fetch, over the host's result (headers parsed on first use). */
export function responseFromHost(
  status: number,
  statusText: string,
  headers: FlatHeaders,
  body: ArrayBuffer,
  url: string,
  redirected: boolean,
): Response {
  const content = NULL_BODY_STATUSES.has(status) ? null : new Body(body);
  return new Response(
    new ResponseParts("basic", status, statusText, headers, content, url, redirected),
  );
}

/** The body for the host: string or ArrayBuffer when in memory, the stream when streamed, null when none. */
export function responseBodyForHost(
  response: Response,
): string | ArrayBuffer | ReadableStream<Uint8Array> | null {
  const body = bodyOf(response);
  return body === null ? null : body.forHost();
}
