// The request headers the host sends for a guest's fetch: the guest's list minus what only
// the connection may decide (hop-by-hop headers, Host, framing), plus fetch's defaults.
import type { FlatHeaders } from "../../runtimes/isolate/guest/host-api.js";

// RFC 9110 §7.6.1 hop-by-hop headers, plus the framing undici computes itself from the body
// (a guest-supplied content-length could desynchronise the connection) and `expect`, which
// undici does not support.
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "expect",
]);

/** Headers that describe a request body; dropped when a redirect turns the request into GET. */
const BODY_HEADERS = new Set([
  "content-encoding",
  "content-language",
  "content-location",
  "content-type",
]);

/** Headers with credentials for the origin; dropped on a redirect to another origin. */
const ORIGIN_CREDENTIALS = new Set(["authorization", "cookie", "proxy-authorization"]);

/** The guest's headers, safe to send, with User-Agent, Accept and Accept-Encoding defaults. */
export function outgoingHeaders(guest: FlatHeaders, userAgent: string): FlatHeaders {
  const named = new Set<string>();
  for (let i = 0; i + 1 < guest.length; i += 2) {
    if (guest[i]?.toLowerCase() !== "connection") continue;
    // Headers listed in Connection are hop-by-hop too (RFC 9110 §7.6.1).
    for (const token of (guest[i + 1] ?? "").split(",")) named.add(token.trim().toLowerCase());
  }
  const out: string[] = [];
  const present = new Set<string>();
  for (let i = 0; i + 1 < guest.length; i += 2) {
    const name = guest[i] ?? "";
    const lower = name.toLowerCase();
    if (DROPPED.has(lower) || named.has(lower)) continue;
    present.add(lower);
    out.push(name, guest[i + 1] ?? "");
  }
  if (!present.has("user-agent")) out.push("user-agent", userAgent);
  if (!present.has("accept")) out.push("accept", "*/*");
  // The host decodes these (response-body.ts), as fetch does.
  if (!present.has("accept-encoding")) out.push("accept-encoding", "gzip, deflate, br");
  return out;
}

/** `headers` without the names that `drop` says to remove. */
export function withoutHeaders(
  headers: FlatHeaders,
  drop: (lowerName: string) => boolean,
): FlatHeaders {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? "";
    if (!drop(name.toLowerCase())) out.push(name, headers[i + 1] ?? "");
  }
  return out;
}

export const isBodyHeader = (lowerName: string): boolean => BODY_HEADERS.has(lowerName);
export const isOriginCredential = (lowerName: string): boolean => ORIGIN_CREDENTIALS.has(lowerName);

/** The first value of a header in a flat list, or null. */
export function headerValue(headers: FlatHeaders, lowerName: string): string | null {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === lowerName) return headers[i + 1] ?? null;
  }
  return null;
}
