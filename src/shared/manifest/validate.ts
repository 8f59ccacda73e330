// Validation of a parsed manifest: the JSON Schema first, then what a schema cannot say.
// Pure: data in, problems or a normalized manifest out; files are the loader's business.
import { Ajv, type ErrorObject } from "ajv";
import { parseEgressList } from "../../bindings/fetch/index.js";
import { parseDuration } from "../duration.js";
import { describeCronProblem } from "../cron.js";
import { subjectsOverlap } from "../../ports/queue.js";
import {
  describeRoute,
  findTie,
  HTTP_METHODS,
  JWT_ALGORITHMS,
  parseHost,
  parsePath,
  type AuthMethod,
  type CorsConfig,
  type RateLimitPolicy,
  type RouteConfig,
} from "../routes.js";
import { manifestSchema } from "./schema.js";
import { recordPolicyOf, type RawRecords } from "./records-policy.js";
import type {
  DeliveryPolicy,
  FunctionConfig,
  Manifest,
  ManifestProblem,
  RuntimeKind,
  ScheduleConfig,
} from "./types.js";

/** The manifest as written, once the schema accepted it. */
interface RawFunction {
  main: string;
  runtime?: RuntimeKind;
  handler?: string;
  env?: Record<string, string | number | boolean>;
  limits?: { memory?: number; cpu?: number; timeout?: string; concurrency?: number };
  egress?: string[];
  idleTimeout?: string;
  subjects?: string[];
  schedule?: string | { cron: string; timezone?: string; catchUp?: boolean };
  concurrency?: number;
  retry?: { attempts?: number; backoff?: "exponential" | "fixed"; initial?: string; max?: string };
  maxEventAge?: string;
  deadLetter?: boolean;
  onSuccess?: { publish: string };
  onFailure?: { publish: string };
  records?: RawRecords;
}
interface RawRoute {
  path: string;
  function: string;
  method?: string | string[];
  host?: string;
  auth?: string | string[];
  scopes?: string[];
  rateLimit?: string | string[];
  timeout?: string;
  cors?:
    | boolean
    | {
        origins?: string | string[];
        methods?: string[];
        headers?: string[];
        exposeHeaders?: string[];
        credentials?: boolean;
        maxAge?: string;
      };
}
interface RawAuth {
  default?: string | string[];
  jwt?: {
    issuer?: string;
    audience?: string | string[];
    jwksUrl?: string;
    secretEnv?: string;
    algorithms?: string[];
    clockSkew?: string;
  };
}
interface RawLimit {
  rate?: string;
  burst?: number;
  quota?: string;
  by?: "route" | "caller" | "ip";
}
interface RawManifest {
  project: string;
  functions: Record<string, RawFunction>;
  routes?: RawRoute[];
  auth?: RawAuth;
  rateLimits?: Record<string, RawLimit>;
}

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateSchema = ajv.compile<RawManifest>(manifestSchema);

const DEFAULTS = { memoryMiB: 128, timeoutMs: 30_000, concurrency: 1000, idleTimeoutMs: 300_000 };
const DELIVERY_DEFAULTS = {
  concurrency: 16,
  attempts: 3,
  initialDelayMs: 1000,
  maxDelayMs: 300_000,
  maxEventAgeMs: 6 * 3_600_000,
};
const MAX_EVENT_AGE_MS = 14 * 24 * 3_600_000;
const MAX_TIMEOUT_MS = 15 * 60_000;
const ENTRY_EXTENSIONS = [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".tsx", ".jsx"];

/** The runtime a function names, or the one its entry file implies. */
function runtimeOf(
  fn: RawFunction,
  file: string,
  base: string,
  problems: ManifestProblem[],
): RuntimeKind {
  const js = ENTRY_EXTENSIONS.some((ext) => fn.main.endsWith(ext));
  const runtime = fn.runtime ?? (fn.main.endsWith(".py") ? "python" : js ? "isolate" : undefined);
  const wrong = (problem: string, fix: string) =>
    problems.push({ file, path: `${base}.main`, problem, fix });
  if (runtime === undefined) {
    wrong(
      `"${fn.main}" is not a JavaScript, TypeScript or Python file`,
      `point main at a file ending in ${ENTRY_EXTENSIONS.join(", ")} or .py, or set runtime: process for an executable that speaks the Lambda Runtime API`,
    );
    return "isolate";
  }
  if (runtime === "isolate" && !js)
    wrong(
      `"${fn.main}" is not a JavaScript or TypeScript file`,
      `point main at a file ending in ${ENTRY_EXTENSIONS.join(", ")}`,
    );
  if (runtime === "python" && !fn.main.endsWith(".py"))
    wrong(
      `"${fn.main}" is not a Python file`,
      "point main at the .py file that defines the handler",
    );
  if (runtime === "node-process" && !/\.(js|mjs|cjs)$/.test(fn.main))
    wrong(`"${fn.main}" is not a JavaScript file`, "point main at a .js, .mjs or .cjs file");
  if (fn.limits?.cpu !== undefined && runtime === "isolate") {
    problems.push({
      file,
      path: `${base}.limits.cpu`,
      problem:
        "cpu limits process functions (python, process, node-process); an isolate runs on one thread",
      fix: "remove it: the timeout bounds an isolate's time",
    });
  }
  if (fn.handler !== undefined && runtime === "isolate") {
    problems.push({
      file,
      path: `${base}.handler`,
      problem: "handler is for process functions (python, process, node-process)",
      fix: "remove it: an isolate function exports default { fetch } or a Lambda handler",
    });
  }
  return runtime;
}

export function validateManifest(
  data: unknown,
  file: string,
): { manifest: Manifest } | { problems: ManifestProblem[] } {
  if (!validateSchema(data)) {
    const problems = (validateSchema.errors ?? [])
      // a bad name is reported twice: by the name's own schema (propertyName set) and as propertyNames
      .filter((e) => e.propertyName === undefined)
      .map((e) => describeSchemaError(e, file));
    return { problems: dedupe(problems) };
  }
  const problems: ManifestProblem[] = [];
  const functions: Record<string, FunctionConfig> = {};
  for (const [name, fn] of Object.entries(data.functions)) {
    const base = `functions.${name}`;
    const runtime = runtimeOf(fn, file, base, problems);
    const timeoutMs =
      fn.limits?.timeout === undefined ? DEFAULTS.timeoutMs : parseDuration(fn.limits.timeout);
    if (timeoutMs !== undefined && (timeoutMs > MAX_TIMEOUT_MS || timeoutMs < 1)) {
      problems.push({
        file,
        path: `${base}.limits.timeout`,
        problem: `timeout ${fn.limits?.timeout} is outside 1ms..15m`,
        fix: "use a duration between 1ms and 15m, e.g. 30s",
      });
    }
    const egress = parseEgressList(fn.egress ?? []);
    if (!egress.ok) {
      for (const e of egress.errors) {
        problems.push({
          file,
          path: `${base}.egress.${e.index}`,
          problem: `"${e.entry}": ${e.problem}`,
          fix: e.fix,
        });
      }
    }
    const subjects = fn.subjects ?? [];
    problems.push(...overlappingSubjects(subjects, file, base));
    const schedule = scheduleOf(fn.schedule);
    if (schedule !== undefined) {
      const problem = describeCronProblem(schedule.cron, schedule.timezone);
      if (problem !== undefined) {
        problems.push({
          file,
          path: `${base}.schedule`,
          problem: `"${schedule.cron}"${schedule.timezone === "UTC" ? "" : ` (${schedule.timezone})`}: ${problem}`,
          fix: 'write a cron expression of 5 fields (minute hour day month weekday), or 6 with seconds first, e.g. "0 3 * * *"; timezone is an IANA name such as Europe/Paris',
        });
      }
    }
    const delivery = deliveryOf(fn, file, base, problems);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(fn.env ?? {})) env[key] = String(value);
    functions[name] = {
      name,
      main: fn.main,
      runtime,
      handler:
        runtime === "python" || runtime === "node-process"
          ? (fn.handler ?? `${(fn.main.split("/").pop() ?? "").replace(/\.[^.]+$/, "")}.handler`)
          : fn.handler,
      env,
      memoryMiB: fn.limits?.memory ?? DEFAULTS.memoryMiB,
      ...(fn.limits?.cpu === undefined ? {} : { cpu: fn.limits.cpu }),
      timeoutMs: timeoutMs ?? DEFAULTS.timeoutMs,
      concurrency: fn.limits?.concurrency ?? DEFAULTS.concurrency,
      egress: [...(fn.egress ?? [])],
      idleTimeoutMs:
        fn.idleTimeout === undefined
          ? DEFAULTS.idleTimeoutMs
          : (parseDuration(fn.idleTimeout) ?? DEFAULTS.idleTimeoutMs),
      subjects: [...subjects],
      schedule,
      delivery,
      records: recordPolicyOf(fn.records, file, base, problems),
    };
  }
  const routes = routesOf(data, file, problems);
  const auth = authOf(data.auth, file, problems);
  // a route (or the default) asking for JWTs needs to know how to verify them
  const jwtWanted =
    auth?.default.includes("jwt") === true || routes.some((r) => r.auth?.includes("jwt"));
  if (jwtWanted && auth?.jwt === undefined) {
    problems.push({
      file,
      path: "auth.jwt",
      problem: "routes require JWTs, but the manifest does not say how to verify them",
      fix: "add auth.jwt with jwksUrl (your identity provider's JWKS) or secretEnv (an HS256 secret in the platform's environment)",
    });
  }
  const rateLimits = rateLimitsOf(data, file, problems);
  for (const [i, route] of routes.entries()) {
    for (const name of route.rateLimits ?? []) {
      if (data.rateLimits?.[name] !== undefined && Object.hasOwn(data.rateLimits, name)) continue;
      problems.push({
        file,
        path: `routes.${i}.rateLimit`,
        problem: `no rate limit "${name}" under rateLimits`,
        fix:
          Object.keys(data.rateLimits ?? {}).length === 0
            ? 'declare it, e.g. rateLimits: { per-caller: { rate: "10/s", burst: 5 } }'
            : `name one of: ${Object.keys(data.rateLimits ?? {}).join(", ")}`,
      });
    }
  }
  if (problems.length > 0) return { problems };
  return { manifest: { project: data.project, functions, routes, auth, rateLimits } };
}

const ORIGIN = /^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function routeTimeoutOf(
  raw: string | undefined,
  file: string,
  path: string,
  problems: ManifestProblem[],
): { timeoutMs?: number } {
  if (raw === undefined) return {};
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 1 || ms > MAX_TIMEOUT_MS) {
    problems.push({
      file,
      path,
      problem: `timeout ${raw} is not a duration from 1ms to 15m`,
      fix: "write e.g. timeout: 5s",
    });
    return {};
  }
  return { timeoutMs: ms };
}

function corsOf(
  raw: RawRoute["cors"],
  file: string,
  path: string,
  problems: ManifestProblem[],
): { cors?: CorsConfig } {
  if (raw === undefined || raw === false) return {};
  const spec = raw === true ? {} : raw;
  const listed = spec.origins === undefined ? ["*"] : [spec.origins].flat();
  const origins = listed.includes("*") ? "*" : listed.map((o) => o.toLowerCase());
  const bad = listed.filter((o) => o !== "*" && !ORIGIN.test(o.toLowerCase()));
  if (bad.length > 0) {
    problems.push({
      file,
      path: `${path}.origins`,
      problem: `not an origin: ${bad.join(", ")}`,
      fix: 'write origins as scheme://host[:port] without a path, e.g. https://app.example.com or https://*.example.com, or "*"',
    });
  }
  const credentials = spec.credentials ?? false;
  if (credentials && origins === "*") {
    problems.push({
      file,
      path: `${path}.credentials`,
      problem: "credentials cannot be allowed for any origin (*): browsers refuse it",
      fix: "list the origins that may send credentials",
    });
  }
  const methods = spec.methods?.map((m) => m.toUpperCase());
  const unknown = (methods ?? []).filter((m) => !(HTTP_METHODS as readonly string[]).includes(m));
  if (unknown.length > 0) {
    problems.push({
      file,
      path: `${path}.methods`,
      problem: `unknown method ${unknown.join(", ")}`,
      fix: `use ${HTTP_METHODS.join(", ")}`,
    });
  }
  const names = [...(spec.headers ?? []), ...(spec.exposeHeaders ?? [])];
  const badNames = names.filter((h) => !HEADER_NAME.test(h));
  if (badNames.length > 0) {
    problems.push({
      file,
      path,
      problem: `not a header name: ${badNames.join(", ")}`,
      fix: "header names are letters, digits and - (e.g. content-type, x-request-id)",
    });
  }
  return {
    cors: {
      origins,
      methods,
      headers: spec.headers?.map((h) => h.toLowerCase()),
      exposeHeaders: (spec.exposeHeaders ?? []).map((h) => h.toLowerCase()),
      credentials,
      maxAgeSeconds: Math.round(durationOr(spec.maxAge, 5000) / 1000),
    },
  };
}

const PER_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, day: 86_400_000 };

function rateLimitsOf(
  data: RawManifest,
  file: string,
  problems: ManifestProblem[],
): RateLimitPolicy[] | undefined {
  if (data.rateLimits === undefined) return undefined;
  const policies: RateLimitPolicy[] = [];
  for (const [name, raw] of Object.entries(data.rateLimits)) {
    const key = `${data.project}/${name}`;
    const by = raw.by ?? "caller";
    if ((raw.rate === undefined) === (raw.quota === undefined)) {
      problems.push({
        file,
        path: `rateLimits.${name}`,
        problem: "give exactly one of rate and quota",
        fix: 'rate for a token bucket (e.g. rate: "10/s", burst: 5), quota for a count per hour or day (e.g. quota: "10000/day")',
      });
      continue;
    }
    const [count = "0", unit = "s"] = (raw.rate ?? raw.quota ?? "").split("/");
    const periodMs = PER_UNIT_MS[unit] ?? 1000;
    if (raw.quota !== undefined) {
      if (raw.burst !== undefined)
        problems.push({
          file,
          path: `rateLimits.${name}.burst`,
          problem: "a quota has no burst",
          fix: "remove burst, or make it a rate",
        });
      policies.push({ kind: "quota", key, name, limit: Number(count), periodMs, by });
      continue;
    }
    const rate = (Number(count) * 1000) / periodMs;
    if (!(rate > 0)) {
      problems.push({
        file,
        path: `rateLimits.${name}.rate`,
        problem: `rate ${raw.rate ?? ""} admits nothing`,
        fix: 'use a positive rate, e.g. "10/s"',
      });
      continue;
    }
    policies.push({
      kind: "rate",
      key,
      name,
      rate,
      burst: raw.burst ?? Math.max(1, Math.ceil(Number(count))),
      by,
    });
  }
  return policies;
}

const AUTH_METHODS = ["api-key", "jwt"] as const;

/** "none", "jwt", ["api-key", "jwt"] → the methods; a problem for anything else. */
function authMethodsOf(
  raw: string | string[],
  file: string,
  path: string,
  problems: ManifestProblem[],
): AuthMethod[] {
  const listed = [raw].flat().map((m) => m.trim().toLowerCase());
  const unknown = listed.filter(
    (m) => m !== "none" && !(AUTH_METHODS as readonly string[]).includes(m),
  );
  if (unknown.length > 0 || (listed.includes("none") && listed.length > 1)) {
    problems.push({
      file,
      path,
      problem:
        unknown.length > 0
          ? `unknown authentication ${unknown.join(", ")}`
          : "none cannot be listed with other methods",
      fix: "use none, api-key, jwt, or [api-key, jwt] (either is enough)",
    });
  }
  return AUTH_METHODS.filter((m) => listed.includes(m));
}

function authOf(raw: RawAuth | undefined, file: string, problems: ManifestProblem[]) {
  if (raw === undefined) return undefined;
  const defaults =
    raw.default === undefined ? [] : authMethodsOf(raw.default, file, "auth.default", problems);
  const jwt = raw.jwt;
  if (jwt === undefined) return { default: defaults, jwt: undefined };
  if ((jwt.jwksUrl === undefined) === (jwt.secretEnv === undefined)) {
    problems.push({
      file,
      path: "auth.jwt",
      problem: "give exactly one of jwksUrl and secretEnv",
      fix: "jwksUrl for an identity provider's public keys (RS256, ES256, EdDSA), secretEnv for a shared HS256 secret",
    });
  }
  if (jwt.jwksUrl !== undefined) {
    const problem = jwksUrlProblem(jwt.jwksUrl);
    if (problem !== undefined)
      problems.push({
        file,
        path: "auth.jwt.jwksUrl",
        problem,
        fix: "use the https URL of your identity provider's JWKS, e.g. https://example.auth0.com/.well-known/jwks.json",
      });
  }
  const algorithms =
    jwt.algorithms ?? (jwt.secretEnv !== undefined ? ["HS256"] : ["RS256", "ES256", "EdDSA"]);
  const unknown = algorithms.filter((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a));
  if (unknown.length > 0 || algorithms.length === 0) {
    problems.push({
      file,
      path: "auth.jwt.algorithms",
      problem:
        unknown.length > 0 ? `unsupported algorithm ${unknown.join(", ")}` : "no algorithm listed",
      fix: `list some of ${JWT_ALGORITHMS.join(", ")}`,
    });
  } else if (jwt.secretEnv !== undefined && algorithms.some((a) => a !== "HS256")) {
    problems.push({
      file,
      path: "auth.jwt.algorithms",
      problem: "a shared secret verifies HS256 only",
      fix: "use jwksUrl for RS256, ES256 or EdDSA, or list HS256 alone",
    });
  }
  return {
    default: defaults,
    jwt: {
      issuer: jwt.issuer,
      audience: jwt.audience === undefined ? undefined : [jwt.audience].flat(),
      jwksUrl: jwt.jwksUrl,
      secretEnv: jwt.secretEnv,
      algorithms,
      clockSkewMs: durationOr(jwt.clockSkew, 30_000),
    },
  };
}

function jwksUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol === "https:") return undefined;
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol === "http:" && loopback) return undefined;
  return `"${text}": keys are fetched over https (http only from this machine)`;
}

function routesOf(data: RawManifest, file: string, problems: ManifestProblem[]): RouteConfig[] {
  const routes: RouteConfig[] = [];
  const at = new Map<RouteConfig, number>();
  for (const [i, raw] of (data.routes ?? []).entries()) {
    const base = `routes.${i}`;
    const segments = parsePath(raw.path);
    if (typeof segments === "string") {
      problems.push({
        file,
        path: `${base}.path`,
        problem: `"${raw.path}": ${segments}`,
        fix: 'write a path such as /users/:id, /files/* or /; ":name" is one segment, "*" or "*name" the rest',
      });
    }
    const host = parseHost(raw.host);
    if (typeof host === "string") {
      problems.push({
        file,
        path: `${base}.host`,
        problem: host,
        fix: "write a host name such as api.example.com, or *.example.com for its subdomains",
      });
    }
    if (!Object.hasOwn(data.functions, raw.function)) {
      problems.push({
        file,
        path: `${base}.function`,
        problem: `no function "${raw.function}" in this manifest`,
        fix: `name one of: ${Object.keys(data.functions).join(", ")}`,
      });
    }
    const listed = raw.method === undefined ? ["ANY"] : [raw.method].flat();
    const upper = listed.map((m) => m.trim().toUpperCase());
    const unknown = upper.filter(
      (m) => m !== "ANY" && !(HTTP_METHODS as readonly string[]).includes(m),
    );
    if (unknown.length > 0 || upper.length === 0) {
      problems.push({
        file,
        path: `${base}.method`,
        problem: upper.length === 0 ? "no method listed" : `unknown method ${unknown.join(", ")}`,
        fix: `use ${HTTP_METHODS.join(", ")}, a list of them, or ANY`,
      });
    }
    const route: RouteConfig = {
      methods: upper.includes("ANY") ? undefined : [...new Set(upper)].sort(),
      host: raw.host?.toLowerCase(),
      path: raw.path,
      function: raw.function,
      ...(raw.auth === undefined
        ? {}
        : { auth: authMethodsOf(raw.auth, file, `${base}.auth`, problems) }),
      ...(raw.scopes === undefined ? {} : { scopes: [...raw.scopes] }),
      ...(raw.rateLimit === undefined ? {} : { rateLimits: [raw.rateLimit].flat() }),
      ...corsOf(raw.cors, file, `${base}.cors`, problems),
      ...routeTimeoutOf(raw.timeout, file, `${base}.timeout`, problems),
    };
    routes.push(route);
    at.set(route, i);
  }
  const tie = findTie(routes);
  if (tie !== undefined) {
    const [first, second] = tie;
    problems.push({
      file,
      path: `routes.${at.get(second) ?? 0}`,
      problem: `${describeRoute(second)} answers the same requests as routes.${at.get(first) ?? 0} (${describeRoute(first)})`,
      fix: "remove one, or give them different methods, hosts or literal path segments",
    });
  }
  return routes;
}

function scheduleOf(raw: RawFunction["schedule"]): ScheduleConfig | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === "string") return { cron: raw.trim(), timezone: "UTC", catchUp: true };
  return { cron: raw.cron.trim(), timezone: raw.timezone ?? "UTC", catchUp: raw.catchUp ?? true };
}

/** Two subscriptions of one function that both match some subject would deliver it twice. */
function overlappingSubjects(subjects: string[], file: string, base: string): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  for (let i = 0; i < subjects.length; i++) {
    for (let j = i + 1; j < subjects.length; j++) {
      const a = subjects[i] ?? "";
      const b = subjects[j] ?? "";
      if (!subjectsOverlap(a, b)) continue;
      problems.push({
        file,
        path: `${base}.subjects.${j}`,
        problem: `"${b}" overlaps "${a}": an event matching both would be delivered twice`,
        fix: "keep the wider subject only, or make them disjoint",
      });
    }
  }
  return problems;
}

function deliveryOf(
  fn: RawFunction,
  file: string,
  base: string,
  problems: ManifestProblem[],
): DeliveryPolicy {
  const initialDelayMs = durationOr(fn.retry?.initial, DELIVERY_DEFAULTS.initialDelayMs);
  const maxDelayMs = durationOr(fn.retry?.max, DELIVERY_DEFAULTS.maxDelayMs);
  if (maxDelayMs < initialDelayMs) {
    problems.push({
      file,
      path: `${base}.retry.max`,
      problem: `max ${fn.retry?.max ?? "5m"} is shorter than initial ${fn.retry?.initial ?? "1s"}`,
      fix: "make retry.max at least retry.initial",
    });
  }
  const maxEventAgeMs = durationOr(fn.maxEventAge, DELIVERY_DEFAULTS.maxEventAgeMs);
  if (maxEventAgeMs < 1000 || maxEventAgeMs > MAX_EVENT_AGE_MS) {
    problems.push({
      file,
      path: `${base}.maxEventAge`,
      problem: `maxEventAge ${fn.maxEventAge ?? ""} is outside 1s..336h`,
      fix: "use a duration between 1s and 336h (14 days), e.g. 6h",
    });
  }
  return {
    concurrency: fn.concurrency ?? DELIVERY_DEFAULTS.concurrency,
    attempts: fn.retry?.attempts ?? DELIVERY_DEFAULTS.attempts,
    backoff: fn.retry?.backoff ?? "exponential",
    initialDelayMs,
    maxDelayMs,
    maxEventAgeMs,
    deadLetter: fn.deadLetter ?? true,
    onSuccess: fn.onSuccess?.publish,
    onFailure: fn.onFailure?.publish,
  };
}

function durationOr(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : (parseDuration(text) ?? fallback);
}

function describeSchemaError(error: ErrorObject, file: string): ManifestProblem {
  const segments = error.instancePath.split("/").slice(1).map(unescapePointer);
  const path = segments.length === 0 ? "(root)" : segments.join(".");
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return {
        file,
        path,
        problem: `missing required field "${String(params["missingProperty"])}"`,
        fix: `add "${String(params["missingProperty"])}"${fieldHint(String(params["missingProperty"]))}`,
      };
    case "additionalProperties":
      return {
        file,
        path: [...segments, String(params["additionalProperty"])].join("."),
        problem: `unknown field "${String(params["additionalProperty"])}"`,
        fix: `remove it or check its spelling; allowed here: ${allowedFields(segments).join(", ")}`,
      };
    case "pattern":
      return {
        file,
        path,
        problem: `value does not match ${String(params["pattern"])}`,
        fix: describeField(segments),
      };
    case "propertyNames":
      return {
        file,
        path: [...segments, String(params["propertyName"])].join("."),
        problem: `invalid name "${String(params["propertyName"])}"`,
        fix:
          segments.at(-1) === "env"
            ? "environment variable names are letters, digits and _, not starting with a digit"
            : "names are lowercase letters, digits and dashes, at most 63 characters, starting and ending with a letter or digit",
      };
    case "type":
      return {
        file,
        path,
        problem: `must be ${String(params["type"])}`,
        fix: describeField(segments),
      };
    default:
      return { file, path, problem: error.message ?? error.keyword, fix: describeField(segments) };
  }
}

function fieldHint(field: string): string {
  if (field === "project") return ": the project name, e.g. project: my-app";
  if (field === "functions") return ": a map of function name to { main: path/to/index.ts }";
  if (field === "main") return ": the function's entry file, e.g. main: functions/hello/index.ts";
  return "";
}

/** The schema node at a manifest path, to quote its description in a fix. */
function schemaAt(segments: string[]): Record<string, unknown> | undefined {
  let node: unknown = manifestSchema;
  for (let i = 0; i < segments.length; i++) {
    const n = node as Record<string, unknown>;
    const props = n["properties"] as Record<string, unknown> | undefined;
    const segment = segments[i] ?? "";
    if (props !== undefined && segment in props) node = props[segment];
    else if (typeof n["items"] === "object") node = n["items"];
    else if (typeof n["additionalProperties"] === "object") node = n["additionalProperties"];
    else return undefined;
  }
  return node as Record<string, unknown>;
}

function describeField(segments: string[]): string {
  const description = schemaAt(segments)?.["description"];
  return typeof description === "string" ? description : "see schema/litefaas.schema.json";
}

function allowedFields(segments: string[]): string[] {
  const props = schemaAt(segments)?.["properties"];
  return props === undefined ? [] : Object.keys(props as object);
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

function dedupe(problems: ManifestProblem[]): ManifestProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}|${p.problem}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
