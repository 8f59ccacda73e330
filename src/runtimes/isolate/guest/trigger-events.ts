// What a message or a cron tick looks like to a function: `message(msg, env, ctx)` gets a
// Message, `scheduled(event, env, ctx)` a ScheduledEvent (the Workers shape).
import { utf8 } from "../../../shared/lambda-events.js";
import type { FlatHeaders } from "./host-api.js";

/** The host's description of an event invocation, as JSON. */
export interface EventMeta {
  id?: string;
  subject?: string;
  attempt?: number;
  publishedAt?: number;
  cron?: string;
  scheduledTime?: number;
}

export interface Message {
  readonly id: string;
  readonly subject: string;
  /** Parsed JSON for JSON data, a string for text, else the bytes. */
  readonly data: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on the first delivery. */
  readonly attempt: number;
  /** When the event was accepted (epoch ms). */
  readonly publishedAt: number;
}

export interface ScheduledEvent {
  readonly type: "scheduled";
  readonly cron: string;
  /** The tick this run is for (epoch ms), even when it runs late. */
  readonly scheduledTime: number;
  readonly attempt: number;
}

export function toMessage(meta: EventMeta, flat: FlatHeaders, data: ArrayBuffer | null): Message {
  const headers: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) headers[flat[i] ?? ""] = flat[i + 1] ?? "";
  const bytes = new Uint8Array(data ?? new ArrayBuffer(0));
  return Object.freeze({
    id: meta.id ?? "",
    subject: meta.subject ?? "",
    data: decodeData(bytes, headers["content-type"]),
    headers: Object.freeze(headers),
    attempt: meta.attempt ?? 1,
    publishedAt: meta.publishedAt ?? 0,
  });
}

export function toScheduledEvent(meta: EventMeta): ScheduledEvent {
  return Object.freeze({
    type: "scheduled",
    cron: meta.cron ?? "",
    scheduledTime: meta.scheduledTime ?? 0,
    attempt: meta.attempt ?? 1,
  });
}

/** JSON is parsed, text decoded; anything else, or JSON that does not parse, stays bytes. Data
 * with no content type (an outside NATS publisher) is parsed when it is JSON. */
export function decodeData(bytes: Uint8Array, contentType: string | undefined): unknown {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const isJson = type === "application/json" || type.endsWith("+json");
  if (type === "" || isJson) {
    const text = utf8(bytes);
    if (text !== undefined) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        if (isJson) return bytes;
      }
    }
    return bytes;
  }
  if (type.startsWith("text/")) return utf8(bytes) ?? bytes;
  return bytes;
}
