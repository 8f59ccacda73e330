// Turning a project directory into a deploy request: read and validate the manifest, bundle
// every function. Runs where the code is (the CLI, or `up` for its own examples).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { LitefaasError } from "../shared/errors.js";
import { loadManifest } from "../shared/manifest/load.js";
import { bundleFunction } from "./bundle.js";
import { packTaskRoot } from "../runtimes/process/archive.js";
import type { DeployRequest, FunctionSource } from "./deployer.js";

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
  const sources: Record<string, FunctionSource> = {};
  let bytes = 0;
  for (const [index, name] of names.entries()) {
    const config = manifest.functions[name];
    if (config === undefined) continue;
    progress({ step: "bundle", name, index, total: names.length });
    let code: string;
    if (config.runtime === "isolate") {
      const bundle = await bundleFunction(dir, config.main, name);
      code = bundle.code;
      // a function of one file imports nothing: its source is what the console should edit
      if (bundle.inputs.length === 1)
        sources[name] = { file: config.main, text: await readFile(join(dir, config.main), "utf8") };
    } else {
      code = await packProcessFunction(dir, config.main, config.runtime, name);
    }
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
    sources,
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
  const root = dirname(entry);
  if (runtime !== "python" || !existsSync(join(root, "requirements.txt")))
    return packTaskRoot(root, entry);
  const deps = await mkdtemp(join(tmpdir(), "litefaas-deps-"));
  try {
    await installRequirements(join(root, "requirements.txt"), deps, name);
    return await packTaskRoot(root, entry, [{ dir: deps, as: "python" }]);
  } finally {
    await rm(deps, { recursive: true, force: true });
  }
}

/** pip install -r requirements.txt into `target` (shipped as the task root's python/ folder). */
function installRequirements(file: string, target: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const pip = spawn(
      "python3",
      [
        "-m",
        "pip",
        "install",
        "--requirement",
        file,
        "--target",
        target,
        "--no-input",
        "--disable-pip-version-check",
        "--quiet",
        "--timeout",
        "15",
        "--retries",
        "1",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    pip.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    pip.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    pip.on("error", (error) =>
      reject(
        new LitefaasError("BUILD_FAILED", `${name}: pip could not run: ${error.message}`, {
          fix: "install Python 3 with pip where you deploy from, or vendor the packages (below)",
        }),
      ),
    );
    pip.on("close", (code) => {
      if (code === 0) {
        resolve();
        return;
      }
      const last = output
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "")
        .slice(-3)
        .join(" | ");
      reject(
        new LitefaasError(
          "BUILD_FAILED",
          `${name}: installing ${file} failed (pip exited ${code}): ${last}`,
          {
            fix: "make a package index reachable (PIP_INDEX_URL for a mirror), or vendor the packages: pip install --target python -r requirements.txt in the function's folder where an index is reachable, and remove requirements.txt",
          },
        ),
      );
    });
  });
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
