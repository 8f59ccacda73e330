// The request a guest's fetch sends, and how a redirect changes it (WHATWG fetch §4.4:
// 303, and 301/302 after POST, become GET without a body; credentials stay on their origin).
import type { FlatHeaders } from "../../runtimes/isolate/guest/host-api.js";
import { FetchError } from "./errors.js";
import {
  isBodyHeader,
  isOriginCredential,
  outgoingHeaders,
  withoutHeaders,
} from "./request-headers.js";

export interface PreparedRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: FlatHeaders;
  readonly body: ArrayBuffer | null;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// fetch upper-cases these whatever case they are written in; other methods are sent as written.
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

export function prepareRequest(
  method: string,
  url: string,
  headers: FlatHeaders,
  body: ArrayBuffer | null,
  userAgent: string,
): PreparedRequest {
  const upper = method.toUpperCase();
  if (!TOKEN.test(method) || FORBIDDEN_METHODS.has(upper)) {
    throw new FetchError(
      "INVALID_REQUEST",
      `fetch of "${url}" refused: "${method}" is not a method fetch can send`,
    );
  }
  const normalized = NORMALIZED_METHODS.has(upper) ? upper : method;
  if (body !== null && (normalized === "GET" || normalized === "HEAD")) {
    throw new FetchError(
      "INVALID_REQUEST",
      `fetch of "${url}" refused: a ${normalized} request cannot have a body`,
    );
  }
  return {
    url: httpUrl(url, null),
    method: normalized,
    headers: outgoingHeaders(headers, userAgent),
    body,
  };
}

/** The request to send after a redirect `status` from `request.url` to `location`. */
export function redirectTarget(
  request: PreparedRequest,
  status: number,
  location: string,
): PreparedRequest {
  const url = httpUrl(location, request.url);
  let { method, headers, body } = request;
  if (
    ((status === 301 || status === 302) && method === "POST") ||
    (status === 303 && method !== "GET" && method !== "HEAD")
  ) {
    method = "GET";
    body = null;
    headers = withoutHeaders(headers, isBodyHeader);
  }
  if (url.origin !== request.url.origin) headers = withoutHeaders(headers, isOriginCredential);
  return { url, method, headers, body };
}

/** Parses an http(s) URL (relative to `base` for a redirect's Location), or throws why not. */
function httpUrl(text: string, base: URL | null): URL {
  const where = base === null ? `fetch of "${text}"` : `redirect from "${base.href}" to "${text}"`;
  let url: URL;
  try {
    url = base === null ? new URL(text) : new URL(text, base);
  } catch {
    throw new FetchError("INVALID_REQUEST", `${where} refused: not a valid absolute URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new FetchError(
      "INVALID_REQUEST",
      `${where} refused: only http: and https: URLs can be fetched, not ${url.protocol}`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new FetchError(
      "INVALID_REQUEST",
      `${where} refused: a URL cannot carry a user name or password; send them in an Authorization header instead`,
    );
  }
  return url;
}
