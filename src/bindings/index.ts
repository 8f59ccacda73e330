// The host halves of what a function sees, assembled per function: outbound fetch under its
// egress policy, crypto.subtle, and its own KV bucket, SQL database and event namespace.
import { createHash } from "node:crypto";
import type { LogSink } from "../observe/logs.js";
import type { BusPort } from "../ports/bus.js";
import type { KvPort } from "../ports/kv.js";
import type { SqlPort } from "../ports/sql.js";
import type { InstanceServices } from "../runtimes/isolate/isolate-instance.js";
import type { FunctionVersion } from "../runtimes/types.js";
import type { BindingHost } from "./binding-error.js";
import { createSubtleHost } from "./crypto/subtle-host.js";
import { createEventsHost } from "./events/host.js";
import { DENY_ALL, createFetchHost, parseEgressList, type FetchHost } from "./fetch/index.js";
import { createKvHost } from "./kv/host.js";
import { createSqlHost } from "./sql/host.js";

export interface PlatformServices {
  logs: LogSink;
  /** Where the platform itself listens: outbound fetch may never reach it unless named. */
  platformAddresses: Array<{ host: string; port: number }>;
  kv: KvPort;
  sql: SqlPort;
  bus: BusPort;
}

/** The kv bucket of a function: names are [a-z0-9-], so "_" cannot be forged by either part. */
export function kvBucketOf(project: string, name: string): string {
  return `fn_${project}_${name}`;
}

/** The SQL database owner of a function: readable, and unique thanks to the hash suffix. */
export function sqlOwnerOf(project: string, name: string): string {
  const readable = `${project}_${name}`.replace(/-/g, "_").slice(0, 50);
  const hash = createHash("sha256").update(`${project}/${name}`).digest("hex").slice(0, 12);
  return `${readable}_${hash}`;
}

interface FunctionHosts {
  version: number;
  fetch: FetchHost;
  bindings: Record<string, BindingHost>;
}

// One set of host halves per function, shared by its instances (one connection pool, one
// bucket handle). A new version gets new ones (its egress list or timeout may differ); the old
// fetch host closes after a grace period in which the old version's invocations finish.
const hosts = new Map<string, FunctionHosts>();
const RETIRE_AFTER_MS = 60_000;

export function functionServices(
  fn: FunctionVersion,
  platform: PlatformServices,
): InstanceServices {
  const key = `${fn.project}/${fn.name}`;
  let entry = hosts.get(key);
  if (entry === undefined || entry.version !== fn.version) {
    if (entry !== undefined) retire(entry.fetch);
    // the manifest was validated at deploy, so a parse failure here can only mean "deny"
    const parsed = parseEgressList(fn.config.egress);
    entry = {
      version: fn.version,
      fetch: createFetchHost({
        policy: parsed.ok ? parsed.policy : DENY_ALL,
        platformAddresses: platform.platformAddresses,
      }),
      bindings: {
        kv: createKvHost(() => platform.kv.bucket(kvBucketOf(fn.project, fn.name))),
        sql: createSqlHost(
          () => platform.sql.database(sqlOwnerOf(fn.project, fn.name)),
          fn.config.timeoutMs,
        ),
        events: createEventsHost(platform.bus, fn.project),
      },
    };
    hosts.set(key, entry);
  }
  return {
    logs: platform.logs,
    fetch: entry.fetch,
    createSubtle: createSubtleHost,
    bindings: entry.bindings,
  };
}

/** Release a removed function's outbound connections. */
export function releaseFunction(project: string, name: string): void {
  const entry = hosts.get(`${project}/${name}`);
  if (entry === undefined) return;
  hosts.delete(`${project}/${name}`);
  retire(entry.fetch);
}

function retire(host: FetchHost) {
  setTimeout(() => void host.close().catch(() => undefined), RETIRE_AFTER_MS).unref();
}
