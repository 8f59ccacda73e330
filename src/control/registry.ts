// The registry: functions and their immutable versions, stored in a kv bucket (SQLite embedded,
// JetStream KV distributed) and mirrored in memory so the request path never touches storage.
// A watch keeps the mirror current with what other processes sharing the bucket change: a
// deploy, rollback or removal made through one is live in every other as soon as it is told.
import { KvConflictError, type KvBucket, type KvChange, type KvPort } from "../ports/kv.js";
import { LitefaasError } from "../shared/errors.js";
import type { FunctionConfig } from "../shared/manifest/types.js";
import type { AuthConfig, RateLimitPolicy, RouteConfig } from "../shared/routes.js";
import type { FunctionVersion } from "../runtimes/types.js";

export interface VersionRecord extends FunctionVersion {
  createdAt: string;
  /** SHA-256 over the artifact and the config: equal hashes mean an unchanged deploy. */
  hash: string;
  size: number;
  /** Blob key of the source written in the console (JSON: file and text), when it was. */
  source?: string;
}

export interface FunctionRecord {
  project: string;
  name: string;
  /** The version serving traffic. */
  live: number;
  /** The highest version number ever created. */
  latest: number;
  createdAt: string;
  updatedAt: string;
}

/** What a project declares beside its functions. */
export interface ProjectRecord {
  project: string;
  routes: RouteConfig[];
  /** Set by the last deploy whose manifest had an auth section. */
  auth?: AuthConfig | undefined;
  /** Set by the last deploy whose manifest had a rateLimits section. */
  rateLimits?: RateLimitPolicy[] | undefined;
  updatedAt: string;
}

export interface RegistryEvent {
  /** routes: the project's routes or authentication changed (name is ""). */
  kind: "live" | "removed" | "routes";
  project: string;
  name: string;
}

/** Versions another process may take first while this one deploys the same function. */
const MAX_VERSION_ATTEMPTS = 20;
const enc = new TextEncoder();
const dec = new TextDecoder();
const fnKey = (project: string, name: string) => `fn/${project}/${name}`;
const projectKey = (project: string) => `proj/${project}`;
const versionKey = (project: string, name: string, version: number) =>
  `ver/${project}/${name}/${String(version).padStart(8, "0")}`;

export interface RegistryOptions {
  /** The kv bucket (default litefaas_registry). */
  bucket?: string;
  /** Told when a change another process made could not be applied here. */
  onError?: (error: unknown) => void;
}

export class Registry {
  /** project/name → the live version, for the request path. */
  private live = new Map<string, VersionRecord>();
  private records = new Map<string, FunctionRecord>();
  private projects = new Map<string, ProjectRecord>();
  private listeners = new Set<(event: RegistryEvent) => void>();
  private stopFollowing: () => void = () => undefined;
  /** Changes are applied one at a time, in the bucket's order. */
  private applying: Promise<void> = Promise.resolve();

  private constructor(
    private readonly bucket: KvBucket,
    private readonly onError: (error: unknown) => void,
  ) {}

  static async open(kv: KvPort, options: RegistryOptions = {}): Promise<Registry> {
    const registry = new Registry(
      await kv.bucket(options.bucket ?? "litefaas_registry"),
      options.onError ?? (() => undefined),
    );
    // watching first: a change made while the rest loads is applied after it, not lost
    registry.stopFollowing = registry.bucket.watch({}, (change) => {
      registry.applying = registry.applying
        .then(() => registry.apply(change))
        .catch(registry.onError);
    });
    await registry.loadAll();
    return registry;
  }

  /** Stops following other processes' changes. */
  close(): void {
    this.stopFollowing();
  }

  /** Settles once every change told so far is applied (for tests and orderly shutdowns). */
  settled(): Promise<void> {
    return this.applying;
  }

  /** The live version of a function, from memory. */
  resolve(project: string, name: string): VersionRecord | undefined {
    return this.live.get(`${project}/${name}`);
  }

  list(): Array<FunctionRecord & { config: FunctionConfig }> {
    return [...this.records.values()]
      .map((r) => ({ ...r, config: this.resolveConfig(r) }))
      .sort((a, b) => `${a.project}/${a.name}`.localeCompare(`${b.project}/${b.name}`));
  }

  get(project: string, name: string): FunctionRecord | undefined {
    return this.records.get(`${project}/${name}`);
  }

  /** Every project's routes, for the gateway's route table. */
  routes(): Array<RouteConfig & { project: string }> {
    return [...this.projects.values()].flatMap((p) =>
      p.routes.map((route) => ({ ...route, project: p.project })),
    );
  }

  /**
   * A deploy's routes, after its versions are live: they replace the routes to the functions it
   * deployed and keep the project's others (a project may be deployed from several manifests,
   * as its functions may).
   */
  async deployRoutes(
    project: string,
    functions: string[],
    routes: RouteConfig[],
    settings: { auth: AuthConfig | undefined; rateLimits: RateLimitPolicy[] | undefined },
  ): Promise<void> {
    const current = this.projects.get(project);
    const kept = (current?.routes ?? []).filter((r) => !functions.includes(r.function));
    await this.setRoutes(project, [...kept, ...routes], {
      auth: settings.auth ?? current?.auth,
      rateLimits: settings.rateLimits ?? current?.rateLimits,
    });
  }

  /** Every project's rate limits and quotas, by project. */
  rateLimits(): Map<string, RateLimitPolicy[]> {
    const out = new Map<string, RateLimitPolicy[]>();
    for (const p of this.projects.values())
      if (p.rateLimits !== undefined) out.set(p.project, p.rateLimits);
    return out;
  }

  /** Every project's authentication that has one. */
  auths(): Map<string, AuthConfig> {
    const out = new Map<string, AuthConfig>();
    for (const p of this.projects.values()) if (p.auth !== undefined) out.set(p.project, p.auth);
    return out;
  }

  private async setRoutes(
    project: string,
    routes: RouteConfig[],
    settings = {
      auth: this.projects.get(project)?.auth,
      rateLimits: this.projects.get(project)?.rateLimits,
    },
  ): Promise<void> {
    const current = this.projects.get(project);
    const { auth, rateLimits } = settings;
    if (
      JSON.stringify(current?.routes ?? []) === JSON.stringify(routes) &&
      JSON.stringify(current?.auth) === JSON.stringify(auth) &&
      JSON.stringify(current?.rateLimits) === JSON.stringify(rateLimits)
    )
      return;
    const record: ProjectRecord = {
      project,
      routes,
      ...(auth === undefined ? {} : { auth }),
      ...(rateLimits === undefined ? {} : { rateLimits }),
      updatedAt: new Date().toISOString(),
    };
    if (routes.length === 0 && auth === undefined && rateLimits === undefined) {
      await this.bucket.delete(projectKey(project));
      // the watch may have told it already
      if (!this.projects.delete(project)) return;
    } else {
      await this.bucket.put(projectKey(project), enc.encode(JSON.stringify(record)));
      const told = this.projects.get(project);
      this.projects.set(project, record);
      if (told !== undefined && sameSettings(told, record)) return;
    }
    this.emit({ kind: "routes", project, name: "" });
  }

  onChange(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest version's hash, to tell an unchanged deploy from a new one. */
  async latestVersion(project: string, name: string): Promise<VersionRecord | undefined> {
    const record = this.get(project, name);
    return record === undefined ? undefined : this.version(project, name, record.latest);
  }

  async version(
    project: string,
    name: string,
    version: number,
  ): Promise<VersionRecord | undefined> {
    const entry = await this.bucket.get(versionKey(project, name, version));
    return entry === undefined ? undefined : (JSON.parse(dec.decode(entry.value)) as VersionRecord);
  }

  async versions(project: string, name: string): Promise<VersionRecord[]> {
    const out: VersionRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({
        prefix: `ver/${project}/${name}/`,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const key of page.keys) {
        const entry = await this.bucket.get(key.key);
        if (entry !== undefined) out.push(JSON.parse(dec.decode(entry.value)) as VersionRecord);
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return out;
  }

  /** Store a new immutable version (not yet live). */
  async createVersion(
    project: string,
    name: string,
    artifact: { key: string; size: number; source?: string },
    config: FunctionConfig,
    hash: string,
  ): Promise<VersionRecord> {
    // another process sharing the bucket may be deploying this function too: a number it took
    // first (the create fails) is skipped, so each deploy gets a version of its own
    let version = (this.get(project, name)?.latest ?? 0) + 1;
    for (let attempt = 1; ; attempt++, version++) {
      const entry: VersionRecord = {
        project,
        name,
        version,
        config,
        artifact: artifact.key,
        size: artifact.size,
        ...(artifact.source === undefined ? {} : { source: artifact.source }),
        hash,
        createdAt: new Date().toISOString(),
      };
      try {
        const key = versionKey(project, name, version);
        await this.bucket.put(key, enc.encode(JSON.stringify(entry)), { ifRevision: 0 });
        return entry;
      } catch (error) {
        if (!(error instanceof KvConflictError) || attempt >= MAX_VERSION_ATTEMPTS) throw error;
      }
    }
  }

  /** Make `version` serve traffic (deploy and rollback). */
  async setLive(entry: VersionRecord): Promise<FunctionRecord> {
    const { project, name } = entry;
    const now = new Date().toISOString();
    const previous = this.get(project, name);
    const record: FunctionRecord = {
      project,
      name,
      live: entry.version,
      latest: Math.max(previous?.latest ?? 0, entry.version),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    await this.bucket.put(fnKey(project, name), enc.encode(JSON.stringify(record)));
    this.makeLive(record, entry);
    return record;
  }

  /** Mirrors a function's live version; told to listeners when it is a change. */
  private makeLive(record: FunctionRecord, entry: VersionRecord): void {
    const id = `${record.project}/${record.name}`;
    const before = this.live.get(id)?.version;
    this.records.set(id, record);
    this.live.set(id, entry);
    if (before !== entry.version)
      this.emit({ kind: "live", project: record.project, name: record.name });
  }

  /** A change to the bucket, from another process or (already mirrored) from this one. */
  private async apply(change: KvChange): Promise<void> {
    const key = change.op === "put" ? change.entry.key : change.key;
    if (key.startsWith("fn/")) {
      const id = key.slice("fn/".length);
      if (change.op === "delete") {
        const gone = this.records.get(id);
        if (gone === undefined) return;
        this.records.delete(id);
        this.live.delete(id);
        this.emit({ kind: "removed", project: gone.project, name: gone.name });
        return;
      }
      const record = JSON.parse(dec.decode(change.entry.value)) as FunctionRecord;
      if (this.live.get(id)?.version === record.live) {
        this.records.set(id, record);
        return;
      }
      const entry = await this.version(record.project, record.name, record.live);
      // gone meanwhile: a later change (its removal) says what became of it
      if (entry !== undefined) this.makeLive(record, entry);
      return;
    }
    if (key.startsWith("proj/")) {
      const project = key.slice("proj/".length);
      const current = this.projects.get(project);
      if (change.op === "delete") {
        if (current === undefined) return;
        this.projects.delete(project);
      } else {
        const record = JSON.parse(dec.decode(change.entry.value)) as ProjectRecord;
        if (current !== undefined && sameSettings(current, record)) return;
        this.projects.set(project, record);
      }
      this.emit({ kind: "routes", project, name: "" });
    }
    // ver/ keys: versions are read when asked for
  }

  async rollback(project: string, name: string, to?: number): Promise<VersionRecord> {
    const record = this.get(project, name);
    if (record === undefined) throw notFound(project, name);
    const target = to ?? (await this.previousVersion(project, name, record.live));
    const entry = await this.version(project, name, target);
    if (entry === undefined) {
      throw new LitefaasError("VERSION_NOT_FOUND", `${project}/${name} has no version ${target}`, {
        fix: `list versions with \`litefaas versions ${project}/${name}\``,
      });
    }
    await this.setLive(entry);
    return entry;
  }

  /** Forget a function and its versions; returns the blobs it used (bundles and sources). */
  async remove(project: string, name: string): Promise<string[]> {
    if (this.get(project, name) === undefined) throw notFound(project, name);
    const versions = await this.versions(project, name);
    await this.bucket.delete(fnKey(project, name));
    for (const v of versions) await this.bucket.delete(versionKey(project, name, v.version));
    // the watch may have told it already
    if (this.records.delete(`${project}/${name}`)) this.emit({ kind: "removed", project, name });
    this.live.delete(`${project}/${name}`);
    // its routes go with it: nothing would answer them, and they would hold their paths
    const routes = this.projects.get(project)?.routes ?? [];
    await this.setRoutes(
      project,
      routes.filter((r) => r.function !== name),
    );
    return versions.flatMap((v) =>
      v.source === undefined ? [v.artifact] : [v.artifact, v.source],
    );
  }

  private async previousVersion(project: string, name: string, live: number): Promise<number> {
    const earlier = (await this.versions(project, name)).filter((v) => v.version < live);
    const previous = earlier.at(-1);
    if (previous === undefined) {
      throw new LitefaasError(
        "VERSION_NOT_FOUND",
        `${project}/${name} has no version before ${live}`,
        {
          fix: "deploy a new version instead, or pass --to <version>",
        },
      );
    }
    return previous.version;
  }

  private resolveConfig(record: FunctionRecord): FunctionConfig {
    const live = this.live.get(`${record.project}/${record.name}`);
    if (live === undefined)
      throw new LitefaasError("INTERNAL", `no live version for ${record.project}/${record.name}`);
    return live.config;
  }

  private async loadAll() {
    for (const key of await this.keys("proj/")) {
      const entry = await this.bucket.get(key);
      if (entry === undefined) continue;
      const record = JSON.parse(dec.decode(entry.value)) as ProjectRecord;
      this.projects.set(record.project, record);
    }
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({
        prefix: "fn/",
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const key of page.keys) {
        const entry = await this.bucket.get(key.key);
        if (entry === undefined) continue;
        const record = JSON.parse(dec.decode(entry.value)) as FunctionRecord;
        const live = await this.version(record.project, record.name, record.live);
        if (live === undefined) continue;
        this.records.set(`${record.project}/${record.name}`, record);
        this.live.set(`${record.project}/${record.name}`, live);
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  private async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix, ...(cursor === undefined ? {} : { cursor }) });
      keys.push(...page.keys.map((k) => k.key));
      cursor = page.cursor;
    } while (cursor !== undefined);
    return keys;
  }

  private emit(event: RegistryEvent) {
    for (const listener of this.listeners) listener(event);
  }
}

/** Whether two records of a project hold the same routes, authentication and rate limits. */
function sameSettings(a: ProjectRecord, b: ProjectRecord): boolean {
  return (
    JSON.stringify([a.routes, a.auth, a.rateLimits]) ===
    JSON.stringify([b.routes, b.auth, b.rateLimits])
  );
}

export function notFound(project: string, name: string): LitefaasError {
  return new LitefaasError("FUNCTION_NOT_FOUND", `no function ${project}/${name}`, {
    fix: "list deployed functions with `litefaas ls`, or deploy it with `litefaas deploy`",
  });
}
