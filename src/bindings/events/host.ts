// env.events' host half: publish into the function's own project namespace. A function names a
// subject inside its project; the platform prefixes it, so no subject it writes can reach
// another project's events or the platform's own subjects.
import { invalid, type BindingHost } from "../binding-error.js";

const TOKEN = /^[A-Za-z0-9_-]+$/;
const MAX_SUBJECT = 256;
const MAX_EVENT_BYTES = 1024 * 1024;
const utf8 = new TextEncoder();
/** Headers the platform's queue uses to tell async invocations and cron runs from events. */
export const RESERVED_HEADER = /^(litefaas-|nats-)/;

export function checkSubject(subject: unknown): string {
  if (typeof subject !== "string" || subject.length === 0 || subject.length > MAX_SUBJECT) {
    throw invalid(
      `an event subject is a non-empty string of at most ${MAX_SUBJECT} characters, e.g. "orders.created"`,
    );
  }
  for (const token of subject.split(".")) {
    if (!TOKEN.test(token)) {
      throw invalid(
        `"${subject}" is not a subject to publish to: use tokens of letters, digits, "_" and "-" separated by "." (no wildcards, no empty tokens)`,
      );
    }
  }
  return subject;
}

export type PublishEvent = (
  subject: string,
  data: Uint8Array,
  headers: Record<string, string>,
) => Promise<void>;

/**
 * `publish` accepts an event on a subject of the function's own project. The calling
 * invocation's traceparent (`traceparentOf`) goes with it, unless the function set its own.
 */
export function createEventsHost(
  publish: PublishEvent,
  traceparentOf: (requestId: string) => string | undefined = () => undefined,
): BindingHost {
  return async (op, args, requestId) => {
    if (op !== "publish") throw invalid(`env.events has no operation "${op}"`);
    const [subject, payload, headers] = args;
    const data =
      typeof payload === "string"
        ? utf8.encode(payload)
        : payload instanceof ArrayBuffer
          ? new Uint8Array(payload)
          : undefined;
    if (data === undefined)
      throw invalid("an event's data is a string, bytes, or a JSON-serializable value");
    if (data.length > MAX_EVENT_BYTES)
      throw invalid(`an event is at most ${MAX_EVENT_BYTES} bytes; this one is ${data.length}`);
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries((headers ?? {}) as Record<string, unknown>)) {
      if (typeof v !== "string" || !/^[A-Za-z0-9-]{1,64}$/.test(k)) continue;
      const name = k.toLowerCase();
      if (RESERVED_HEADER.test(name)) {
        throw invalid(
          `the event header "${k}" is reserved for the platform (litefaas-* and nats-*); name it differently, e.g. x-${name}`,
        );
      }
      clean[name] = v;
    }
    if (clean["traceparent"] === undefined && requestId !== undefined) {
      const traceparent = traceparentOf(requestId);
      if (traceparent !== undefined) clean["traceparent"] = traceparent;
    }
    await publish(checkSubject(subject), data, clean);
    return null;
  };
}
