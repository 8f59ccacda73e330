// litefaas events publish <project> <subject> [data]: one event into a project, as a function's
// env.events.publish would send it (consumers, DLQ and `events tail` see it the same way).
import { readFile } from "node:fs/promises";
import { LitefaasError } from "../../shared/errors.js";
import { errorFrom, type ClientOptions } from "../client.js";
import type { Flags } from "../main.js";
import type { Output } from "../output.js";

const USAGE =
  "litefaas events publish <project> <subject> [data] [--file <path>] [--content-type <type>] [--header name=value]...";
/** The admin API refuses more; say so before sending it. */
const MAX_EVENT_BYTES = 1024 * 1024;

export async function eventsPublishCommand(
  options: ClientOptions,
  args: string[],
  flags: Flags,
  out: Output,
): Promise<number> {
  const [project, subject, text, ...extra] = args;
  if (project === undefined || subject === undefined || extra.length > 0) {
    throw new LitefaasError("INVALID_REQUEST", "events publish needs a project and a subject", {
      fix: `${USAGE}, e.g. litefaas events publish shop orders.created '{"id":7}'`,
    });
  }
  const data = await eventData(text, flags.file);
  if (data.length > MAX_EVENT_BYTES) {
    throw new LitefaasError(
      "BODY_TOO_LARGE",
      `an event is at most ${MAX_EVENT_BYTES} bytes; this one is ${data.length}`,
      {
        fix: "publish a reference to the data (e.g. a key or URL) instead of the data itself",
      },
    );
  }
  const headers: Record<string, string> = {
    "content-type": flags["content-type"] ?? contentTypeOf(data),
  };
  for (const header of flags.header ?? []) {
    const [name, value] = splitHeader(header);
    headers[`x-event-header-${name}`] = value;
  }
  const answer = await postBytes(
    options,
    `/admin/v1/projects/${encodeURIComponent(project)}/events/${encodeURIComponent(subject)}`,
    data,
    headers,
  );
  out.result(answer, () => `published ${subject}`);
  return 0;
}

/** The argument, else --file, else stdin when it is piped. */
async function eventData(text: string | undefined, file: string | undefined): Promise<Uint8Array> {
  if (text !== undefined && file !== undefined) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      "give the event's data once: as an argument or --file",
      {
        fix: USAGE,
      },
    );
  }
  if (text !== undefined) return new TextEncoder().encode(text);
  if (file !== undefined) return readFile(file);
  if (process.stdin.isTTY) {
    throw new LitefaasError("INVALID_REQUEST", "no data for the event", {
      fix: "pass it as an argument, with --file <path>, or on stdin (e.g. echo '{}' | litefaas events publish …)",
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** JSON when it parses as JSON, text when it is UTF-8, else bytes. */
export function contentTypeOf(data: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return "application/octet-stream";
  }
  try {
    JSON.parse(text);
    return "application/json";
  } catch {
    return "text/plain; charset=utf-8";
  }
}

/** "name=value" (or "name: value", as invoke takes it). */
function splitHeader(header: string): [string, string] {
  const at = [header.indexOf("="), header.indexOf(":")].filter((i) => i > 0);
  if (at.length === 0) {
    throw new LitefaasError("INVALID_REQUEST", `--header "${header}" is not name=value`, {
      fix: "e.g. --header trace-id=abc123",
    });
  }
  const cut = Math.min(...at);
  return [header.slice(0, cut).trim().toLowerCase(), header.slice(cut + 1).trim()];
}

/** The admin client sends bytes as application/octet-stream; an event keeps its own type. */
async function postBytes(
  options: ClientOptions,
  path: string,
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<unknown> {
  if (options.token === undefined) {
    throw new LitefaasError("UNAUTHORIZED", "no admin token", {
      fix: "pass --token, set LITEFAAS_TOKEN, or run in the directory where `litefaas up` keeps .litefaas/admin-token",
    });
  }
  let response: Response;
  try {
    response = await fetch(`${options.url}${path}`, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${options.token}` },
      body,
    });
  } catch (error) {
    throw new LitefaasError(
      "INTERNAL",
      `cannot reach litefaas at ${options.url}: ${(error as Error).message}`,
      {
        fix: "start it with `litefaas up`, or point --url / LITEFAAS_URL at a running node",
      },
    );
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}
