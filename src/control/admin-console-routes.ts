// What the web console asks of the admin API beyond what the CLI does: a function's health
// worked out from its records, its source to edit and deploy from the browser, and a test request
// run where functions run (so it works from control in a cluster too, with no CORS involved).
import { randomUUID } from "node:crypto";
import type { BlobsPort } from "../ports/blobs.js";
import type { RecordsPort } from "../ports/records.js";
import type { FunctionVersion, InvocationRequest, InvocationResponse } from "../runtimes/types.js";
import { parseDuration } from "../shared/duration.js";
import { LitefaasError } from "../shared/errors.js";
import { parseManifest } from "../shared/manifest/load.js";
import { NAME_PATTERN } from "../shared/manifest/schema.js";
import { functionStats, type FunctionStats } from "../observe/function-stats.js";
import { resultOf } from "../triggers/invocation-records.js";
import { readJson, type Route } from "./admin-http.js";
import { bundleSource } from "./bundle.js";
import type { Deployer } from "./deployer.js";
import { notFound, type Registry } from "./registry.js";
import { mapLimited } from "../shared/map-limited.js";

export interface ConsoleDeps {
  registry: Registry;
  deployer: Deployer;
  blobs: Pick<BlobsPort, "get">;
  records: Pick<RecordsPort, "get" | "list">;
  /** Runs an invocation where functions run (this process, or a worker). */
  replay(fn: FunctionVersion, request: InvocationRequest): Promise<InvocationResponse>;
  publicUrl(): string;
}

const FN = "\\/admin\\/v1\\/functions\\/([^/]+)\\/([^/]+)";
const NAME = new RegExp(NAME_PATTERN);
/** Records read per function for its health: the newest this many in the window. */
const STATS_LIMIT = 1000;
/** Functions whose records are read at once for the list of every function's health. */
const STATS_PARALLEL = 8;
const MAX_SOURCE = 1024 * 1024;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

function checkName(project: string, name: string): void {
  if (!NAME.test(project) || !NAME.test(name)) {
    throw new LitefaasError("INVALID_REQUEST", `"${project}/${name}" is not a function's name`, {
      fix: "names are lowercase letters, digits and dashes, starting with a letter, e.g. shop/hello",
    });
  }
}

/** ?since=15m (a duration back from now, at most 7 days). */
function windowOf(query: URLSearchParams, fallback: string): { since: number; until: number } {
  const text = query.get("since") ?? fallback;
  const ago = parseDuration(text);
  if (ago === undefined || ago <= 0 || ago > 7 * 86_400_000) {
    throw new LitefaasError("INVALID_REQUEST", `since "${text}" is not a duration up to 7d`, {
      fix: "ask for a window back from now, e.g. ?since=15m, 1h or 1d",
    });
  }
  const until = Date.now();
  return { since: until - ago, until };
}

export function consoleRoutes(deps: ConsoleDeps): Route[] {
  const stats = async (project: string, name: string, query: URLSearchParams, fallback: string) => {
    const window = windowOf(query, fallback);
    const buckets = Number(query.get("buckets") ?? "30");
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 240) {
      throw new LitefaasError(
        "INVALID_REQUEST",
        `buckets "${query.get("buckets")}" is not 1..240`,
        {
          fix: "ask for at most 240 points, e.g. ?buckets=60",
        },
      );
    }
    const records = await deps.records.list(project, name, {
      since: window.since,
      limit: STATS_LIMIT,
    });
    return functionStats(records, { ...window, limit: STATS_LIMIT, buckets });
  };

  return [
    [
      "GET",
      /^\/admin\/v1\/stats$/,
      async ({ query }) => {
        windowOf(query, "15m"); // a bad window is refused before any records are read
        // a few functions' records at a time
        const out = await mapLimited(deps.registry.list(), STATS_PARALLEL, async (f) => {
          const summary: Partial<FunctionStats> = await stats(f.project, f.name, query, "15m");
          // the list shows a figure per function, not its chart
          delete summary.buckets;
          return {
            project: f.project,
            name: f.name,
            live: f.live,
            updatedAt: f.updatedAt,
            runtime: deps.registry.resolve(f.project, f.name)?.config.runtime,
            ...summary,
          };
        });
        return { functions: out };
      },
    ],
    [
      "GET",
      new RegExp(`^${FN}\\/stats$`),
      async ({ params: [project = "", name = ""], query }) => {
        checkName(project, name);
        if (deps.registry.get(project, name) === undefined) throw notFound(project, name);
        return stats(project, name, query, "1h");
      },
    ],
    [
      "GET",
      new RegExp(`^${FN}\\/source$`),
      async ({ params: [project = "", name = ""], query }) => {
        const record = deps.registry.get(project, name);
        if (record === undefined) throw notFound(project, name);
        const asked = query.get("version");
        const number = asked === null ? record.live : Number(asked);
        const version = await deps.registry.version(project, name, number);
        if (version === undefined) {
          throw new LitefaasError(
            "VERSION_NOT_FOUND",
            `${project}/${name} has no version ${asked ?? ""}`,
            {
              fix: `list its versions with \`litefaas versions ${project}/${name}\``,
            },
          );
        }
        const common = { project, name, version: version.version, runtime: version.config.runtime };
        if (version.source !== undefined) {
          const bytes = await deps.blobs.get(version.source);
          if (bytes !== undefined) {
            const source = JSON.parse(Buffer.from(bytes).toString("utf8")) as {
              file: string;
              text: string;
            };
            return { ...common, file: source.file, text: source.text, bundled: false };
          }
        }
        // deployed from a project directory: what there is to show is the bundle esbuild made
        if (version.config.runtime !== "isolate") {
          return { ...common, file: version.config.main, text: null, bundled: true };
        }
        const bytes = await deps.blobs.get(version.artifact);
        return {
          ...common,
          file: version.config.main,
          text: bytes === undefined ? null : Buffer.from(bytes).toString("utf8"),
          bundled: true,
        };
      },
    ],
    [
      "PUT",
      new RegExp(`^${FN}\\/source$`),
      async ({ req, params: [project = "", name = ""] }) => {
        checkName(project, name);
        const body = (await readJson(req)) as { text?: unknown; file?: unknown };
        if (typeof body.text !== "string" || body.text.trim() === "") {
          throw new LitefaasError("INVALID_REQUEST", "a source deploy needs { text }", {
            fix: 'send the function\'s code as { "text": "export default { fetch() { … } }" }',
          });
        }
        if (Buffer.byteLength(body.text) > MAX_SOURCE) {
          throw new LitefaasError("BODY_TOO_LARGE", `the source is over ${MAX_SOURCE} bytes`, {
            fix: "deploy a project with `litefaas deploy <dir>` for code this large",
          });
        }
        const file = typeof body.file === "string" && body.file !== "" ? body.file : `${name}.ts`;
        if (!/^[A-Za-z0-9_./-]+\.(ts|js|mts|mjs)$/.test(file) || file.includes("..")) {
          throw new LitefaasError("INVALID_REQUEST", `file "${file}" is not a .ts or .js name`, {
            fix: "name the file like index.ts or handler.js",
          });
        }
        const live = deps.registry.resolve(project, name);
        if (live !== undefined && live.config.runtime !== "isolate") {
          throw new LitefaasError(
            "INVALID_REQUEST",
            `${project}/${name} runs as ${live.config.runtime}: the console edits TypeScript and JavaScript functions`,
            {
              fix: `deploy ${project}/${name} from its project directory with \`litefaas deploy <dir>\``,
            },
          );
        }
        // a new function takes the manifest's defaults, as if declared with only `main`
        const config =
          live?.config ??
          parseManifest(
            `project: ${project}\nfunctions:\n  ${name}:\n    main: ${file}\n`,
            "console",
          ).functions[name];
        if (config === undefined) throw new Error("the default manifest has no function");
        const bundle = await bundleSource(file, body.text, name);
        const deployed = await deps.deployer.deployCode(project, name, config, bundle, {
          file,
          text: body.text,
        });
        return { project, ...deployed, url: `${deps.publicUrl()}/fn/${project}/${name}` };
      },
    ],
    [
      "POST",
      new RegExp(`^${FN}\\/invoke$`),
      async ({ req, params: [project = "", name = ""] }) => {
        const fn = deps.registry.resolve(project, name);
        if (fn === undefined) throw notFound(project, name);
        const body = (await readJson(req)) as {
          method?: unknown;
          path?: unknown;
          headers?: unknown;
          body?: unknown;
        };
        const request = testRequest(body);
        const started = performance.now();
        const response = await deps.replay(fn, request);
        const result = await resultOf(response);
        return {
          requestId: request.id,
          version: fn.version,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          ...result,
        };
      },
    ],
  ];
}

/** The request builder's request, as the gateway would hand it to the function. */
function testRequest(body: {
  method?: unknown;
  path?: unknown;
  headers?: unknown;
  body?: unknown;
}): InvocationRequest {
  const method = typeof body.method === "string" ? body.method.toUpperCase() : "GET";
  if (!METHODS.has(method)) {
    throw new LitefaasError("INVALID_REQUEST", `method "${method}" is not an HTTP method`, {
      fix: `use one of ${[...METHODS].join(", ")}`,
    });
  }
  const path = typeof body.path === "string" && body.path !== "" ? body.path : "/";
  if (!path.startsWith("/")) {
    throw new LitefaasError("INVALID_REQUEST", `path "${path}" must start with /`, {
      fix: `use /${path}`,
    });
  }
  const headers: string[] = [];
  if (body.headers !== undefined) {
    if (typeof body.headers !== "object" || body.headers === null) {
      throw new LitefaasError("INVALID_REQUEST", "headers must be an object of names to values", {
        fix: 'e.g. { "content-type": "application/json" }',
      });
    }
    for (const [key, value] of Object.entries(body.headers as Record<string, unknown>)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key) || typeof value !== "string") {
        throw new LitefaasError(
          "INVALID_REQUEST",
          `header "${key}" is not a name with a text value`,
          {
            fix: 'e.g. { "content-type": "application/json" }',
          },
        );
      }
      headers.push(key.toLowerCase(), value);
    }
  }
  const text = typeof body.body === "string" ? body.body : "";
  if (text !== "" && (method === "GET" || method === "HEAD")) {
    throw new LitefaasError("INVALID_REQUEST", `a ${method} request has no body`, {
      fix: "choose POST or PUT to send a body",
    });
  }
  return {
    id: randomUUID(),
    method,
    // as /fn/<project>/<function>/… reaches the function: the path after the function's name
    url: `http://console${path}`,
    headers,
    body: text === "" ? null : new TextEncoder().encode(text),
    sourceIp: "console",
  };
}
