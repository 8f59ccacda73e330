// Requests and responses as records keep them for replay: bodies capped, text as text, bytes as
// base64, and the headers that carry credentials left out.
import type { CapturedPayload } from "../ports/records.js";
import type { InvocationRequest } from "../runtimes/types.js";
import { utf8OrUndefined } from "../shared/utf8.js";

/** Never kept: a record is readable by operators, a credential is not theirs to see. */
const SECRET_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
]);

const encoder = new TextEncoder();

export function flatHeaders(list: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = (list[i] ?? "").toLowerCase();
    if (SECRET_HEADERS.has(name)) continue;
    const value = list[i + 1] ?? "";
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

/** A body as kept: at most `max` bytes. */
export function bodyOf(
  bytes: Uint8Array,
  max: number,
): Pick<CapturedPayload, "body" | "encoding" | "size" | "truncated"> {
  const kept = bytes.byteLength > max ? bytes.subarray(0, max) : bytes;
  // a cut may split a character: such a body is kept as base64, exactly
  const text = utf8OrUndefined(kept);
  return {
    body: text ?? Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString("base64"),
    encoding: text === undefined ? "base64" : "utf8",
    size: bytes.byteLength,
    truncated: kept.byteLength < bytes.byteLength,
  };
}

/** What was asked of the function. */
export function captureInput(request: InvocationRequest, max: number): CapturedPayload {
  const event = request.event;
  if (event?.kind === "message") {
    return { subject: event.subject, headers: { ...event.headers }, ...bodyOf(event.data, max) };
  }
  if (event?.kind === "scheduled") {
    return {
      headers: {
        cron: event.cron,
        "scheduled-time": new Date(event.scheduledTime).toISOString(),
      },
      ...bodyOf(new Uint8Array(0), max),
    };
  }
  return {
    method: request.method,
    url: request.url,
    headers: flatHeaders(request.headers),
    ...bodyOf(request.body ?? new Uint8Array(0), max),
  };
}

/** Collects a response body as it is sent, up to `max` bytes, counting the rest. */
export class BodyCapture {
  private readonly chunks: Uint8Array[] = [];
  private kept = 0;
  private size = 0;

  constructor(private readonly max: number) {}

  add(chunk: string | Uint8Array): void {
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    this.size += bytes.byteLength;
    const room = this.max - this.kept;
    if (room <= 0) return;
    const part = bytes.byteLength > room ? bytes.subarray(0, room) : bytes;
    this.chunks.push(part);
    this.kept += part.byteLength;
  }

  payload(status: number, headers: string[]): CapturedPayload {
    const captured = bodyOf(Buffer.concat(this.chunks), this.max);
    return {
      status,
      headers: flatHeaders(headers),
      ...captured,
      size: this.size,
      truncated: this.kept < this.size,
    };
  }
}
