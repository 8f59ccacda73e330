// The operator's side of triggers: publish an event into a project, look into and act on a
// function's dead-letter queue, read an async invocation's record.
import type { IncomingMessage } from "node:http";
import { BindingUserError } from "../bindings/binding-error.js";
import { checkSubject, RESERVED_HEADER } from "../bindings/events/host.js";
import type { AsyncInvoker } from "../invoke/index.js";
import type { DeadLetter } from "../ports/queue.js";
import { LitefaasError } from "../shared/errors.js";
import { NAME_PATTERN } from "../shared/manifest/schema.js";
import { utf8OrUndefined } from "../triggers/event-data.js";
import type { Triggers } from "../triggers/index.js";
import type { ClusterNames } from "../shared/cluster-names.js";
import { HEADER } from "../triggers/names.js";
import { readBytes, readJson, type Route } from "./admin-http.js";
import { notFound, type Registry } from "./registry.js";
import type { DeadLetterView } from "./dead-letter-view.js";

export interface TriggerDeps {
  registry: Registry;
  triggers: Pick<Triggers, "deadLetters" | "pending">;
  /** Async invocations' records (the same the gateway's GET /invocations/<id> answers). */
  async: Pick<AsyncInvoker, "status">;
  /** Publish on a subject of a project, as a function's env.events.publish does. */
  publishEvent(
    project: string,
    subject: string,
    data: Uint8Array,
    headers: Record<string, string>,
  ): Promise<void>;
  /** The cluster's subjects (dead letters are shown with their project-relative subject). */
  names: ClusterNames;
}

/** What env.events accepts from a function; an operator gets no more. */
const MAX_EVENT_BYTES = 1024 * 1024;
const EVENT_HEADER_PREFIX = "x-event-header-";
const HEADER_NAME = /^[a-z0-9-]{1,64}$/;
/** Headers the platform and NATS read on queued work: an event must not forge them. */
const PROJECT = new RegExp(NAME_PATTERN);
const MAX_PAGE = 1000;
/** As the gateway's GET /invocations/<id> accepts them. */
const INVOCATION_ID = /^[A-Za-z0-9-]{1,64}$/;

const FN = "\\/admin\\/v1\\/functions\\/([^/]+)\\/([^/]+)";

export function triggerRoutes(deps: TriggerDeps): Route[] {
  const known = (project: string, name: string) => {
    if (deps.registry.get(project, name) === undefined) throw notFound(project, name);
  };
  return [
    [
      "POST",
      /^\/admin\/v1\/projects\/([^/]+)\/events\/(.*)$/,
      async ({ req, res, params: [project = "", subject = ""] }) => {
        if (!PROJECT.test(project)) {
          req.resume();
          throw new LitefaasError("INVALID_REQUEST", `"${project}" is not a project name`, {
            fix: "project names are lowercase letters, digits and dashes, e.g. shop",
          });
        }
        validSubject(subject, req);
        const headers = eventHeaders(req);
        const data = await readEvent(req);
        await deps.publishEvent(project, subject, data, headers);
        // accepted: consumers (if any) handle it later
        const text = JSON.stringify({ published: true, subject });
        res.writeHead(202, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text),
        });
        res.end(text);
        return undefined;
      },
    ],
    [
      "GET",
      new RegExp(`^${FN}\\/dlq$`),
      async ({ params: [project = "", name = ""], query }) => {
        known(project, name);
        const limit = pageLimit(query.get("limit"));
        const after = query.get("after") ?? undefined;
        const [page, count] = await Promise.all([
          listPage(deps, project, name, limit, after),
          deps.triggers.deadLetters.count(project, name),
        ]);
        return {
          items: page.items.map((d) => view(project, d, deps.names)),
          ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
          count,
        };
      },
    ],
    [
      "POST",
      new RegExp(`^${FN}\\/dlq\\/redrive$`),
      async ({ req, params: [project = "", name = ""] }) => {
        known(project, name);
        const ids = await idsOf(req);
        return { redriven: await deps.triggers.deadLetters.redrive(project, name, ids) };
      },
    ],
    [
      "POST",
      new RegExp(`^${FN}\\/dlq\\/purge$`),
      async ({ req, params: [project = "", name = ""] }) => {
        known(project, name);
        const ids = await idsOf(req);
        return { purged: await deps.triggers.deadLetters.purge(project, name, ids) };
      },
    ],
    [
      "GET",
      new RegExp(`^${FN}\\/dlq\\/([^/]+)$`),
      async ({ params: [project = "", name = "", id = ""] }) => {
        known(project, name);
        const letter = await deps.triggers.deadLetters.get(project, name, id);
        if (letter === undefined) {
          throw new LitefaasError("NOT_FOUND", `${project}/${name} has no dead letter ${id}`, {
            fix: `list them with \`litefaas dlq ls ${project}/${name}\`; a redriven or purged one is gone`,
          });
        }
        return view(project, letter, deps.names);
      },
    ],
    [
      "GET",
      /^\/admin\/v1\/invocations\/([^/]+)$/,
      async ({ params: [id = ""] }) => {
        // ids are UUIDs; anything else is not one (and never reaches the store's key checks)
        const record = INVOCATION_ID.test(id) ? await deps.async.status(id) : undefined;
        if (record === undefined) {
          throw new LitefaasError("NOT_FOUND", `no async invocation ${id}`, {
            fix: "use the id a 202 answer gave; records are kept 3 days after their last change",
          });
        }
        return record;
      },
    ],
  ];
}

function validSubject(subject: string, req: IncomingMessage): void {
  try {
    checkSubject(subject);
  } catch (error) {
    if (!(error instanceof BindingUserError)) throw error;
    req.resume();
    throw new LitefaasError("INVALID_REQUEST", error.message, {
      fix: "publish on a subject such as orders.created; wildcards are for consumers only",
    });
  }
}

/** The request's content type, and x-event-header-<name> headers as <name>. */
function eventHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const type = req.headers["content-type"];
  if (type !== undefined && type !== "") headers["content-type"] = type;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const raw = (req.rawHeaders[i] ?? "").toLowerCase();
    if (!raw.startsWith(EVENT_HEADER_PREFIX)) continue;
    const name = raw.slice(EVENT_HEADER_PREFIX.length);
    if (!HEADER_NAME.test(name) || RESERVED_HEADER.test(name)) {
      req.resume();
      throw new LitefaasError("INVALID_REQUEST", `"${name}" cannot be an event header`, {
        fix: 'event header names are letters, digits and "-", at most 64, not starting with litefaas- or nats-',
      });
    }
    headers[name] = req.rawHeaders[i + 1] ?? "";
  }
  return headers;
}

async function readEvent(req: IncomingMessage): Promise<Uint8Array> {
  const tooLarge = () =>
    new LitefaasError("BODY_TOO_LARGE", `an event is at most ${MAX_EVENT_BYTES} bytes`, {
      fix: "publish a reference to the data (e.g. a key or URL) instead of the data itself",
    });
  // a declared length is refused before reading, the rest discarded, so the 413 reaches a
  // client still sending (a stream cut short mid-read closes the connection instead)
  if (Number(req.headers["content-length"] ?? 0) > MAX_EVENT_BYTES) {
    req.resume();
    throw tooLarge();
  }
  try {
    return await readBytes(req, MAX_EVENT_BYTES);
  } catch (error) {
    if (error instanceof LitefaasError && error.code === "BODY_TOO_LARGE") throw tooLarge();
    throw error;
  }
}

function pageLimit(text: string | null): number | undefined {
  if (text === null) return undefined;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `limit "${text}" is not a number from 1 to ${MAX_PAGE}`,
      {
        fix: "pass e.g. limit=100",
      },
    );
  }
  return limit;
}

async function listPage(
  deps: TriggerDeps,
  project: string,
  name: string,
  limit: number | undefined,
  after: string | undefined,
) {
  try {
    return await deps.triggers.deadLetters.list(project, name, {
      ...(limit === undefined ? {} : { limit }),
      ...(after === undefined ? {} : { after }),
    });
  } catch (error) {
    // cursors are the backend's own: one it cannot read is the caller's mistake, not a fault
    if (after === undefined || error instanceof LitefaasError) throw error;
    throw new LitefaasError("INVALID_REQUEST", `"${after}" is not a dead-letter cursor`, {
      fix: "pass the cursor a previous page answered, or leave out after",
    });
  }
}

/** `{ ids?: string[] }`; no ids means all. */
async function idsOf(req: IncomingMessage): Promise<string[] | undefined> {
  const body = (await readJson(req)) as { ids?: unknown };
  if (body.ids === undefined) return undefined;
  if (!Array.isArray(body.ids) || !body.ids.every((id) => typeof id === "string" && id !== "")) {
    throw new LitefaasError("INVALID_REQUEST", "`ids` must be a list of dead-letter ids", {
      fix: 'send { "ids": ["…"] }, or {} for all',
    });
  }
  return body.ids as string[];
}

function view(project: string, letter: DeadLetter, names: ClusterNames): DeadLetterView {
  const text = utf8OrUndefined(letter.data);
  const kind = letter.headers[HEADER.kind];
  return {
    id: letter.id,
    subject: names.relativeSubject(project, letter.subject),
    kind: kind === "http" || kind === "scheduled" ? kind : "message",
    attempts: letter.attempts,
    reason: letter.reason,
    failedAt: new Date(letter.failedAt).toISOString(),
    publishedAt: new Date(letter.publishedAt).toISOString(),
    headers: letter.headers,
    data: text ?? Buffer.from(letter.data).toString("base64"),
    encoding: text === undefined ? "base64" : "utf8",
  };
}

/** A function's queue at a glance, for its detail view; absent when the queue cannot say. */
export async function queueStats(
  deps: Pick<TriggerDeps, "triggers">,
  project: string,
  name: string,
): Promise<{ pending: number; deadLetters: number } | undefined> {
  try {
    const [pending, deadLetters] = await Promise.all([
      deps.triggers.pending(project, name),
      deps.triggers.deadLetters.count(project, name),
    ]);
    return { pending, deadLetters };
  } catch {
    return undefined;
  }
}
