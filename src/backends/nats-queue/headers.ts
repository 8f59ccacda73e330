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

const utf8 = new TextEncoder();

/**
 * The same headers as outgoingHeaders, in their wire form for a core publish (publisher.ts): on
 * the hot path the client's MsgHdrs costs more than the rest of a publish, as every set re-scans
 * and re-validates its keys. Names and values were checked by normalizeHeaders and checkId (no
 * ":" in names, no line breaks).
 */
export function encodedHeaders(
  user: Record<string, string>,
  ours: Partial<Record<keyof typeof H, string>>,
): Uint8Array {
  let text = "NATS/1.0";
  for (const name in user) text += `\r\n${name}: ${user[name]?.trim()}`;
  for (const key in ours) {
    const value = ours[key as keyof typeof H];
    if (value !== undefined) text += `\r\n${H[key as keyof typeof H]}: ${value.trim()}`;
  }
  return utf8.encode(`${text}\r\n\r\n`);
}

/** Our headers as read from a stored message; empty values count as absent. */
interface Ours {
  id?: string;
  msgId?: string;
  subject?: string;
  publishedAt?: string;
}

/**
 * The caller's headers of a stored message, lower-cased (external publishers use any case), and
 * ours beside them: one pass, as the client's get() scans every key for each name asked.
 */
function splitHeaders(h: MsgHdrs | undefined): { user: Record<string, string>; ours: Ours } {
  const user: Record<string, string> = {};
  const ours: Ours = {};
  if (h === undefined) return { user, ours };
  for (const [name, values] of h) {
    const first = values[0] ?? "";
    if (RESERVED.test(name)) {
      if (first === "") continue;
      if (name === H.id) ours.id = first;
      else if (name === H.msgId) ours.msgId = first;
      else if (name === H.subject) ours.subject = first;
      else if (name === H.publishedAt) ours.publishedAt = first;
      continue;
    }
    const key = name.toLowerCase();
    const joined = values.length === 1 ? first : values.join(", ");
    user[key] = user[key] === undefined ? joined : `${user[key]}, ${joined}`;
  }
  return { user, ours };
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
  const { user, ours } = splitHeaders(m.headers);
  const publishedAt = Number(ours.publishedAt);
  return {
    id: ours.id ?? ours.msgId ?? `${stream}:${m.seq}`,
    subject: ours.subject ?? m.subject,
    data: m.data,
    headers: user,
    publishedAt: Number.isFinite(publishedAt) && publishedAt > 0 ? publishedAt : m.time.getTime(),
  };
}
