// The admin API (/admin/v1/…): deploy, list, inspect, version, roll back, remove, read logs;
// data and trigger routes come from their own modules.
// Every call needs the admin bearer token. Bodies and answers are JSON; errors use the catalog.
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerCheck } from "../shared/bearer.js";
import { LitefaasError } from "../shared/errors.js";
import type { PlatformLog } from "../observe/platform-log.js";
import type { Deployer, DeployRequest } from "./deployer.js";
import { readJson, type Route } from "./admin-http.js";
import { keyRoutes, type KeyDeps } from "./admin-key-routes.js";
import { dataRoutes, type DataDeps } from "./admin-data-routes.js";
import { queueStats, triggerRoutes, type TriggerDeps } from "./admin-trigger-routes.js";
import { recordRoutes, type RecordDeps } from "./admin-record-routes.js";
import { logRoutes, type LogDeps } from "./admin-log-routes.js";
import { usageRoutes, type UsageDeps } from "./admin-usage-routes.js";
import { consoleRoutes, type ConsoleDeps } from "./admin-console-routes.js";
import { notFound, type Registry } from "./registry.js";
import { streamNdjson } from "./ndjson-stream.js";

export interface AdminDeps
  extends DataDeps, TriggerDeps, KeyDeps, RecordDeps, ConsoleDeps, UsageDeps, LogDeps {
  token: string;
  registry: Registry;
  deployer: Deployer;
  /** Where failures the platform did not expect are reported. */
  log: PlatformLog;
  /** Base URL where functions are served, for answers that name a function's URL. */
  publicUrl(): string;
  /** Running instances and in-flight invocations of a function's live version. */
  usage(project: string, name: string): { instances: number; inflight: number };
  /** Follow a project's events (subjects inside the project, "*" and ">" allowed). */
  followEvents(
    project: string,
    subject: string,
    onEvent: (event: {
      subject: string;
      data: Uint8Array;
      headers: Record<string, string>;
    }) => void,
  ): () => void;
  /** Called after a function is removed, to stop its instances and free its artifacts. */
  onRemoved(project: string, name: string, artifacts: string[], purge: boolean): Promise<void>;
}

export function createAdminApi(deps: AdminDeps) {
  const authorized = bearerCheck(deps.token);
  const fnUrl = (project: string, name: string) => `${deps.publicUrl()}/fn/${project}/${name}`;

  const routes: Route[] = [
    ...dataRoutes(deps),
    ...triggerRoutes(deps),
    ...keyRoutes(deps),
    ...recordRoutes(deps),
    ...logRoutes(deps),
    ...usageRoutes(deps),
    ...consoleRoutes(deps),
    [
      "POST",
      /^\/admin\/v1\/deploy$/,
      async ({ req }) => {
        const body = (await readJson(req)) as Partial<DeployRequest>;
        if (
          typeof body.manifest !== "string" ||
          typeof body.bundles !== "object" ||
          body.bundles === null
        ) {
          throw new LitefaasError("INVALID_REQUEST", "a deploy needs { manifest, file, bundles }", {
            fix: "deploy with `litefaas deploy <dir>`",
          });
        }
        const result = await deps.deployer.deploy({
          manifest: body.manifest,
          file: body.file ?? "litefaas.yaml",
          bundles: body.bundles,
          ...(body.migrations === undefined ? {} : { migrations: body.migrations }),
          ...(body.sources === undefined ? {} : { sources: body.sources }),
        });
        return {
          ...result,
          functions: result.functions.map((f) => ({ ...f, url: fnUrl(result.project, f.name) })),
        };
      },
    ],
    [
      "GET",
      /^\/admin\/v1\/routes$/,
      ({ query }) => {
        const project = query.get("project");
        return Promise.resolve({
          routes: deps.registry
            .routes()
            .filter((r) => project === null || r.project === project)
            .map((r) => ({
              project: r.project,
              method: r.methods === undefined ? "ANY" : r.methods.join(","),
              host: r.host ?? "*",
              path: r.path,
              function: r.function,
              auth:
                r.auth === undefined ? "default" : r.auth.length === 0 ? "none" : r.auth.join(","),
              scopes: r.scopes ?? [],
              rateLimits: r.rateLimits ?? [],
            })),
        });
      },
    ],
    [
      "GET",
      /^\/admin\/v1\/functions$/,
      () =>
        Promise.resolve({
          functions: deps.registry.list().map((f) => ({ ...f, url: fnUrl(f.project, f.name) })),
        }),
    ],
    [
      "GET",
      /^\/admin\/v1\/functions\/([^/]+)\/([^/]+)$/,
      async ({ params: [project = "", name = ""] }) => {
        const record = deps.registry.get(project, name);
        const live = deps.registry.resolve(project, name);
        if (record === undefined || live === undefined) throw notFound(project, name);
        const queue = await queueStats(deps, project, name);
        return {
          ...record,
          url: fnUrl(project, name),
          config: live.config,
          artifact: live.artifact,
          ...deps.usage(project, name),
          ...(queue === undefined ? {} : { queue }),
        };
      },
    ],
    [
      "DELETE",
      /^\/admin\/v1\/functions\/([^/]+)\/([^/]+)$/,
      async ({ params: [project = "", name = ""], query }) => {
        const purge = query.get("purge") === "1";
        const artifacts = await deps.registry.remove(project, name);
        await deps.onRemoved(project, name, artifacts, purge);
        return { removed: `${project}/${name}`, purged: purge };
      },
    ],
    [
      "GET",
      /^\/admin\/v1\/functions\/([^/]+)\/([^/]+)\/versions$/,
      async ({ params: [project = "", name = ""] }) => {
        const record = deps.registry.get(project, name);
        if (record === undefined) throw notFound(project, name);
        const versions = await deps.registry.versions(project, name);
        return {
          live: record.live,
          versions: versions.map((v) => ({
            version: v.version,
            createdAt: v.createdAt,
            size: v.size,
            hash: v.hash,
            live: v.version === record.live,
          })),
        };
      },
    ],
    [
      "POST",
      /^\/admin\/v1\/functions\/([^/]+)\/([^/]+)\/rollback$/,
      async ({ req, params: [project = "", name = ""] }) => {
        const body = (await readJson(req)) as { to?: unknown };
        if (
          body.to !== undefined &&
          (typeof body.to !== "number" || !Number.isInteger(body.to) || body.to < 1)
        ) {
          throw new LitefaasError("INVALID_REQUEST", "`to` must be a version number", {
            fix: "pass --to <version>, e.g. --to 2",
          });
        }
        const entry = await deps.registry.rollback(project, name, body.to);
        return { project, name, live: entry.version };
      },
    ],
    [
      "GET",
      /^\/admin\/v1\/projects\/([a-z0-9-]+)\/events$/,
      ({ res, params: [project = ""], query }) => {
        const subject = query.get("subject") ?? ">";
        if (!/^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$|^>$/.test(subject)) {
          throw new LitefaasError("INVALID_REQUEST", `"${subject}" is not a subject pattern`, {
            fix: 'use tokens separated by ".", with "*" for one token and a final ">" for the rest, e.g. orders.>',
          });
        }
        streamNdjson(
          res,
          [{ ready: true, project, subject }],
          (send) =>
            deps.followEvents(project, subject, (event) =>
              send({
                subject: event.subject,
                data: Buffer.from(event.data).toString("utf8"),
                headers: event.headers,
              }),
            ),
          (count) => ({
            dropped: count,
            message: `${count} events not sent: this follower read slower than they were published`,
          }),
        );
        return Promise.resolve(undefined);
      },
    ],
  ];

  return (req: IncomingMessage, res: ServerResponse, requestId: string): void => {
    const respond = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
        "x-request-id": requestId,
      });
      res.end(text);
    };
    const fail = (error: unknown) => {
      const e =
        error instanceof LitefaasError
          ? error
          : new LitefaasError("INTERNAL", undefined, { cause: error });
      if (e.code === "INTERNAL")
        deps.log.error("an admin request failed", { component: "admin", requestId, error });
      if (!res.headersSent) respond(e.status, e.toBody(requestId));
      else res.destroy();
    };
    if (!authorized(req.headers.authorization)) {
      req.resume();
      res.setHeader("www-authenticate", 'Bearer realm="litefaas-admin"');
      fail(
        new LitefaasError("UNAUTHORIZED", "the admin API needs a valid bearer token", {
          fix: "pass --token or set LITEFAAS_TOKEN; `litefaas up` wrote the token to <data>/admin-token",
        }),
      );
      return;
    }
    const url = new URL(req.url ?? "/", "http://admin");
    const path = decodeURIComponent(url.pathname);
    let pathMatched = false;
    for (const [method, pattern, handler] of routes) {
      const match = pattern.exec(path);
      if (match === null) continue;
      pathMatched = true;
      if (method !== req.method) continue;
      // for handlers that write their own response (streams, 202s)
      res.setHeader("x-request-id", requestId);
      // a handler that throws before its first await fails this request, not the process
      Promise.resolve()
        .then(() => handler({ req, res, params: match.slice(1), query: url.searchParams }))
        .then((body) => (body === undefined ? undefined : respond(200, body)), fail);
      return;
    }
    req.resume();
    fail(
      pathMatched
        ? new LitefaasError("METHOD_NOT_ALLOWED", `${req.method ?? ""} is not allowed on ${path}`)
        : new LitefaasError("NOT_FOUND", `no admin endpoint at ${path}`, {
            fix: "see the admin API in the README",
          }),
    );
  };
}
