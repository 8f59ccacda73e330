// W3C trace context (traceparent): read from what invoked a function, continued by its
// invocation, and handed on to what the invocation does (events, outbound fetches, bindings).
// https://www.w3.org/TR/trace-context/#traceparent-header
import { randomFillSync } from "node:crypto";
import type { InvocationRequest } from "../runtimes/types.js";

export interface TraceParent {
  traceId: string;
  /** The caller's span: the parent of the invocation's. */
  parentId: string;
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** A valid traceparent's parts; anything else (as the spec says) starts a new trace. */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  if (value === undefined || value.length < 55) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return undefined;
  const [, version = "", traceId = "", parentId = "", flags = "", rest] = m;
  // version ff is invalid; version 00 has nothing after the flags
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, flags };
}

// Ids come from a pool of random bytes filled 4 KiB at a time (as randomUUID does): one is made
// for every invocation, and a randomBytes call each costs several times more.
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString("hex", used, used + bytes);
  used += bytes;
  return hex;
}

/** 32 random hex digits, never all zeros. */
export function newTraceId(): string {
  const id = randomHex(16);
  return id === ZERO_TRACE ? newTraceId() : id;
}

/** 16 random hex digits, never all zeros. */
export function newSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
}

export function formatTraceparent(traceId: string, spanId: string, flags: string): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

/** The value of `traceparent` in a flat [name, value, …] header list. */
export function traceparentIn(headers: string[]): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? "";
    if (name.length === 11 && name.toLowerCase() === "traceparent") return headers[i + 1];
  }
  return undefined;
}

/** Sets `traceparent` in a flat header list, in place: the first one's value, or a new one. */
export function setTraceparent(headers: string[], value: string): void {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? "";
    if (name.length === 11 && name.toLowerCase() === "traceparent") {
      headers[i + 1] = value;
      return;
    }
  }
  headers.push("traceparent", value);
}

/** The trace an invocation continues, and its own span in it. */
export interface InvocationTrace {
  traceId: string;
  spanId: string;
  /** The caller's span, when the invocation came with a traceparent. */
  parentId: string | undefined;
  flags: string;
  /** What the invocation hands on: its own span as the parent. */
  traceparent: string;
}

/**
 * The invocation's place in a trace: the one its request or message came with, else a new one.
 * A traceparent it came with is rewritten in place to name the invocation's own span, so the
 * function (and whatever it forwards the header to) continues from it; none is added to a
 * request that had none (ctx.traceparent has it), which keeps the common request as it was.
 */
export function continueTrace(request: InvocationRequest): InvocationTrace {
  const event = request.event;
  const given =
    event === undefined
      ? traceparentIn(request.headers)
      : event.kind === "message"
        ? event.headers["traceparent"]
        : request.traceparent;
  const incoming = parseTraceparent(given);
  const traceId = incoming?.traceId ?? newTraceId();
  const spanId = newSpanId();
  const flags = incoming?.flags ?? "01";
  const traceparent = formatTraceparent(traceId, spanId, flags);
  if (event === undefined) {
    if (given !== undefined) setTraceparent(request.headers, traceparent);
  } else if (event.kind === "message") event.headers["traceparent"] = traceparent;
  request.traceparent = traceparent;
  return { traceId, spanId, parentId: incoming?.parentId, flags, traceparent };
}
