// The host half of the guest's `fetch`: HostHooks.fetch for one deployed function, under
// that function's egress policy. Every failure rejects with a FetchError whose message the
// guest sees; nothing here throws past the returned promise.
import { Agent } from "undici";
import type { FetchResult, FlatHeaders } from "../../runtimes/isolate/guest/host-api.js";
import { checkEgress, type EgressPolicy, type EgressRefusalReason } from "./egress-policy.js";
import { EgressRefusedError, FetchError, asError, errorCode } from "./errors.js";
import { exchange, type RawResponse } from "./exchange.js";
import { createGuardedConnector, systemResolver, type Resolver } from "./guarded-connector.js";
import type { PlatformAddress } from "./platform-addresses.js";
import { prepareRequest, redirectTarget, type PreparedRequest } from "./redirects.js";
import { headerValue } from "./request-headers.js";
import { decodeBody, toArrayBuffer } from "./response-body.js";

export interface FetchHostOptions {
  readonly policy: EgressPolicy;
  /** Where the platform itself listens; refused unless the policy names the host exactly. */
  readonly platformAddresses: readonly PlatformAddress[];
  /** Cap on a response body, after decompression. Default 32 MiB. */
  readonly maxResponseBytes?: number;
  /** Whole-request limit: connect, redirects and body. Default 30 s. */
  readonly timeoutMs?: number;
  /** Sent when the guest sets no User-Agent. Default "litefaas". */
  readonly userAgent?: string;
  /** Resolves host names; default the system resolver. Tests inject names that resolve to chosen IPs. */
  readonly lookup?: Resolver;
  /** Redirects followed before giving up. Default 10. */
  readonly maxRedirects?: number;
}

/** HostHooks.fetch, plus close() to release pooled connections when the function goes away. */
export interface FetchHost {
  (
    requestId: string,
    method: string,
    url: string,
    headers: FlatHeaders,
    body: ArrayBuffer | null,
  ): Promise<FetchResult>;
  close(): Promise<void>;
}

interface Settings {
  readonly policy: EgressPolicy;
  readonly agent: Agent;
  readonly maxResponseBytes: number;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly maxRedirects: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const STALE_AFTER_DECODING = new Set(["content-encoding", "content-length"]);

export function createFetchHost(options: FetchHostOptions): FetchHost {
  const timeoutMs = positiveInteger("timeoutMs", options.timeoutMs ?? 30_000);
  const connect = createGuardedConnector({
    policy: options.policy,
    platformAddresses: options.platformAddresses,
    resolve: options.lookup ?? systemResolver,
    connectTimeoutMs: timeoutMs,
  });
  const settings: Settings = {
    policy: options.policy,
    agent: new Agent({ connect }),
    maxResponseBytes: positiveInteger(
      "maxResponseBytes",
      options.maxResponseBytes ?? 32 * 1024 * 1024,
    ),
    timeoutMs,
    userAgent: options.userAgent ?? "litefaas",
    maxRedirects: Math.max(0, Math.trunc(options.maxRedirects ?? 10)),
  };
  // requestId is part of the hook's contract (per-invocation accounting); unused here.
  const fetchHost = (
    _requestId: string,
    method: string,
    url: string,
    headers: FlatHeaders,
    body: ArrayBuffer | null,
  ) => fetchWithTimeout(settings, method, url, headers, body);
  return Object.assign(fetchHost, { close: () => settings.agent.close() });
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

async function fetchWithTimeout(
  settings: Settings,
  method: string,
  url: string,
  headers: FlatHeaders,
  body: ArrayBuffer | null,
): Promise<FetchResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    const limit = `${settings.timeoutMs} ms`;
    controller.abort(
      new FetchError(
        "TIMEOUT",
        `fetch of "${url}" timed out after ${limit} (the limit for an outbound request, redirects and body included)`,
      ),
    );
  }, settings.timeoutMs);
  try {
    const request = prepareRequest(method, url, headers, body, settings.userAgent);
    return await follow(settings, request, controller.signal);
  } catch (error) {
    throw error instanceof FetchError
      ? error
      : new FetchError("NETWORK_ERROR", `fetch of "${url}" failed: ${asError(error).message}`, {
          cause: error,
        });
  } finally {
    clearTimeout(timer);
  }
}

async function follow(
  settings: Settings,
  first: PreparedRequest,
  signal: AbortSignal,
): Promise<FetchResult> {
  let request = first;
  let from: string | null = null;
  for (let redirects = 0; ; redirects++) {
    const response = await send(settings, request, signal, from);
    const location = redirectLocation(response);
    if (location === null) return toResult(settings, response, request.url);
    if (redirects >= settings.maxRedirects) {
      throw new FetchError(
        "TOO_MANY_REDIRECTS",
        `fetch of "${first.url.href}" followed ${settings.maxRedirects} redirects without reaching a response (last: "${request.url.href}" to "${location}"); check the URL for a redirect loop`,
      );
    }
    from = request.url.href;
    request = redirectTarget(request, response.status, location);
  }
}

/** One hop: the policy check on the host name, then the exchange (addresses are checked at connect). */
async function send(
  settings: Settings,
  request: PreparedRequest,
  signal: AbortSignal,
  from: string | null,
): Promise<RawResponse> {
  const { url } = request;
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  const decision = checkEgress(settings.policy, url.hostname, port);
  try {
    if (!decision.allowed) {
      throw new EgressRefusedError({
        target: url.host,
        why: notListed(decision.reason, port),
        allowEntry: url.host,
      });
    }
    return await exchange(request, {
      dispatcher: settings.agent,
      signal,
      maxBodyBytes: settings.maxResponseBytes,
      keepBody: (status, headers) =>
        !(REDIRECT_STATUSES.has(status) && headerValue(headers, "location") !== null),
    });
  } catch (error) {
    if (error instanceof EgressRefusedError && from !== null) throw error.redirectedFrom(from);
    if (error instanceof FetchError && error.code === "DNS_FAILED") {
      throw new FetchError(error.code, `fetch of "${url.href}" failed: ${error.message}`, {
        cause: error,
      });
    }
    if (error instanceof FetchError) throw error;
    throw networkError(error, url.href);
  }
}

function notListed(reason: EgressRefusalReason, port: number): string {
  switch (reason.kind) {
    case "empty-list":
      return "this function's egress list is empty, so every outbound request is refused";
    case "host-not-listed":
      return "not in this function's egress list";
    case "port-not-listed": {
      const ports = [...new Set(reason.listedPorts)].join(", ");
      return `port ${port} is not in this function's egress list for this host (it allows port ${ports})`;
    }
  }
}

function networkError(error: unknown, url: string): FetchError {
  const cause = asError(error);
  const code = errorCode(error);
  if (code === "UND_ERR_INVALID_ARG" || code === "UND_ERR_NOT_SUPPORTED") {
    return new FetchError(
      "INVALID_REQUEST",
      `fetch of "${url}" failed: invalid request: ${cause.message}`,
      { cause },
    );
  }
  const detail =
    typeof code === "string" && !cause.message.includes(code)
      ? `${code}: ${cause.message}`
      : cause.message;
  return new FetchError("NETWORK_ERROR", `fetch of "${url}" failed: ${detail}`, { cause });
}

function withoutEncodingHeaders(headers: FlatHeaders): FlatHeaders {
  const kept: FlatHeaders = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? "";
    if (!STALE_AFTER_DECODING.has(name.toLowerCase())) kept.push(name, headers[i + 1] ?? "");
  }
  return kept;
}

function redirectLocation(response: RawResponse): string | null {
  return REDIRECT_STATUSES.has(response.status) ? headerValue(response.headers, "location") : null;
}

async function toResult(settings: Settings, response: RawResponse, url: URL): Promise<FetchResult> {
  const finalUrl = new URL(url.href);
  finalUrl.hash = ""; // Response.url never has a fragment.
  const raw = toArrayBuffer(response.chunks, response.bodyBytes);
  const encoding = headerValue(response.headers, "content-encoding");
  const body = await decodeBody(raw, encoding, settings.maxResponseBytes, finalUrl.href);
  // the body is decoded now: headers describing the encoded form would corrupt a response that
  // the function passes straight through to its client
  const headers = body === raw ? response.headers : withoutEncodingHeaders(response.headers);
  return [response.status, response.statusText, headers, body, finalUrl.href];
}
