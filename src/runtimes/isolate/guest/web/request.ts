// Request. One made from host data (requestFromHost) skips URL parsing and keeps the host's
// flat header list until `.headers` is first read.
import type { FlatHeaders } from "../host-api.js";
import { AbortSignal, unabortableSignal } from "./abort.js";
import type { Blob } from "./blob.js";
import { Body, type BodyInit, extractBody } from "./body.js";
import type { FormData } from "./form-data.js";
import { Headers, type HeadersInit, headersFromFlat } from "./headers.js";
import type { ReadableStream } from "./streams.js";
import { URL } from "./url.js";

export type RequestInfo = Request | string | URL;
export type RequestRedirect = "follow" | "error" | "manual";

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit | null;
  signal?: AbortSignal | null;
  redirect?: RequestRedirect;
  duplex?: "half";
  [option: string]: unknown;
}

/** A Request's state as the platform hands it to the constructor (a class, so no user input looks like it). */
class RequestParts {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: Headers | FlatHeaders,
    readonly body: Body | null,
    readonly signal: AbortSignal | null,
    readonly redirect: RequestRedirect,
  ) {}
}

let bodyOf: (request: Request) => Body | null;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const REDIRECTS = new Set(["follow", "error", "manual"]);

export class Request {
  readonly #method: string;
  readonly #url: string;
  #headers: Headers | FlatHeaders;
  readonly #body: Body | null;
  #signal: AbortSignal | null;
  readonly #redirect: RequestRedirect;

  constructor(input: RequestInfo | RequestParts, init?: RequestInit) {
    if (input instanceof RequestParts) {
      this.#method = input.method;
      this.#url = input.url;
      this.#headers = input.headers;
      this.#body = input.body;
      this.#signal = input.signal;
      this.#redirect = input.redirect;
      return;
    }
    if (arguments.length === 0) throw new TypeError("Request needs a URL or a Request");
    const from = input instanceof Request ? input : null;
    this.#url = input instanceof Request ? input.#url : parseRequestUrl(input);
    this.#method =
      init?.method !== undefined
        ? normalizeMethod(init.method)
        : from !== null
          ? from.#method
          : "GET";
    this.#redirect =
      init?.redirect !== undefined
        ? checkRedirect(init.redirect)
        : from !== null
          ? from.#redirect
          : "follow";
    this.#signal = init?.signal !== undefined ? init.signal : (from?.signal ?? null);
    if (this.#signal !== null && !(this.#signal instanceof AbortSignal))
      throw new TypeError("signal must be an AbortSignal");
    const headers = new Headers(init?.headers ?? from?.headers);
    this.#headers = headers;

    let body: Body | null = from !== null ? from.#body : null;
    if (init?.body !== undefined && init.body !== null) {
      const extracted = extractBody(init.body);
      body = extracted.body;
      if (extracted.contentType !== null && !headers.has("content-type"))
        headers.set("content-type", extracted.contentType);
    } else if (init?.body === null) body = null;
    if (body !== null && (this.#method === "GET" || this.#method === "HEAD")) {
      throw new TypeError("Request with GET/HEAD method cannot have body");
    }
    if (body !== null && from !== null && body === from.#body && body.used) {
      throw new TypeError("Cannot construct a Request with a Request whose body is already used");
    }
    this.#body = body;
  }

  get method(): string {
    return this.#method;
  }
  get url(): string {
    return this.#url;
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
  get signal(): AbortSignal {
    this.#signal ??= unabortableSignal();
    return this.#signal;
  }
  get redirect(): RequestRedirect {
    return this.#redirect;
  }
  get cache(): string {
    return "default";
  }
  get credentials(): string {
    return "same-origin";
  }
  get destination(): string {
    return "";
  }
  get integrity(): string {
    return "";
  }
  get keepalive(): boolean {
    return false;
  }
  get mode(): string {
    return "cors";
  }
  get referrer(): string {
    return "about:client";
  }
  get referrerPolicy(): string {
    return "";
  }
  get duplex(): string {
    return "half";
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

  clone(): Request {
    if (this.bodyUsed) throw new TypeError("Cannot clone a Request whose body is already used");
    const body = this.#body === null ? null : this.#body.clone();
    return new Request(
      new RequestParts(
        this.#method,
        this.#url,
        new Headers(this.headers),
        body,
        this.#signal,
        this.#redirect,
      ),
    );
  }

  [Symbol.for("nodejs.util.inspect.custom")](): Record<string, unknown> {
    return { method: this.#method, url: this.#url, headers: this.headers, bodyUsed: this.bodyUsed };
  }

  static {
    bodyOf = (request) => request.#body;
  }
}
Object.defineProperty(Request.prototype, Symbol.toStringTag, {
  value: "Request",
  configurable: true,
});

/** The Request a function sees for an incoming host request (no parsing, no copies). */
export function requestFromHost(
  method: string,
  url: string,
  headers: FlatHeaders,
  body: ArrayBuffer | null,
  signal: AbortSignal,
): Request {
  return new Request(
    new RequestParts(method, url, headers, body === null ? null : new Body(body), signal, "follow"),
  );
}

/** The Request's body bytes for an outbound fetch, or null when it has none (consumes it). */
export async function requestBodyBytes(request: Request): Promise<ArrayBuffer | null> {
  const body = bodyOf(request);
  return body === null ? null : body.arrayBuffer();
}

function parseRequestUrl(input: string | URL): string {
  let url: URL;
  try {
    url = new URL(typeof input === "string" ? input : String(input));
  } catch {
    throw new TypeError(`Invalid URL: ${String(input)}`);
  }
  if (url.username !== "" || url.password !== "")
    throw new TypeError("Request URL must not include credentials");
  return url.href;
}

function normalizeMethod(method: unknown): string {
  const value = String(method);
  if (!TOKEN.test(value)) throw new TypeError(`Invalid method: "${value}"`);
  const upper = value.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`Method ${upper} is forbidden`);
  return NORMALIZED_METHODS.has(upper) ? upper : value;
}

function checkRedirect(redirect: unknown): RequestRedirect {
  const value = String(redirect);
  if (!REDIRECTS.has(value)) throw new TypeError(`Invalid redirect mode: "${value}"`);
  return value as RequestRedirect;
}
