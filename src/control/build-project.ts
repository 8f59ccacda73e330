// Turning a project directory into a deploy request: read and validate the manifest, bundle
// every function. Runs where the code is (the CLI, or `up` for its own examples).
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { LitefaasError } from "../shared/errors.js";
import { loadManifest } from "../shared/manifest/load.js";
import { bundleFunction } from "./bundle.js";
import { packTaskRoot } from "../runtimes/process/archive.js";
import type { DeployRequest } from "./deployer.js";

export interface BuildProgress {
  (
    event:
      | { step: "bundle"; name: string; index: number; total: number }
      | { step: "done"; bytes: number },
  ): void;
}

export async function buildProject(
  dir: string,
  progress: BuildProgress = () => undefined,
): Promise<DeployRequest & { project: string }> {
  const { manifest, file } = await loadManifest(dir);
  const names = Object.keys(manifest.functions);
  const bundles: Record<string, string> = {};
  const migrations: Record<string, Array<{ name: string; sql: string }>> = {};
  let bytes = 0;
  for (const [index, name] of names.entries()) {
    const config = manifest.functions[name];
    if (config === undefined) continue;
    progress({ step: "bundle", name, index, total: names.length });
    const code =
      config.runtime === "isolate"
        ? (await bundleFunction(dir, config.main, name)).code
        : await packProcessFunction(dir, config.main, config.runtime, name);
    bundles[name] = code;
    bytes += code.length;
    const found = await readMigrations(join(dir, dirname(config.main), "migrations"));
    if (found.length > 0) migrations[name] = found;
  }
  progress({ step: "done", bytes });
  return {
    project: manifest.project,
    manifest: await readFile(file, "utf8"),
    file: relative(process.cwd(), file) || file,
    bundles,
    migrations,
  };
}

/** A process function's folder, packed; its entry must be there (and executable for `process`). */
async function packProcessFunction(
  dir: string,
  main: string,
  runtime: string,
  name: string,
): Promise<string> {
  const entry = join(dir, main);
  let mode: number;
  try {
    mode = (await stat(entry)).mode;
  } catch {
    throw new LitefaasError("BUILD_FAILED", `${name}: ${main} does not exist`, {
      fix: `create ${main}, or point functions.${name}.main at the function's entry file`,
    });
  }
  if (runtime === "process" && (mode & 0o111) === 0) {
    throw new LitefaasError("BUILD_FAILED", `${name}: ${main} is not executable`, {
      fix: `chmod +x ${main} (a runtime: process function is an executable, e.g. a bootstrap script)`,
    });
  }
  return packTaskRoot(dirname(entry), entry);
}

const MIGRATION_NAME = /^\d{4}_[A-Za-z0-9_-]+\.sql$/;

/** migrations/NNNN_name.sql next to the function's entry file, in name order. */
async function readMigrations(dir: string): Promise<Array<{ name: string; sql: string }>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
  const wrong = names.filter((n) => !MIGRATION_NAME.test(n));
  if (wrong.length > 0) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `${dir} has files that are not migrations: ${wrong.join(", ")}`,
      {
        fix: "name migrations NNNN_description.sql (e.g. 0001_create_todos.sql), or move other files out of migrations/",
      },
    );
  }
  names.sort();
  return Promise.all(
    names.map(async (name) => ({ name, sql: await readFile(join(dir, name), "utf8") })),
  );
}
