// What a queue message carries in NATS headers besides the caller's: its id, original subject and
// publish time when they are not the stream's own (sends, redrives), and dead-letter metadata.
// Header names are stored lower-cased; "nats-" and "lfq-" names are reserved.
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import type { QueueMessage } from "../../ports/queue.js";

export const H = {
  /** The id, when it is not the Nats-Msg-Id (sends, redrives). */
  id: "Lfq-Id",
  /** The subject the message was published or sent with (sends, redrives, dead letters). */
  subject: "Lfq-Subject",
  /** Epoch ms of the first acceptance; kept across redrives. */
  publishedAt: "Lfq-Published-At",
  attempts: "Lfq-Attempts",
  /** JSON string: reasons may hold line breaks, which header values cannot. */
  reason: "Lfq-Reason",
  failedAt: "Lfq-Failed-At",
  msgId: "Nats-Msg-Id",
} as const;

const RESERVED = /^(nats-|lfq-)/i;
const HEADER_NAME = /^[!#-9;-~]+$/; // printable ASCII but ":" and space
const NO_LINE_BREAK = /^[^\r\n]*$/;

/**
 * The caller's headers with names lower-cased (what every delivery shows); rejects what NATS
 * headers cannot carry and names that would collide with the ones above.
 */
export function normalizeHeaders(
  headers: Record<string, string> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!HEADER_NAME.test(name)) {
      throw new Error(`invalid header name "${name}": printable ASCII, no ":" or space`);
    }
    if (RESERVED.test(name)) {
      throw new Error(`header name "${name}" is reserved (nats-*, lfq-*)`);
    }
    if (typeof value !== "string" || !NO_LINE_BREAK.test(value)) {
      throw new Error(`header "${name}" must be a string without line breaks`);
    }
    out[name.toLowerCase()] = value;
  }
  return out;
}

export function checkId(id: string | undefined): void {
  if (id !== undefined && (id === "" || !NO_LINE_BREAK.test(id))) {
    throw new Error("a message id must be non-empty and have no line breaks");
  }
}

/** The caller's headers plus ours, ready to publish. */
export function outgoingHeaders(
  user: Record<string, string> | undefined,
  ours: Partial<Record<keyof typeof H, string>>,
): MsgHdrs {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(user ?? {})) h.set(name, value);
  for (const [key, value] of Object.entries(ours) as [keyof typeof H, string | undefined][]) {
    if (value !== undefined) h.set(H[key], value);
  }
  return h;
}

/** The caller's headers of a stored message, lower-cased (external publishers use any case). */
export function userHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const [name, values] of h) {
    if (RESERVED.test(name)) continue;
    const key = name.toLowerCase();
    const joined = values.join(", ");
    out[key] = out[key] === undefined ? joined : `${out[key]}, ${joined}`;
  }
  return out;
}

/** A header of ours, or undefined when absent or empty. */
export function ourHeader(h: MsgHdrs | undefined, name: string): string | undefined {
  const value = h?.get(name) ?? "";
  return value === "" ? undefined : value;
}

/** What a stream message is as a queue message, whichever way it was published. */
export function storedMessage(
  stream: string,
  m: { seq: number; subject: string; data: Uint8Array; headers: MsgHdrs | undefined; time: Date },
): QueueMessage {
  const h = m.headers;
  const publishedAt = Number(ourHeader(h, H.publishedAt));
  return {
    id: ourHeader(h, H.id) ?? ourHeader(h, H.msgId) ?? `${stream}:${m.seq}`,
    subject: ourHeader(h, H.subject) ?? m.subject,
    data: m.data,
    headers: userHeaders(h),
    publishedAt: Number.isFinite(publishedAt) && publishedAt > 0 ? publishedAt : m.time.getTime(),
  };
}
