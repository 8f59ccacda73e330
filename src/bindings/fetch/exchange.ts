// One HTTP request/response on an undici dispatcher, with the body collected under a byte
// cap. A dispatch handler rather than undici's request(): it gives the status text, the raw
// header list in order, and stops a too-large body while it arrives.
import type { Dispatcher } from "undici";
import type { FlatHeaders } from "../../runtimes/isolate/guest/host-api.js";
import { FetchError } from "./errors.js";
import { headerValue } from "./request-headers.js";

export interface ExchangeRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: FlatHeaders;
  readonly body: ArrayBuffer | null;
}

export interface ExchangeOptions {
  readonly dispatcher: Dispatcher;
  readonly signal: AbortSignal;
  readonly maxBodyBytes: number;
  /** Decides from the head whether the body is kept; a redirect's body is read and dropped. */
  readonly keepBody: (status: number, headers: FlatHeaders) => boolean;
}

export interface RawResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: FlatHeaders;
  readonly chunks: readonly Buffer[];
  readonly bodyBytes: number;
}

export function exchange(request: ExchangeRequest, options: ExchangeOptions): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const collector = new Collector(request, options, resolve, reject);
    const { signal } = options;
    if (signal.aborted) {
      reject(asAbortReason(signal));
      return;
    }
    const onAbort = (): void => {
      collector.abort(asAbortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    collector.onSettled = () => {
      signal.removeEventListener("abort", onAbort);
    };
    options.dispatcher.dispatch(
      {
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        // undici accepts any method token at run time; its type lists only the common ones.
        method: request.method as Dispatcher.HttpMethod,
        headers: [...request.headers],
        body: request.body === null ? null : Buffer.from(request.body),
      },
      collector,
    );
  });
}

function asAbortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("aborted");
}

class Collector implements Dispatcher.DispatchHandlers {
  onSettled: () => void = () => undefined;
  private status = 0;
  private statusText = "";
  private headers: string[] = [];
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private keep = true;
  private settled = false;
  private abortRequest: ((error: Error) => void) | null = null;
  private pendingAbort: Error | null = null;

  constructor(
    private readonly request: ExchangeRequest,
    private readonly options: ExchangeOptions,
    private readonly resolve: (response: RawResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /** Ends the exchange with `error` now, and the request as soon as it has a connection. */
  abort(error: Error): void {
    this.fail(error);
    if (this.abortRequest === null) this.pendingAbort = error;
    else this.abortRequest(error);
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortRequest = abort;
    if (this.pendingAbort !== null) abort(this.pendingAbort);
  }

  onHeaders(
    status: number,
    rawHeaders: Buffer[],
    _resume: () => void,
    statusText: string,
  ): boolean {
    if (status < 200) return true; // 1xx informational: the real head follows.
    this.status = status;
    this.statusText = statusText;
    // Header values are bytes; latin1 keeps each byte as one character, as fetch does.
    this.headers = rawHeaders.map((b) => b.toString("latin1"));
    this.keep = this.options.keepBody(status, this.headers);
    // HEAD, 204 and 304 declare a length but carry no body.
    const bodyless = this.request.method === "HEAD" || status === 204 || status === 304;
    const declared = Number(headerValue(this.headers, "content-length") ?? "0");
    if (this.keep && !bodyless && declared > this.options.maxBodyBytes) this.abort(this.tooLarge());
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.bytes > this.options.maxBodyBytes) {
      this.abort(this.tooLarge());
      return false;
    }
    if (this.keep) this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled();
    const { status, statusText, headers, chunks, bytes } = this;
    this.resolve({ status, statusText, headers, chunks, bodyBytes: bytes });
  }

  onError(error: Error): void {
    this.fail(error);
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled();
    this.reject(error);
  }

  private tooLarge(): FetchError {
    const limit = this.options.maxBodyBytes;
    return new FetchError(
      "RESPONSE_TOO_LARGE",
      `the response from "${this.request.url.href}" is larger than the ${formatBytes(limit)} limit for fetch responses; ` +
        "request a smaller range or page of the resource",
    );
  }
}

export function formatBytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}
