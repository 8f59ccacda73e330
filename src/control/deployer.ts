// Deploying a project: validate the manifest, store each bundle, check each new version loads,
// and only when every function passed, make the new versions live together.
import { createHash } from "node:crypto";
import type { BlobsPort } from "../ports/blobs.js";
import { LitefaasError } from "../shared/errors.js";
import { parseManifest } from "../shared/manifest/load.js";
import type { FunctionVersion } from "../runtimes/types.js";
import type { Registry, VersionRecord } from "./registry.js";

export interface DeployRequest {
  /** The manifest's text and file name, validated again here: the server trusts no client. */
  manifest: string;
  file: string;
  /** Bundled code per function name. */
  bundles: Record<string, string>;
}

export interface DeployedFunction {
  name: string;
  version: number;
  status: "created" | "unchanged";
}

export interface DeployResult {
  project: string;
  functions: DeployedFunction[];
}

export class Deployer {
  constructor(
    private readonly registry: Registry,
    private readonly blobs: BlobsPort,
    /** Loads a version in a scratch instance; throws FUNCTION_INIT_FAILED when it cannot start. */
    private readonly verify: (fn: FunctionVersion) => Promise<void>,
  ) {}

  async deploy(request: DeployRequest): Promise<DeployResult> {
    const manifest = parseManifest(request.manifest, request.file);
    const names = Object.keys(manifest.functions);
    const missing = names.filter((n) => typeof request.bundles[n] !== "string");
    if (missing.length > 0) {
      throw new LitefaasError("INVALID_REQUEST", `no bundled code for ${missing.join(", ")}`, {
        fix: "deploy with `litefaas deploy <dir>`, which bundles every function in the manifest",
      });
    }
    const staged: Array<{ entry: VersionRecord; changed: boolean }> = [];
    for (const name of names) {
      const config = manifest.functions[name];
      const code = request.bundles[name];
      if (config === undefined || code === undefined) continue;
      const bytes = new TextEncoder().encode(code);
      const key = await this.blobs.put(bytes);
      const hash = createHash("sha256").update(key).update(JSON.stringify(config)).digest("hex");
      const latest = await this.registry.latestVersion(manifest.project, name);
      const live = this.registry.resolve(manifest.project, name);
      if (latest !== undefined && latest.hash === hash && live?.version === latest.version) {
        staged.push({ entry: latest, changed: false });
        continue;
      }
      const candidate: FunctionVersion = {
        project: manifest.project,
        name,
        version: (latest?.version ?? 0) + 1,
        config,
        artifact: key,
      };
      await this.verify(candidate);
      const entry =
        latest !== undefined && latest.hash === hash
          ? latest
          : await this.registry.createVersion(
              manifest.project,
              name,
              { key, size: bytes.length },
              config,
              hash,
            );
      staged.push({ entry, changed: true });
    }
    for (const { entry, changed } of staged) if (changed) await this.registry.setLive(entry);
    return {
      project: manifest.project,
      functions: staged.map(({ entry, changed }) => ({
        name: entry.name,
        version: entry.version,
        status: changed ? "created" : "unchanged",
      })),
    };
  }
}
