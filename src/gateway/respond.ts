// Writing responses: JSON errors from the catalog, and function responses (buffered or streamed).
import type { ServerResponse } from "node:http";
import { asLitefaasError, type LitefaasError } from "../shared/errors.js";
import type { InvocationResponse } from "../runtimes/types.js";

/** What the access log needs of an answer: body bytes sent, and the gateway's error code. */
export interface Sent {
  bytes: number;
  error: string | undefined;
}
const sent = new WeakMap<ServerResponse, Sent>();

/** What was sent on `res` through these functions (nothing known: 0 bytes, no error). */
export function sentOn(res: ServerResponse): Sent {
  return sent.get(res) ?? { bytes: 0, error: undefined };
}

// Headers a function may not set: Node computes framing itself, and a stray value would corrupt it.
const FRAMING = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

export function sendError(
  res: ServerResponse,
  error: unknown,
  requestId: string,
  extra: Record<string, string> = {},
): void {
  const e: LitefaasError = asLitefaasError(error);
  if (res.headersSent) {
    res.destroy(e);
    return;
  }
  const body = JSON.stringify(e.toBody(requestId));
  sent.set(res, { bytes: Buffer.byteLength(body), error: e.code });
  const headers: Record<string, string | number> = {
    ...extra,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-request-id": requestId,
  };
  if ((e.status === 429 || e.status === 503) && extra["retry-after"] === undefined)
    headers["retry-after"] = 1;
  res.writeHead(e.status, headers);
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  requestId: string,
  extra: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  sent.set(res, { bytes: Buffer.byteLength(body), error: undefined });
  res.writeHead(status, {
    ...extra,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-request-id": requestId,
  });
  res.end(body);
}

export async function sendInvocation(
  res: ServerResponse,
  response: InvocationResponse,
  requestId: string,
  headOnly: boolean,
  /** Headers of the gateway's own, e.g. RateLimit-*: name, value, … */
  extra: string[] = [],
): Promise<void> {
  const flat: string[] = [];
  const h = response.headers;
  // where the gateway answers CORS for the route, the function's own answer would be a second one
  const gatewayCors = extra[0] === "access-control-allow-origin";
  for (let i = 0; i + 1 < h.length; i += 2) {
    const name = h[i] as string;
    const lower = name.toLowerCase();
    if (FRAMING.has(lower)) continue;
    if (gatewayCors && lower.startsWith("access-control-")) continue;
    flat.push(name, h[i + 1] as string);
  }
  flat.push(...extra, "x-request-id", requestId);
  const body = response.body;
  if (body === null || typeof body === "string" || body instanceof Uint8Array) {
    const length =
      body === null ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    flat.push("content-length", String(length));
    if (!headOnly) sent.set(res, { bytes: length, error: undefined });
    res.writeHead(response.status, flat);
    if (headOnly || body === null) res.end();
    else res.end(body);
    return;
  }
  res.writeHead(response.status, flat);
  res.flushHeaders();
  const counted: Sent = { bytes: 0, error: undefined };
  sent.set(res, counted);
  try {
    for await (const chunk of body) {
      if (res.destroyed) break;
      counted.bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
      if (!res.write(chunk)) await drained(res);
    }
    res.end();
  } catch {
    // the function's stream failed mid-body: the status is already sent, so cut the connection
    // so the client sees a truncated response rather than a complete-looking one
    res.destroy();
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
