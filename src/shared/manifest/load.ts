// Reading litefaas.yaml from a project directory: YAML with line numbers for every problem.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument } from "yaml";
import { LitefaasError } from "../errors.js";
import type { Manifest, ManifestProblem } from "./types.js";
import { validateManifest } from "./validate.js";

export const MANIFEST_FILES = ["litefaas.yaml", "litefaas.yml", "litefaas.json"];

/** Parse and validate manifest text; throws INVALID_MANIFEST listing every problem. */
export function parseManifest(text: string, file: string): Manifest {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems: ManifestProblem[] = doc.errors.map((e) => ({
      file,
      path: "(syntax)",
      line: lineCounter.linePos(e.pos[0]).line,
      problem: e.message.split("\n")[0] ?? e.message,
      fix: "fix the YAML syntax at that line (indentation, quotes, colons)",
    }));
    throw manifestError(problems);
  }
  const result = validateManifest(doc.toJS(), file);
  if ("problems" in result) {
    for (const problem of result.problems) {
      const offset = offsetOf(doc.contents, problem.path.split("."));
      if (offset !== undefined) problem.line = lineCounter.linePos(offset).line;
    }
    throw manifestError(result.problems);
  }
  return result.manifest;
}

/** Find and load the manifest of the project at `dir`. */
export async function loadManifest(dir: string): Promise<{ manifest: Manifest; file: string }> {
  for (const name of MANIFEST_FILES) {
    const file = join(dir, name);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    return { manifest: parseManifest(text, file), file };
  }
  throw new LitefaasError("INVALID_MANIFEST", `no litefaas.yaml in ${dir}`, {
    fix: "run the command in a project directory, or create litefaas.yaml with `project:` and `functions:`",
  });
}

/**
 * Where a dotted path starts in the YAML: the key's position when it names a mapping key.
 * A key may itself contain dots (an env var "a.b" is reported as env.a.b), so a map is
 * searched for the longest run of segments that names one of its keys.
 */
function offsetOf(node: unknown, segments: string[], offset?: number): number | undefined {
  if (segments.length === 0) return offset;
  if (isSeq(node)) {
    const item: unknown = node.items[Number(segments[0])];
    return offsetOf(item, segments.slice(1), isNode(item) ? item.range?.[0] : undefined);
  }
  if (!isMap(node)) return undefined;
  for (let take = segments.length; take >= 1; take--) {
    const key = segments.slice(0, take).join(".");
    const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === key);
    if (pair === undefined) continue;
    const found = offsetOf(
      pair.value,
      segments.slice(take),
      isNode(pair.key) ? pair.key.range?.[0] : undefined,
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

export function manifestError(problems: ManifestProblem[]): LitefaasError {
  const lines = problems.map(formatProblem);
  return new LitefaasError("INVALID_MANIFEST", `invalid manifest:\n${lines.join("\n")}`, {
    fix: problems[0]?.fix,
    details: problems,
  });
}

export function formatProblem(p: ManifestProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return `  ${where} ${p.path}: ${p.problem} (fix: ${p.fix})`;
}
