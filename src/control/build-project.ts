// Turning a project directory into a deploy request: read and validate the manifest, bundle
// every function. Runs where the code is (the CLI, or `up` for its own examples).
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { loadManifest } from "../shared/manifest/load.js";
import { bundleFunction } from "./bundle.js";
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
  let bytes = 0;
  for (const [index, name] of names.entries()) {
    const config = manifest.functions[name];
    if (config === undefined) continue;
    progress({ step: "bundle", name, index, total: names.length });
    const bundle = await bundleFunction(dir, config.main, name);
    bundles[name] = bundle.code;
    bytes += bundle.code.length;
  }
  progress({ step: "done", bytes });
  return {
    project: manifest.project,
    manifest: await readFile(file, "utf8"),
    file: relative(process.cwd(), file) || file,
    bundles,
  };
}
