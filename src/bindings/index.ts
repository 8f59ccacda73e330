// The host halves of what a function sees, assembled per function: outbound fetch under its
// egress policy, crypto.subtle, and its own KV bucket, SQL database and event namespace.
import type { LogSink } from "../observe/logs.js";
import type { KvPort } from "../ports/kv.js";
import type { SqlPort } from "../ports/sql.js";
import type { ClusterNames } from "../shared/cluster-names.js";
import type { EgressCheck, InstanceServices } from "../runtimes/isolate/isolate-instance.js";
import type { FunctionVersion } from "../runtimes/types.js";
import type { BindingHost } from "./binding-error.js";
import { createSubtleHost } from "./crypto/subtle-host.js";
import { createEventsHost } from "./events/host.js";
import { DENY_ALL, createFetchHost, parseEgressList, type FetchHost } from "./fetch/index.js";
import { createEgressCheck, systemResolver } from "./fetch/guarded-connector.js";
import { createKvHost } from "./kv/host.js";
import { createSqlHost } from "./sql/host.js";

export interface PlatformServices {
  logs: LogSink;
  /** Where the platform itself listens: outbound fetch may never reach it unless named. */
  platformAddresses: Array<{ host: string; port: number }>;
  kv: KvPort;
  sql: SqlPort;
  /** Where the function's bucket and database are, by name. */
  names: ClusterNames;
  /** Told of every binding call as it settles (metrics, spans). */
  onBindingCall?: (call: BindingCall) => void;
  /** The traceparent a running invocation hands on, by its request id. */
  traceparentOf?: (requestId: string) => string | undefined;
  /** Accept an event on a subject of a project (durably: it is on the queue when this resolves). */
  publish(
    project: string,
    subject: string,
    data: Uint8Array,
    headers: Record<string, string>,
  ): Promise<void>;
}

/** One call from a function to a binding, as it settled. */
export interface BindingCall {
  project: string;
  fn: string;
  binding: string;
  /** The operation, or "other" past MAX_OP_LABELS distinct ones. */
  op: string;
  ok: boolean;
  requestId: string | undefined;
  /** Epoch ms. */
  start: number;
  end: number;
}

interface FunctionHosts {
  fetch: FetchHost;
  bindings: Record<string, BindingHost>;
  egress: EgressCheck | undefined;
}

export interface FunctionServices {
  /** The host halves for a version's instances, shared by all of them (one connection pool). */
  servicesFor(fn: FunctionVersion): InstanceServices;
  /** A version went live: release every other version's hosts (after a grace period). */
  keepOnly(project: string, name: string, version: number): void;
  /** The function was removed: release all its hosts. */
  release(project: string, name: string): void;
}

/** Operation names a binding's calls are counted under, at most (the rest: "other"). */
const MAX_OP_LABELS = 16;
/** In-flight invocations of a replaced version finish within this before its fetch pool closes. */
const RETIRE_AFTER_MS = 60_000;

// Hosts are per version (a new version's egress list or timeout may differ), and released only
// when the registry says which version serves: a deploy that fails after its check must not
// take the serving version's hosts away.
export function createFunctionServices(platform: PlatformServices): FunctionServices {
  const hosts = new Map<string, Map<number, FunctionHosts>>();

  const traceparentOf = platform.traceparentOf ?? (() => undefined);
  const create = (fn: FunctionVersion): FunctionHosts => {
    // the manifest was validated at deploy, so a parse failure here can only mean "deny"
    const parsed = parseEgressList(fn.config.egress);
    return {
      fetch: createFetchHost({
        policy: parsed.ok ? parsed.policy : DENY_ALL,
        platformAddresses: platform.platformAddresses,
      }),
      egress:
        parsed.ok && parsed.policy.rules.length > 0
          ? createEgressCheck({
              policy: parsed.policy,
              platformAddresses: platform.platformAddresses,
              resolve: systemResolver,
            })
          : undefined,
      bindings: counted(fn, platform.onBindingCall, {
        kv: createKvHost(() => platform.kv.bucket(platform.names.kvBucketOf(fn.project, fn.name))),
        sql: createSqlHost(
          () => platform.sql.database(platform.names.sqlOwnerOf(fn.project, fn.name)),
          fn.config.timeoutMs,
        ),
        events: createEventsHost(
          (subject, data, headers) => platform.publish(fn.project, subject, data, headers),
          traceparentOf,
        ),
      }),
    };
  };

  const releaseWhere = (project: string, name: string, keep: (version: number) => boolean) => {
    const versions = hosts.get(`${project}/${name}`);
    if (versions === undefined) return;
    for (const [version, entry] of versions) {
      if (keep(version)) continue;
      versions.delete(version);
      setTimeout(() => void entry.fetch.close().catch(() => undefined), RETIRE_AFTER_MS).unref();
    }
    if (versions.size === 0) hosts.delete(`${project}/${name}`);
  };

  return {
    servicesFor(fn) {
      const key = `${fn.project}/${fn.name}`;
      let versions = hosts.get(key);
      if (versions === undefined) hosts.set(key, (versions = new Map<number, FunctionHosts>()));
      let entry = versions.get(fn.version);
      if (entry === undefined) versions.set(fn.version, (entry = create(fn)));
      return {
        logs: platform.logs,
        fetch: tracedFetch(entry.fetch, traceparentOf),
        createSubtle: createSubtleHost,
        bindings: entry.bindings,
        egress: entry.egress,
      };
    },
    keepOnly: (project, name, version) => releaseWhere(project, name, (v) => v === version),
    release: (project, name) => releaseWhere(project, name, () => false),
  };
}

/** The same hosts, each call reported as it settles. */
function counted(
  fn: FunctionVersion,
  report: PlatformServices["onBindingCall"],
  hosts: Record<string, BindingHost>,
): Record<string, BindingHost> {
  if (report === undefined) return hosts;
  const out: Record<string, BindingHost> = {};
  for (const [name, host] of Object.entries(hosts)) {
    // op names come from function code: past a handful, the rest count as "other", so a
    // function cannot grow the metrics without bound
    const seen = new Set<string>();
    const label = (op: string) => {
      if (seen.has(op)) return op;
      if (seen.size >= MAX_OP_LABELS) return "other";
      seen.add(op);
      return op;
    };
    out[name] = (op, args, requestId) => {
      const start = Date.now();
      const settled = (ok: boolean) =>
        report({
          project: fn.project,
          fn: fn.name,
          binding: name,
          op: label(op),
          ok,
          requestId,
          start,
          end: Date.now(),
        });
      return host(op, args, requestId).then(
        (value) => {
          settled(true);
          return value;
        },
        (error: unknown) => {
          settled(false);
          throw error;
        },
      );
    };
  }
  return out;
}

/** Outbound fetches carry the calling invocation's traceparent, unless the function set one. */
function tracedFetch(
  fetch: FetchHost,
  traceparentOf: (requestId: string) => string | undefined,
): InstanceServices["fetch"] {
  return (requestId, method, url, headers, body) => {
    const traceparent = traceparentOf(requestId);
    if (traceparent !== undefined && !hasHeader(headers, "traceparent"))
      return fetch(requestId, method, url, [...headers, "traceparent", traceparent], body);
    return fetch(requestId, method, url, headers, body);
  };
}

function hasHeader(headers: string[], lower: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]?.toLowerCase() === lower) return true;
  return false;
}
