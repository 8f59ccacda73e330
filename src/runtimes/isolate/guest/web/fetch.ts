// fetch over hooks.fetch: the host applies the function's egress policy and follows redirects.
// Any host refusal or network failure surfaces as a TypeError, as fetch() failures do.
import type { FetchResult, HostHooks } from "../host-api.js";
import type { AbortSignal } from "./abort.js";
import { flattenHeaders } from "./headers.js";
import { Request, type RequestInfo, type RequestInit, requestBodyBytes } from "./request.js";
import { currentRequestId } from "./request-context.js";
import { type Response, responseFromHost } from "./response.js";

export type Fetch = (input: RequestInfo, init?: RequestInit) => Promise<Response>;

export function createFetch(hooks: HostHooks): Fetch {
  return async function fetch(input: RequestInfo, init?: RequestInit): Promise<Response> {
    const requestId = currentRequestId(); // before any await: attribution is synchronous
    const request = new Request(input, init);
    const signal = request.signal;
    signal.throwIfAborted();
    const body = await requestBodyBytes(request);
    signal.throwIfAborted();
    const pending = hooks.fetch(
      requestId,
      request.method,
      request.url,
      flattenHeaders(request.headers),
      body,
    );
    const [status, statusText, headers, responseBody, finalUrl] = await untilAborted(
      pending,
      signal,
    );
    return responseFromHost(
      status,
      statusText,
      headers,
      responseBody,
      finalUrl,
      finalUrl !== request.url,
    );
  };
}

/** The host's result, or the signal's reason if it aborts first (the host call runs on, ignored). */
function untilAborted(pending: Promise<FetchResult>, signal: AbortSignal): Promise<FetchResult> {
  return new Promise<FetchResult>((resolve, reject) => {
    // fetch rejects with whatever the signal was aborted with, Error or not.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        // A fresh guest error: the host's message only, never its stack.
        reject(new TypeError(error instanceof Error ? error.message : String(error)));
      },
    );
  });
}
