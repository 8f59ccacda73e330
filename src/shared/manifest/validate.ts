// Validation of a parsed manifest: the JSON Schema first, then what a schema cannot say.
// Pure: data in, problems or a normalized manifest out; files are the loader's business.
import { Ajv, type ErrorObject } from "ajv";
import { parseEgressList } from "../../bindings/fetch/index.js";
import { parseDuration } from "../duration.js";
import { manifestSchema } from "./schema.js";
import type { FunctionConfig, Manifest, ManifestProblem } from "./types.js";

/** The manifest as written, once the schema accepted it. */
interface RawFunction {
  main: string;
  env?: Record<string, string | number | boolean>;
  limits?: { memory?: number; timeout?: string; concurrency?: number };
  egress?: string[];
  idleTimeout?: string;
}
interface RawManifest {
  project: string;
  functions: Record<string, RawFunction>;
}

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateSchema = ajv.compile<RawManifest>(manifestSchema);

const DEFAULTS = { memoryMiB: 128, timeoutMs: 30_000, concurrency: 1000, idleTimeoutMs: 300_000 };
const MAX_TIMEOUT_MS = 15 * 60_000;
const ENTRY_EXTENSIONS = [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".tsx", ".jsx"];

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
    if (!ENTRY_EXTENSIONS.some((ext) => fn.main.endsWith(ext))) {
      problems.push({
        file,
        path: `${base}.main`,
        problem: `"${fn.main}" is not a JavaScript or TypeScript file`,
        fix: `point main at a file ending in ${ENTRY_EXTENSIONS.join(", ")}`,
      });
    }
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
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(fn.env ?? {})) env[key] = String(value);
    functions[name] = {
      name,
      main: fn.main,
      env,
      memoryMiB: fn.limits?.memory ?? DEFAULTS.memoryMiB,
      timeoutMs: timeoutMs ?? DEFAULTS.timeoutMs,
      concurrency: fn.limits?.concurrency ?? DEFAULTS.concurrency,
      egress: [...(fn.egress ?? [])],
      idleTimeoutMs:
        fn.idleTimeout === undefined
          ? DEFAULTS.idleTimeoutMs
          : (parseDuration(fn.idleTimeout) ?? DEFAULTS.idleTimeoutMs),
    };
  }
  if (problems.length > 0) return { problems };
  return { manifest: { project: data.project, functions } };
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
