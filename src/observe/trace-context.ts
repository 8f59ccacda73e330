// W3C trace context (traceparent): read from what invoked a function, continued by its
// invocation, and handed on to what the invocation does (events, outbound fetches, bindings).
// https://www.w3.org/TR/trace-context/#traceparent-header
import { randomFillSync } from "node:crypto";

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
