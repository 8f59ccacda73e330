// Deploying a project: validate the manifest, store each bundle, check each new version loads,
// and only when every function passed, make the new versions live together.
import { createHash } from "node:crypto";
import type { BlobsPort } from "../ports/blobs.js";
import { LitefaasError } from "../shared/errors.js";
import { parseManifest } from "../shared/manifest/load.js";
import type { FunctionVersion } from "../runtimes/types.js";
import type { FunctionConfig } from "../shared/manifest/types.js";
import { describeRoute, findTie, type RouteConfig } from "../shared/routes.js";
import type { Registry, VersionRecord } from "./registry.js";

type ProjectRoute = RouteConfig & { project: string };

export interface DeployRequest {
  /** The manifest's text and file name, validated again here: the server trusts no client. */
  manifest: string;
  file: string;
  /** Bundled code per function name. */
  bundles: Record<string, string>;
  /** SQL migrations per function name, applied in order at deploy (each once). */
  migrations?: Record<string, Array<{ name: string; sql: string }>>;
  /** Source per function of one file, kept so the console can show and edit what was written. */
  sources?: Record<string, FunctionSource>;
}

type Migration = { name: string; sql: string };

type Plan =
  | { kind: "unchanged"; entry: VersionRecord }
  | { kind: "reactivate"; entry: VersionRecord }
  | {
      kind: "new";
      candidate: FunctionVersion;
      size: number;
      hash: string;
      migrations: Migration[];
      source: string | undefined;
    };

/** A function's code as written in the console, kept beside its bundle so it can be edited. */
export interface FunctionSource {
  file: string;
  text: string;
}

export type Migrator = (
  fn: FunctionVersion,
  migrations: Array<{ name: string; sql: string }>,
) => Promise<string[]>;

export interface DeployedFunction {
  name: string;
  version: number;
  status: "created" | "unchanged";
}

export interface DeployResult {
  project: string;
  functions: DeployedFunction[];
}

/** The HS256 secret is the platform's to hold: a deploy naming a variable it lacks fails now. */
function checkJwtSecret(name: string | undefined): void {
  if (name === undefined || (process.env[name] ?? "").length >= 32) return;
  throw new LitefaasError(
    "INVALID_MANIFEST",
    `auth.jwt.secretEnv: the platform's environment has no ${name} of at least 32 bytes`,
    {
      fix: `start litefaas up with ${name} set to the HS256 secret (32 bytes or more), then deploy again`,
    },
  );
}

/** A source as a client sent it, if it is one: anything else is ignored, not stored. */
function sourceOf(value: unknown): FunctionSource | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { file, text } = value as Partial<FunctionSource>;
  return typeof file === "string" && typeof text === "string" && text.length <= 1024 * 1024
    ? { file, text }
    : undefined;
}

export class Deployer {
  constructor(
    private readonly registry: Registry,
    private readonly blobs: BlobsPort,
    /** Loads a version in a scratch instance; throws FUNCTION_INIT_FAILED when it cannot start. */
    private readonly verify: (fn: FunctionVersion) => Promise<void>,
    /** Applies a function's pending migrations; throws MIGRATION_FAILED naming the one that failed. */
    private readonly migrate: Migrator,
    /** Readies what a version needs before it serves (its event consumer), so no event
     * published once the deploy returned can miss it. */
    private readonly prepare: (fn: FunctionVersion) => Promise<void> = () => Promise.resolve(),
  ) {}

  private checkRoutesFree(project: string, functions: string[], routes: RouteConfig[]): void {
    // the routes this deploy replaces cannot stand in its way
    const others = this.registry
      .routes()
      .filter((r) => r.project !== project || !functions.includes(r.function));
    // held routes have no ties among them, nor have a manifest's: a tie pairs a holder with ours
    const tie = findTie<ProjectRoute>([...others, ...routes.map((r) => ({ ...r, project }))]);
    if (tie === undefined) return;
    const [holder, route] = tie;
    throw new LitefaasError(
      "ROUTE_CONFLICT",
      `${describeRoute(route)} answers the same requests as ${describeRoute(holder)}, held by project ${holder.project} (function ${holder.function})`,
      {
        fix: `choose another path, host or method, or remove the route from project ${holder.project} first`,
      },
    );
  }

  async deploy(request: DeployRequest): Promise<DeployResult> {
    const manifest = parseManifest(request.manifest, request.file);
    this.checkRoutesFree(manifest.project, Object.keys(manifest.functions), manifest.routes);
    checkJwtSecret(manifest.auth?.jwt?.secretEnv);
    const names = Object.keys(manifest.functions);
    const missing = names.filter((n) => typeof request.bundles[n] !== "string");
    if (missing.length > 0) {
      throw new LitefaasError("INVALID_REQUEST", `no bundled code for ${missing.join(", ")}`, {
        fix: "deploy with `litefaas deploy <dir>`, which bundles every function in the manifest",
      });
    }
    // 1. store and check every function; nothing changes for users until all passed
    const plans: Plan[] = [];
    for (const name of names) {
      const config = manifest.functions[name];
      const code = request.bundles[name];
      if (config === undefined || code === undefined) continue;
      plans.push(
        await this.plan(
          manifest.project,
          name,
          config,
          code,
          request.migrations?.[name] ?? [],
          sourceOf(request.sources?.[name]),
        ),
      );
    }
    const staged = await this.commit(plans);
    // routes last: they point at versions that are live by now, and change in one swap
    await this.registry.deployRoutes(manifest.project, names, manifest.routes, {
      auth: manifest.auth,
      rateLimits: manifest.rateLimits,
    });
    return {
      project: manifest.project,
      functions: staged.map(({ entry, changed }) => ({
        name: entry.name,
        version: entry.version,
        status: changed ? "created" : "unchanged",
      })),
    };
  }

  /**
   * One function's code, written in the console: a new version keeping the function's config
   * (or, for a new function, the manifest defaults), with its source kept beside the bundle.
   * Routes and the project's other functions are left as they are.
   */
  async deployCode(
    project: string,
    name: string,
    config: FunctionConfig,
    bundle: string,
    source: FunctionSource,
  ): Promise<DeployedFunction> {
    const [staged] = await this.commit([
      await this.plan(project, name, config, bundle, [], source),
    ]);
    if (staged === undefined) throw new Error("a planned deploy staged nothing");
    return {
      name,
      version: staged.entry.version,
      status: staged.changed ? "created" : "unchanged",
    };
  }

  /** Stores a function's bundle and checks it loads, unless it is a version already made. */
  private async plan(
    project: string,
    name: string,
    config: FunctionConfig,
    code: string,
    migrations: Migration[],
    source?: FunctionSource,
  ): Promise<Plan> {
    const key = await this.blobs.put(new TextEncoder().encode(code));
    const sourceKey =
      source === undefined
        ? undefined
        : await this.blobs.put(new TextEncoder().encode(JSON.stringify(source)));
    const digest = createHash("sha256")
      .update(key)
      .update(JSON.stringify(config))
      .update(JSON.stringify(migrations));
    // an edit that changes only comments is a version of its own: it is what the user sees
    if (sourceKey !== undefined) digest.update(sourceKey);
    const hash = digest.digest("hex");
    const latest = await this.registry.latestVersion(project, name);
    const live = this.registry.resolve(project, name);
    if (latest !== undefined && latest.hash === hash) {
      return { kind: live?.version === latest.version ? "unchanged" : "reactivate", entry: latest };
    }
    const candidate: FunctionVersion = {
      project,
      name,
      version: (latest?.version ?? 0) + 1,
      config,
      artifact: key,
    };
    await this.verify(candidate);
    const size = Buffer.byteLength(code);
    return { kind: "new", candidate, size, hash, migrations, source: sourceKey };
  }

  /** Migrations, then the new versions recorded and made live; a failing migration stops it. */
  private async commit(plans: Plan[]): Promise<Array<{ entry: VersionRecord; changed: boolean }>> {
    for (const plan of plans) {
      if (plan.kind === "new" && plan.migrations.length > 0)
        await this.migrate(plan.candidate, plan.migrations);
    }
    const staged: Array<{ entry: VersionRecord; changed: boolean }> = [];
    for (const plan of plans) {
      if (plan.kind !== "new") {
        staged.push({ entry: plan.entry, changed: plan.kind === "reactivate" });
        continue;
      }
      const { project, name, artifact, config } = plan.candidate;
      staged.push({
        entry: await this.registry.createVersion(
          project,
          name,
          {
            key: artifact,
            size: plan.size,
            ...(plan.source === undefined ? {} : { source: plan.source }),
          },
          config,
          plan.hash,
        ),
        changed: true,
      });
    }
    for (const { entry, changed } of staged) if (changed) await this.prepare(entry);
    for (const { entry, changed } of staged) if (changed) await this.registry.setLive(entry);
    return staged;
  }
}
