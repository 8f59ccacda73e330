// The composition root: the only place that picks backends and wires the parts together.
import { randomBytes, randomUUID } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import type { BusPort } from "../ports/bus.js";
import { join } from "node:path";
import { openFileBlobs } from "../backends/file-blobs/index.js";
import { createMemoryBus } from "../backends/memory-bus/index.js";
import { openNatsQueue } from "../backends/nats-queue/index.js";
import { openSqliteQueue } from "../backends/sqlite-queue/index.js";
import { connectNats } from "../backends/nats/connection.js";
import { natsBus } from "../backends/nats-bus/index.js";
import { natsKv } from "../backends/nats-kv/index.js";
import { natsBlobs } from "../backends/nats-blobs/index.js";
import { openPostgresSql } from "../backends/postgres-sql/index.js";
import { openSqliteKv } from "../backends/sqlite-kv/index.js";
import { openSqliteSql } from "../backends/sqlite-sql/index.js";
import { createFunctionServices } from "../bindings/index.js";
import { createKvHost } from "../bindings/kv/host.js";
import { createSqlHost } from "../bindings/sql/host.js";
import { consoleHandler } from "../control/console-assets.js";
import { createAdminApi } from "../control/admin-api.js";
import { buildProject } from "../control/build-project.js";
import { Deployer, type DeployResult } from "../control/deployer.js";
import { Registry } from "../control/registry.js";
import { Gateway } from "../gateway/server.js";
import { combineRuntimes } from "../runtimes/index.js";
import { createProcessRuntime } from "../runtimes/process/index.js";
import { createAccessLog } from "../gateway/access-log.js";
import { Router } from "../gateway/router.js";
import { Authenticator } from "../gateway/auth/authenticate.js";
import { ClientAddress } from "../gateway/limits/client-ip.js";
import { RateLimiter } from "../gateway/limits/rate-limiter.js";
import { ApiKeys } from "../control/api-keys.js";
import { createLocalInvoker } from "../invoke/index.js";
import { createRemoteInvoker, serveInvocations } from "../invoke/remote/index.js";
import { LogStore, shareLogs } from "../observe/logs.js";
import { silentLog, type PlatformLog } from "../observe/platform-log.js";
import { metricsEndpoint } from "../observe/metrics-endpoint.js";
import { bearerCheck } from "../shared/bearer.js";
import { createIsolateRuntime } from "../runtimes/isolate/index.js";
import { Scheduler } from "../scheduler/index.js";
import { openTriggers } from "../triggers/index.js";
import { ClusterNames } from "../shared/cluster-names.js";
import { LitefaasError } from "../shared/errors.js";
import type { NodeConfig } from "./config.js";
import { importLocalState } from "./import-local-state.js";
import { openObservability } from "./observability.js";

/** How long an operator's SQL query may run. */
const ADMIN_SQL_TIMEOUT_MS = 30_000;

export interface RunningNode {
  url: string;
  tokenFile: string;
  deployed: DeployResult[];
  /** Drain and stop; resolves when everything is closed. */
  close(): Promise<void>;
}

export async function startNode(
  config: NodeConfig,
  log: PlatformLog = silentLog,
): Promise<RunningNode> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const { token, file: tokenFile, created } = await adminToken(config.dataDir, config.adminToken);
  const names = new ClusterNames(config.cluster);
  const { roles } = config;

  const { functionKv, sql, bus, nats, queue } = await openFunctionBackends(config, names, log);
  // the platform's own state: with NATS, in the cluster's buckets, so every process shares it
  const kv =
    nats === undefined ? openSqliteKv(join(config.dataDir, "registry.sqlite")) : functionKv;
  const blobs =
    nats === undefined
      ? openFileBlobs(join(config.dataDir, "blobs"))
      : natsBlobs(nats, { bucket: names.bucket("blobs"), replicas: config.replicas });
  log.info(
    `backends: kv ${config.nats === undefined ? "SQLite" : "NATS JetStream"}, sql ${config.postgres === undefined ? "SQLite" : "PostgreSQL"}, events and queues ${config.nats === undefined ? "SQLite" : "NATS JetStream"}` +
      (nats === undefined
        ? ""
        : `; registry, API keys and artifacts shared on NATS by cluster "${names.cluster}"`),
  );
  const publish = async (
    project: string,
    subject: string,
    data: Uint8Array,
    headers: Record<string, string>,
  ): Promise<void> => {
    await queue.publish({ subject: names.projectSubject(project, subject), data, headers });
  };
  if (nats !== undefined) {
    const imported = await importLocalState({ dataDir: config.dataDir, kv, blobs, names });
    if (imported !== undefined) log.info(imported, { cluster: names.cluster });
  }
  // gauges read the registry, scheduler and triggers when scraped: all made below
  const observe = await openObservability({
    config,
    names,
    nats,
    gauges: {
      functions: () =>
        registry.list().flatMap((f) => {
          const live = registry.resolve(f.project, f.name);
          return live === undefined
            ? []
            : [{ project: live.project, function: live.name, version: live.version }];
        }),
      usage: (project, name) => scheduler.usage(project, name),
      ...(roles.control
        ? {
            queues: {
              pending: (project: string, name: string) => triggers.pending(project, name),
              deadLetters: (project: string, name: string) =>
                triggers.deadLetters.count(project, name),
            },
          }
        : {}),
    },
    live: roles.control
      ? () => registry.list().flatMap((f) => registry.resolve(f.project, f.name) ?? [])
      : undefined,
    kv,
    deployed: (project, name) => registry.get(project, name) !== undefined,
    log,
  });
  const { metrics, records, recorder } = observe;
  const store = await LogStore.open(
    join(config.dataDir, "logs"),
    (project, fn, count) => metrics.logLinesDropped(project, fn, count),
    config.logFileMaxBytes,
  );
  // on NATS, every process's function logs reach every process's store (logs -f anywhere)
  const logs = nats === undefined ? store : shareLogs(store, bus, names.logsSubject);
  const registry = await Registry.open(kv, {
    bucket: names.bucket("registry"),
    onError: (error) =>
      log.error("a change could not be applied", { component: "registry", error }),
  });
  const apiKeys = await ApiKeys.open(kv, names.bucket("keys"));
  const clientAddress = trustedProxies(config.trustedProxies);
  const limiter = sharedRateLimiter(bus, names.limitsSubject);

  let url = "";
  const platformAddresses: Array<{ host: string; port: number }> = [];
  const functionServices = createFunctionServices({
    logs: recorder.teeLogs(logs),
    platformAddresses,
    kv: functionKv,
    sql,
    names,
    publish,
    onBindingCall: (call) => observe.bindingCall(call),
    traceparentOf: observe.traceparentOf,
  });
  // a control process keeps runtimes to check deploys; only a worker keeps isolates ready
  const runtime = createIsolateRuntime({
    blobs,
    prewarm: roles.worker ? config.prewarm : 0,
    services: (fn) => functionServices.servicesFor(fn),
  });
  const processes = createProcessRuntime({
    blobs,
    dataDir: config.dataDir,
    requireSandbox: config.requireSandbox,
    services: (fn) => functionServices.servicesFor(fn),
  });
  if (processes.protections.off.length > 0) {
    log.warn(
      `process functions run without: ${processes.protections.off.join("; ")}${config.requireSandbox ? " (--require-sandbox: they will not start)" : ""}`,
    );
  }
  const runtimes = combineRuntimes(runtime, processes);
  const scheduler = new Scheduler(runtimes, {
    perInstance: config.perInstance,
    drainMs: config.drainMs,
  });
  let ready = false;
  const invoker = recorder.wrap(
    createLocalInvoker({
      resolve: (project, name) => registry.resolve(project, name),
      schedule: (fn, request) => scheduler.invoke(fn, request),
    }),
  );
  const triggers = await openTriggers({ queue, kv: functionKv, invoker, logs, publish, names });
  // a gateway without the worker role sends invocations to the workers over the bus
  const gatewayInvoker = roles.worker
    ? invoker
    : createRemoteInvoker({
        bus,
        cluster: names.cluster,
        resolve: (project, name) => registry.resolve(project, name),
      });
  const invocations =
    roles.worker && nats !== undefined
      ? serveInvocations({
          bus,
          cluster: names.cluster,
          invoker,
          // the version the gateway resolved: the live one from memory, else from the bucket
          version: (project, name, version) => {
            const live = registry.resolve(project, name);
            return live?.version === version
              ? Promise.resolve(live)
              : registry.version(project, name, version);
          },
          capacity: config.capacity,
        })
      : undefined;
  const deployer = new Deployer(
    registry,
    blobs,
    (fn) => runtimes.verify(fn),
    async (fn, migrations) => {
      const db = await sql.database(names.sqlOwnerOf(fn.project, fn.name));
      try {
        return (await db.migrate(migrations)).applied;
      } catch (error) {
        throw new LitefaasError(
          "MIGRATION_FAILED",
          `${fn.project}/${fn.name}: ${error instanceof Error ? error.message : String(error)}`,
          {
            fix: "fix the migration and deploy again; the previous version is still serving",
          },
        );
      }
    },
    (fn) => triggers.prepare(fn),
  );
  const triggerFailed = (project: string, name: string) => (error: unknown) =>
    log.error(`the triggers of ${project}/${name} could not be changed`, {
      component: "triggers",
      project,
      function: name,
      error,
    });
  // the gateway's route table and who may call what, rebuilt whole when a project's change
  const checkKey = (presented: string) => apiKeys.check(presented);
  let router = new Router(registry.routes());
  let authenticator = new Authenticator(registry.auths(), checkKey);
  let limitPolicies = registry.rateLimits();
  registry.onChange((event) => {
    if (event.kind === "routes") {
      router = new Router(registry.routes());
      authenticator = new Authenticator(registry.auths(), checkKey);
      limitPolicies = registry.rateLimits();
      return;
    }
    if (event.kind === "removed") {
      scheduler.retire(event.project, event.name);
      functionServices.release(event.project, event.name);
      if (roles.worker || roles.control)
        triggers.remove(event.project, event.name).catch(triggerFailed(event.project, event.name));
      return;
    }
    const live = registry.resolve(event.project, event.name);
    if (live === undefined) return;
    functionServices.keepOnly(event.project, event.name, live.version);
    if (roles.worker) triggers.activate(live).catch(triggerFailed(event.project, event.name));
  });
  // what was deployed before this start consumes and keeps its schedule (missed ticks run now)
  if (roles.worker) {
    for (const f of registry.list()) {
      const live = registry.resolve(f.project, f.name);
      if (live !== undefined) await triggers.activate(live);
    }
  }

  const accessFile = createAccessLog(config.accessLog, config.logFormat, config.logFileMaxBytes);
  const accessLog = {
    write: (entry: Parameters<typeof accessFile.write>[0]) => {
      metrics.access(entry);
      if (entry.project !== undefined && entry.function !== undefined)
        observe.usage.egress(entry.project, entry.function, entry.bytes);
      accessFile.write(entry);
    },
    close: () => accessFile.close(),
  };
  const admin = createAdminApi({
    token,
    log,
    apiKeys,
    registry,
    deployer,
    logs,
    publicUrl: () => url,
    usage: (project, name) => scheduler.usage(project, name),
    triggers,
    async: triggers.async,
    publishEvent: publish,
    names,
    records,
    usageReport: (query) => observe.usageReport(query),
    blobs,
    replay: (fn, request) => gatewayInvoker.invoke(fn, request),
    data: (project, name, binding) =>
      binding === "kv"
        ? createKvHost(() => functionKv.bucket(names.kvBucketOf(project, name)))
        : createSqlHost(() => sql.database(names.sqlOwnerOf(project, name)), ADMIN_SQL_TIMEOUT_MS),
    followEvents: (project, subject, onEvent) => {
      const prefix = names.projectSubject(project, "");
      const subscription = bus.subscribe(`${prefix}${subject}`, (message) =>
        onEvent({ ...message, subject: message.subject.slice(prefix.length) }),
      );
      return () => subscription.unsubscribe();
    },
    onRemoved: async (project, name, artifacts, purge) => {
      // artifacts are content-addressed: another function's version may share one
      const inUse = new Set<string>();
      for (const f of registry.list())
        for (const v of await registry.versions(f.project, f.name)) {
          inUse.add(v.artifact);
          if (v.source !== undefined) inUse.add(v.source);
        }
      for (const key of artifacts) if (!inUse.has(key)) await blobs.delete(key);
      if (purge) {
        await records.remove(project, name);
        await functionKv.deleteBucket(names.kvBucketOf(project, name));
        await sql.dropDatabase(names.sqlOwnerOf(project, name));
      }
    },
  });
  const gateway = new Gateway({
    invoker: gatewayInvoker,
    async: triggers.async,
    maxBodyBytes: config.maxBodyBytes,
    isReady: () => ready,
    router: () => router,
    auth: () => authenticator,
    limits: () => ({ limiter, policies: limitPolicies }),
    clientAddress,
    http: config.http,
    accessLog,
    serves: { functions: roles.gateway, admin: roles.control },
    admin,
    ...(roles.control ? { console: consoleHandler() } : {}),
    metrics: metricsEndpoint({
      metrics,
      authorized: config.metricsOpen ? () => true : bearerCheck(token),
    }),
  });
  const address = await gateway.listen(config.port, config.host);
  url = `http://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
  platformAddresses.push({ host: address.host, port: address.port });
  if (created) log.info(`admin token created: ${tokenFile} (mode 0600)`, { tokenFile });
  else log.info(`admin token: ${tokenFile}`, { tokenFile });

  if (roles.worker) runtime.supply.want(128);
  const deployed: DeployResult[] = [];
  for (const dir of config.deploy) {
    const request = await buildProject(dir);
    deployed.push(await deployer.deploy(request));
  }
  ready = true;

  let closing: Promise<void> | undefined;
  return {
    url,
    tokenFile,
    deployed,
    close: () =>
      (closing ??= (async () => {
        ready = false;
        await gateway.drain(config.drainMs);
        await accessLog.close();
        await invocations?.close();
        await triggers.close();
        await scheduler.close(Math.min(config.drainMs, 5000));
        await runtimes.close();
        await observe.close();
        await store.close();
        apiKeys.close();
        registry.close();
        limiter.close();
        if (kv !== functionKv) await kv.close();
        await queue.close();
        await functionKv.close();
        await sql.close();
        await bus.close();
        await blobs.close();
        await nats?.drain();
      })()),
  };
}

function trustedProxies(entries: string[]): ClientAddress {
  try {
    return new ClientAddress(entries);
  } catch (error) {
    throw new LitefaasError("INVALID_REQUEST", `--trusted-proxies: ${(error as Error).message}`, {
      fix: "list addresses or CIDR ranges separated by commas, e.g. 10.0.0.0/8,127.0.0.1",
    });
  }
}

/**
 * One rate limiter per process; processes sharing a bus (NATS) tell each other what they
 * admitted, so a limit holds for the cluster (rate-limiter.ts says how closely).
 */
function sharedRateLimiter(bus: BusPort, subject: string): RateLimiter {
  const self = randomUUID();
  const limiter: RateLimiter = new RateLimiter({
    send: (entries) =>
      void bus
        .publish(subject, new TextEncoder().encode(JSON.stringify({ from: self, entries })))
        .catch(() => undefined), // a lost share means a little overshoot, never a refusal
  });
  bus.subscribe(subject, (message) => {
    const shared = JSON.parse(new TextDecoder().decode(message.data)) as {
      from: string;
      entries: Array<[string, number, number?]>;
    };
    if (shared.from !== self) limiter.absorb(shared.entries);
  });
  return limiter;
}

/** The backends of functions' own stores: embedded by default, NATS and PostgreSQL when given. */
async function openFunctionBackends(config: NodeConfig, names: ClusterNames, log: PlatformLog) {
  const report = (component: string) => (error: unknown, context: string) =>
    log.error(context, { component, error });
  const nats =
    config.nats === undefined
      ? undefined
      : await connectNats({ servers: config.nats, name: "litefaas" });
  // functions' own stores live apart from the registry: one file for every bucket, one per database
  const functionKv =
    nats === undefined
      ? openSqliteKv(join(config.dataDir, "kv.sqlite"))
      : natsKv(nats, { replicas: config.replicas, onError: report("nats-kv") });
  const bus = nats === undefined ? createMemoryBus() : natsBus(nats);
  // embedded: the queue mirrors what it accepted onto the in-process bus, for `events tail`;
  // on NATS, JetStream's own subjects are what tail subscribes to
  const queue =
    nats === undefined
      ? openSqliteQueue(join(config.dataDir, "queue.sqlite"), {
          onPublish: (m) => void bus.publish(m.subject, m.data, m.headers),
          onError: report("sqlite-queue"),
        })
      : await openNatsQueue(nats, {
          prefix: names.queuePrefix,
          stream: names.queueStream,
          replicas: config.replicas,
          onError: report("nats-queue"),
        });
  const sql =
    config.postgres === undefined
      ? openSqliteSql({ dir: join(config.dataDir, "sql") })
      : await openPostgresSql({ url: config.postgres });
  return { functionKv, sql, bus, nats, queue };
}

/**
 * The admin token lives in <data>/admin-token, readable by the owner only. One given in
 * LITEFAAS_ADMIN_TOKEN (how every process of a cluster gets the same) is written there too, for
 * the CLI on this machine.
 */
async function adminToken(
  dataDir: string,
  given: string | undefined,
): Promise<{ token: string; file: string; created: boolean }> {
  const file = join(dataDir, "admin-token");
  if (given !== undefined) {
    await writeFile(file, `${given}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return { token: given, file, created: false };
  }
  try {
    const token = (await readFile(file, "utf8")).trim();
    if (token.length >= 16) return { token, file, created: false };
  } catch {
    // first start: create it below
  }
  const token = `lf_${randomBytes(24).toString("base64url")}`;
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { token, file, created: true };
}
