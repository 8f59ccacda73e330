// Invocation records through the admin API: a function's recent invocations (filtered), one
// record with its log lines, and a replay of a recorded input against the live or a chosen version.
import { randomUUID } from "node:crypto";
import type { InvocationRecordEntry, RecordQuery, RecordsPort } from "../ports/records.js";
import type { FunctionVersion, InvocationRequest, InvocationResponse } from "../runtimes/types.js";
import { parseDuration } from "../shared/duration.js";
import { LitefaasError } from "../shared/errors.js";
import { NAME_PATTERN } from "../shared/manifest/schema.js";
import { resultOf } from "../triggers/invocation-records.js";
import { readJson, type Route } from "./admin-http.js";
import { notFound, type Registry } from "./registry.js";

export interface RecordDeps {
  registry: Registry;
  records: Pick<RecordsPort, "get" | "list">;
  /** Runs a replayed invocation where functions run (this process, or a worker). */
  replay(fn: FunctionVersion, request: InvocationRequest): Promise<InvocationResponse>;
}

const FN = "\\/admin\\/v1\\/functions\\/([^/]+)\\/([^/]+)";
const TRIGGERS = new Set(["http", "message", "scheduled", "async", "replay"]);
const NAME = new RegExp(NAME_PATTERN);

export function recordRoutes(deps: RecordDeps): Route[] {
  const find = async (id: string): Promise<InvocationRecordEntry> => {
    const record = await deps.records.get(id);
    if (record === undefined) {
      throw new LitefaasError("NOT_FOUND", `no invocation record ${id}`, {
        fix: "list a function's records with `litefaas invocations ls <project>/<function>`; records older than the function's records.maxAge, or beyond records.keep, are gone",
      });
    }
    return record;
  };
  return [
    [
      "GET",
      new RegExp(`^${FN}\\/records$`),
      async ({ params: [project = "", name = ""], query }) => {
        // names become part of NATS subjects: nothing but a name may widen what is read
        if (!NAME.test(project) || !NAME.test(name)) {
          throw new LitefaasError(
            "INVALID_REQUEST",
            `"${project}/${name}" is not a function's name`,
            {
              fix: "names are lowercase letters, digits and dashes, e.g. shop/hello",
            },
          );
        }
        return { records: await deps.records.list(project, name, recordQuery(query)) };
      },
    ],
    ["GET", /^\/admin\/v1\/records\/([^/]+)$/, ({ params: [id = ""] }) => find(id)],
    [
      "POST",
      /^\/admin\/v1\/records\/([^/]+)\/replay$/,
      async ({ req, params: [id = ""] }) => {
        const body = (await readJson(req)) as { version?: unknown };
        const record = await find(id);
        const fn = await versionFor(deps.registry, record, body.version);
        const request = replayRequest(record);
        const response = await deps.replay(fn, request);
        return { id: request.id, version: fn.version, ...(await resultOf(response)) };
      },
    ],
  ];
}

/** ?outcome=error&trigger=message&since=1h|<ISO time>&before=<epoch ms>&limit=50 */
export function recordQuery(query: URLSearchParams): RecordQuery {
  const out: RecordQuery = {};
  const outcome = query.get("outcome") ?? query.get("status");
  if (outcome !== null) {
    if (outcome !== "ok" && outcome !== "error") {
      throw new LitefaasError("INVALID_REQUEST", `outcome "${outcome}" is not ok or error`, {
        fix: "filter with ?outcome=error (or ok)",
      });
    }
    out.outcome = outcome;
  }
  const trigger = query.get("trigger");
  if (trigger !== null) {
    if (!TRIGGERS.has(trigger)) {
      throw new LitefaasError("INVALID_REQUEST", `trigger "${trigger}" is not one there is`, {
        fix: `use one of ${[...TRIGGERS].join(", ")}`,
      });
    }
    out.trigger = trigger as RecordQuery["trigger"] & string;
  }
  const since = query.get("since");
  if (since !== null) out.since = timeOf(since, "since");
  const before = query.get("before");
  if (before !== null) out.before = timeOf(before, "before");
  const limit = query.get("limit");
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      throw new LitefaasError("INVALID_REQUEST", `limit "${limit}" is not 1..1000`, {
        fix: "ask for at most 1000 records a page; page back with ?before=<oldest start>",
      });
    }
    out.limit = n;
  }
  return out;
}

/** A point in time: a duration back from now (1h), an ISO time, or epoch milliseconds. */
export function timeOf(text: string, what: string): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return Date.now() - ago;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new LitefaasError("INVALID_REQUEST", `${what} "${text}" is not a time`, {
      fix: `give a duration back from now (${what}=1h, 30m, 7d), an ISO time or epoch milliseconds`,
    });
  }
  return ms;
}

async function versionFor(
  registry: Registry,
  record: InvocationRecordEntry,
  asked: unknown,
): Promise<FunctionVersion> {
  const { project, function: name } = record;
  if (asked === undefined || asked === null) {
    const live = registry.resolve(project, name);
    if (live === undefined) throw notFound(project, name);
    return live;
  }
  if (typeof asked !== "number" || !Number.isInteger(asked) || asked < 1) {
    throw new LitefaasError("INVALID_REQUEST", `version ${JSON.stringify(asked)} is not a number`, {
      fix: "give a version number as `litefaas versions` lists them, or none for the live one",
    });
  }
  const version = await registry.version(project, name, asked);
  if (version === undefined) {
    throw new LitefaasError("VERSION_NOT_FOUND", `${project}/${name} has no version ${asked}`, {
      fix: `list its versions with \`litefaas versions ${project}/${name}\``,
    });
  }
  return version;
}

/** The recorded input as a new invocation (a fresh id; trigger "replay"). */
export function replayRequest(record: InvocationRecordEntry): InvocationRequest {
  const input = record.input;
  if (input === undefined) {
    throw new LitefaasError("INVALID_REQUEST", `${record.id} was recorded without its input`, {
      fix: `set records: { payloads: true } on ${record.project}/${record.function} in litefaas.yaml and deploy; invocations recorded from then on can be replayed`,
    });
  }
  if (input.truncated) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `${record.id}'s body was kept in part (${input.size} bytes, more than records.maxPayload), so a replay would not send what was sent`,
      {
        fix: "raise records.maxPayload (at most 1 MiB) and deploy; later invocations can be replayed",
      },
    );
  }
  const body = Buffer.from(input.body, input.encoding === "base64" ? "base64" : "utf8");
  const id = randomUUID();
  const base = { id, method: "", url: "", headers: [], body: null, sourceIp: "replay" } as const;
  if (record.trigger === "message" || input.subject !== undefined) {
    return {
      ...base,
      headers: [],
      trigger: "replay",
      event: {
        kind: "message",
        id,
        subject: input.subject ?? "",
        data: new Uint8Array(body),
        headers: { ...input.headers },
        attempt: 1,
        publishedAt: Date.now(),
      },
    };
  }
  if (record.trigger === "scheduled") {
    return {
      ...base,
      headers: [],
      trigger: "replay",
      event: {
        kind: "scheduled",
        cron: input.headers["cron"] ?? "",
        scheduledTime: Date.parse(input.headers["scheduled-time"] ?? "") || Date.now(),
        attempt: 1,
      },
    };
  }
  return {
    id,
    method: input.method ?? "GET",
    url: input.url ?? "http://localhost/",
    headers: Object.entries(input.headers).flat(),
    body: body.length === 0 && input.size === 0 ? null : new Uint8Array(body),
    sourceIp: "replay",
    trigger: "replay",
  };
}
