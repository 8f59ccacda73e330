// Function logs through the admin API: a function's (or a whole project's) recent lines, and with
// follow=1 an NDJSON stream of new ones. Filters are applied here, where the lines are, so a
// follower is sent only the lines it asked for.
import type { ServerResponse } from "node:http";
import { isLogLevel, LOG_LEVELS, lineMatcher, type LogFilter } from "../observe/log-filter.js";
import type { LogBook, LogLine } from "../observe/logs.js";
import { LitefaasError } from "../shared/errors.js";
import { NAME_PATTERN } from "../shared/manifest/schema.js";
import { mapLimited } from "../shared/map-limited.js";
import type { Route } from "./admin-http.js";
import { streamNdjson } from "./ndjson-stream.js";
import { notFound, type Registry } from "./registry.js";

export interface LogDeps {
  registry: Registry;
  logs: LogBook;
}

const MAX_LIMIT = 1000;
const TAILS_PARALLEL = 4;
const NAME = new RegExp(NAME_PATTERN);

export function logRoutes(deps: LogDeps): Route[] {
  return [
    [
      "GET",
      /^\/admin\/v1\/functions\/([^/]+)\/([^/]+)\/logs$/,
      async ({ res, params: [project = "", name = ""], query }) => {
        if (deps.registry.get(project, name) === undefined) throw notFound(project, name);
        const { limit, filter, follow } = logQuery(query);
        const lines = await deps.logs.tail(project, name, limit, filter);
        if (!follow) return { lines };
        streamLines(res, lines, filter, { project, function: name }, (onLine) =>
          deps.logs.follow(project, name, onLine),
        );
        return undefined;
      },
    ],
    [
      "GET",
      /^\/admin\/v1\/projects\/([^/]+)\/logs$/,
      async ({ res, params: [project = ""], query }) => {
        const only = query.get("function");
        const names = projectFunctions(deps.registry, project, only);
        const { limit, filter, follow } = logQuery(query);
        // a filtered tail may read a function's log files: a few functions at a time
        const tails = await mapLimited(names, TAILS_PARALLEL, (name) =>
          deps.logs.tail(project, name, limit, filter),
        );
        // one time line: sort is stable, so each function's own order holds on equal times
        const lines = tails
          .flat()
          .sort((a, b) => a.ts - b.ts)
          .slice(-limit);
        if (!follow) return { lines };
        streamLines(res, lines, filter, { project, function: only ?? undefined }, (onLine) =>
          only === null
            ? deps.logs.followProject(project, onLine)
            : deps.logs.follow(project, only, onLine),
        );
        return undefined;
      },
    ],
  ];
}

/** The functions a project's log route reads: all the registry has, or the one named. */
function projectFunctions(registry: Registry, project: string, only: string | null): string[] {
  if (!NAME.test(project)) {
    throw new LitefaasError("INVALID_REQUEST", `"${project}" is not a project's name`, {
      fix: "names are lowercase letters, digits and dashes, e.g. shop",
    });
  }
  if (only !== null) {
    if (registry.get(project, only) === undefined) throw notFound(project, only);
    return [only];
  }
  const names = registry
    .list()
    .filter((f) => f.project === project)
    .map((f) => f.name);
  if (names.length === 0) {
    throw new LitefaasError("NOT_FOUND", `no function is deployed in project ${project}`, {
      fix: "list deployed functions with `litefaas ls`, or deploy the project with `litefaas deploy`",
    });
  }
  return names;
}

/** ?limit=100&level=warn&request=<id>&q=<text>&follow=1 */
export function logQuery(query: URLSearchParams): {
  limit: number;
  filter: LogFilter;
  follow: boolean;
} {
  const filter: LogFilter = {};
  const level = query.get("level");
  if (level !== null) {
    if (!isLogLevel(level)) {
      throw new LitefaasError("INVALID_REQUEST", `level "${level}" is not a log level`, {
        fix: `use one of ${LOG_LEVELS.join(", ")} (log is info); a level keeps itself and those above: warn keeps warn and error`,
      });
    }
    filter.level = level;
  }
  const request = query.get("request");
  if (request !== null) {
    if (request === "") {
      throw new LitefaasError("INVALID_REQUEST", "the request id to filter on is empty", {
        fix: "pass a request id, e.g. ?request=<the X-Request-Id of an answer>, or leave request out",
      });
    }
    // a retry's record id (<id>~2) names the lines of its request
    filter.requestId = request.replace(/~\d+$/, "");
  }
  const text = query.get("q");
  if (text !== null && text !== "") filter.text = text;
  return { limit: lineLimit(query.get("limit")), filter, follow: query.get("follow") === "1" };
}

function lineLimit(text: string | null): number {
  if (text === null) return 100;
  const limit = /^\d+$/.test(text) ? Number(text) : 0;
  if (limit < 1) {
    throw new LitefaasError("INVALID_REQUEST", `limit "${text}" is not a number of lines`, {
      fix: `pass a whole number from 1 to ${MAX_LIMIT}, e.g. ?limit=100`,
    });
  }
  return Math.min(limit, MAX_LIMIT);
}

/** NDJSON: the backlog, then every new line that matches, until the client goes away. */
function streamLines(
  res: ServerResponse,
  backlog: LogLine[],
  filter: LogFilter,
  where: { project: string; function?: string },
  follow: (onLine: (line: LogLine) => void) => () => void,
): void {
  const matches = lineMatcher(filter);
  streamNdjson(
    res,
    backlog,
    (send) =>
      follow((line) => {
        if (matches === undefined || matches(line)) send(line);
      }),
    (count): LogLine => ({
      ts: Date.now(),
      project: where.project,
      function: where.function ?? "",
      version: 0,
      requestId: "",
      level: "warn",
      message: `[litefaas] ${count} log lines not sent: this follower read slower than they were logged`,
    }),
  );
}
