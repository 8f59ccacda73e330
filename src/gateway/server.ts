// The HTTP front door: function traffic at /fn/<project>/<function>/…, the admin API under
// /admin/, and /healthz (the reserved paths are listed in the README).
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { LitefaasError } from "../shared/errors.js";
import type { AsyncInvoker, Invoker } from "../invoke/index.js";
import type { FunctionVersion, InvocationRequest } from "../runtimes/types.js";
import type { RateLimitPolicy } from "../shared/routes.js";
import { corsHeaders, preflightHeaders } from "./cors.js";
import type { Access, Authenticator, Identity } from "./auth/authenticate.js";
import type { ClientAddress } from "./limits/client-ip.js";
import type { LimitVerdict, RateLimiter } from "./limits/rate-limiter.js";
import type { Router } from "./router.js";
import { sendError, sendInvocation, sendJson } from "./respond.js";
import { readBody } from "./read-body.js";

export interface GatewayOptions {
  invoker: Invoker;
  /** Async invocations (X-Litefaas-Invocation: async, or ?async=1) and their status. */
  async: AsyncInvoker;
  /** The admin API, mounted at /admin/. */
  admin(req: IncomingMessage, res: ServerResponse, requestId: string): void;
  maxBodyBytes: number;
  isReady(): boolean;
  /** The route table as it is now (swapped whole when a deploy changes routes). */
  router(): Router;
  /** Who may call what, as the projects' manifests say now. */
  auth(): Authenticator;
  /** The rate limiter, and the projects' limits as their manifests say now. */
  limits(): { limiter: RateLimiter; policies: Map<string, RateLimitPolicy[]> };
  /** The client's address, through trusted proxies. */
  clientAddress: ClientAddress;
}

/** Headers the gateway sets for the function; a client's copies are dropped, never passed on. */
const GATEWAY_HEADERS = new Set(["x-litefaas-route", "x-litefaas-params", "x-litefaas-auth"]);

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ASYNC_QUERY = /([?&])async=(1|true)(&|$)/;
const INVOCATION_PATH = /^\/invocations\/([A-Za-z0-9-]{1,64})$/;

export class Gateway {
  readonly server: Server;
  private draining = false;
  private active = 0;
  private sockets = new Set<Socket>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: GatewayOptions) {
    this.server = createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, (req, res) =>
      this.handle(req, res),
    );
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  listen(port: number, host: string): Promise<{ port: number; host: string }> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const address = this.server.address();
        if (address === null || typeof address === "string")
          reject(new Error("no listening address"));
        else resolve({ port: address.port, host: address.address });
      });
    });
  }

  /** Refuse new requests, let in-flight ones finish (up to `deadlineMs`), then close. */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    this.server.close();
    this.server.closeIdleConnections();
    if (this.active > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref()),
      ]);
    }
    for (const socket of this.sockets) socket.destroy();
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const incoming = req.headers["x-request-id"];
    const requestId =
      typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    if (this.draining) {
      res.shouldKeepAlive = false;
      sendError(
        res,
        new LitefaasError("SHUTTING_DOWN", undefined, {
          fix: "retry against another instance or after the restart",
        }),
        requestId,
      );
      req.resume();
      return;
    }
    this.active++;
    const cancel: { onCancel: (() => void) | undefined } = { onCancel: undefined };
    res.on("close", () => {
      this.active--;
      if (!res.writableFinished) cancel.onCancel?.();
      if (this.active === 0 && this.draining)
        for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
    const url = req.url ?? "/";
    if (url.startsWith("/fn/")) {
      this.invoke(req, res, url, requestId, cancel).catch((error: unknown) =>
        sendError(res, error, requestId),
      );
    } else if (url.startsWith("/admin/")) {
      this.options.admin(req, res, requestId);
    } else if (url.startsWith("/invocations/")) {
      req.resume();
      this.invocationStatus(res, url, requestId).catch((error: unknown) =>
        sendError(res, error, requestId),
      );
    } else if (url === "/healthz") {
      const ready = this.options.isReady();
      res.writeHead(ready ? 200 : 503, {
        "content-type": "application/json",
        "x-request-id": requestId,
      });
      res.end(ready ? '{"status":"ok"}' : '{"status":"starting"}');
    } else {
      this.route(req, res, url, requestId, cancel);
    }
  }

  /** A path of the projects' routes, or nothing. */
  private route(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    requestId: string,
    cancel: InvocationRequest["cancel"],
  ) {
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? "GET";
    const origin = req.headers.origin;
    if (method === "OPTIONS" && origin !== undefined && this.preflight(req, res, path, requestId))
      return;
    const routed = this.options.router().match(method, req.headers.host, path);
    if (routed === undefined) {
      req.resume();
      sendError(
        res,
        new LitefaasError("ROUTE_NOT_FOUND", `nothing is served at ${path}`, {
          fix: "functions are served at /fn/<project>/<function>/… and at the routes their manifests declare (litefaas routes)",
        }),
        requestId,
      );
      return;
    }
    if (routed.kind === "methods") {
      req.resume();
      const allow = routed.allow.join(", ");
      if (method === "OPTIONS") {
        res.writeHead(204, { allow, "x-request-id": requestId });
        res.end();
        return;
      }
      sendError(
        res,
        new LitefaasError("METHOD_NOT_ALLOWED", `${method} is not served at ${path}`, {
          fix: `use one of ${allow}`,
        }),
        requestId,
        { allow },
      );
      return;
    }
    const { route } = routed;
    const fn = this.options.invoker.resolve(route.project, route.function);
    const host = req.headers.host ?? "localhost";
    const headers = incomingHeaders(req.rawHeaders);
    headers.push("x-litefaas-route", routed.key, "x-litefaas-params", asciiJson(routed.params));
    const access: Access & Limited = {
      project: route.project,
      routePath: route.path,
      auth: route.auth,
      scopes: route.scopes,
      rateLimits: route.rateLimits,
      routeKey: `${route.project} ${routed.key}`,
      cors: corsHeaders(route.cors, origin),
    };
    this.dispatch(req, res, fn, access, route.function, requestId, {
      method: routed.method,
      url: `http://${host}${url}`,
      headers,
      cancel,
    }).catch((error: unknown) => sendError(res, error, requestId));
  }

  /** A CORS preflight for a route that allows CORS: answered here, before authentication. */
  private preflight(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    requestId: string,
  ): boolean {
    const asked = req.headers["access-control-request-method"];
    const origin = req.headers.origin;
    if (typeof asked !== "string" || origin === undefined) return false;
    const method = asked.toUpperCase();
    const target = this.options.router().match(method, req.headers.host, path);
    if (target?.kind !== "route" || target.route.cors === undefined) return false;
    req.resume();
    const headers = preflightHeaders(
      target.route.cors,
      target.route.methods,
      origin,
      method,
      req.headers["access-control-request-headers"],
    );
    // not allowed: an answer without the headers, which the browser takes as a refusal
    res.writeHead(204, { ...headers, "x-request-id": requestId });
    res.end();
    return true;
  }

  private async invoke(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    requestId: string,
    cancel: InvocationRequest["cancel"],
  ) {
    // /fn/<project>/<function>[/rest][?query]
    const projectEnd = url.indexOf("/", 4);
    const query = url.indexOf("?");
    const pathEnd = query === -1 ? url.length : query;
    const nameEnd = projectEnd === -1 ? -1 : nextBoundary(url, projectEnd + 1, pathEnd);
    if (projectEnd === -1 || projectEnd > pathEnd || nameEnd === projectEnd + 1) {
      req.resume();
      throw new LitefaasError(
        "ROUTE_NOT_FOUND",
        `${url.slice(0, pathEnd)} does not name a function`,
        {
          fix: "call /fn/<project>/<function>/…",
        },
      );
    }
    const project = url.slice(4, projectEnd);
    const name = url.slice(projectEnd + 1, nameEnd);
    const rest = url.slice(nameEnd, pathEnd);
    const host = req.headers.host ?? "localhost";
    const headers = incomingHeaders(req.rawHeaders);
    headers.push("x-forwarded-prefix", url.slice(0, nameEnd));
    await this.dispatch(
      req,
      res,
      this.options.invoker.resolve(project, name),
      {
        project,
        routePath: undefined,
        auth: undefined,
        scopes: undefined,
        // no looser than the function's routes: every limit they name holds here too
        rateLimits: this.options.router().limitsOf(project, name),
        routeKey: `${project} /fn/${name}`,
      },
      name,
      requestId,
      {
        method: req.method ?? "GET",
        url: `http://${host}${rest.length === 0 ? "/" : rest}${url.slice(pathEnd)}`,
        headers,
        cancel,
      },
    );
  }

  /** The invocation of `fn` for this request: now, or accepted for later (async). */
  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    fn: FunctionVersion | undefined,
    access: Access & Partial<Limited>,
    name: string,
    requestId: string,
    target: Pick<InvocationRequest, "method" | "url" | "headers" | "cancel">,
  ) {
    const { project } = access;
    const sourceIp = this.options.clientAddress.of(req);
    const authenticator = this.options.auth();
    let identity: Identity | undefined;
    if (authenticator.required(access).length > 0) {
      const apiKey = req.headers["x-api-key"];
      const outcome = await authenticator.authenticate(
        access,
        req.headers.authorization,
        typeof apiKey === "string" ? apiKey : undefined,
      );
      if (!outcome.ok) {
        req.resume();
        sendError(res, outcome.error, requestId, {
          ...asRecord(access.cors ?? []),
          "www-authenticate": outcome.challenge,
        });
        return;
      }
      identity = outcome.identity;
      if (identity !== undefined) target.headers.push("x-litefaas-auth", identityHeader(identity));
    }
    // the gateway's own response headers: CORS first, then the rate limits'
    const limitHeaders: string[] = [...(access.cors ?? [])];
    if (access.rateLimits !== undefined && access.rateLimits.length > 0) {
      const { limiter, policies } = this.options.limits();
      const declared = policies.get(project) ?? [];
      const applied = access.rateLimits.flatMap((n) => declared.filter((p) => p.name === n));
      const verdict = limiter.take(applied, (policy) =>
        policy.by === "route"
          ? (access.routeKey ?? "")
          : policy.by === "ip" || identity === undefined
            ? `ip ${sourceIp}`
            : identity.type === "api-key"
              ? `key ${identity.keyId}`
              : `sub ${identity.subject ?? ""}`,
      );
      if (verdict !== undefined) {
        limitHeaders.push(...rateLimitHeaders(verdict));
        if (!verdict.ok) {
          req.resume();
          const headers: Record<string, string> = {
            "retry-after": String(verdict.retryAfterSeconds),
          };
          for (let i = 0; i < limitHeaders.length; i += 2)
            headers[limitHeaders[i] ?? ""] = limitHeaders[i + 1] ?? "";
          sendError(
            res,
            new LitefaasError(
              "RATE_LIMITED",
              `${verdict.policy.kind === "quota" ? "quota" : "rate limit"} ${verdict.policy.name} is used up`,
              { fix: `retry after ${verdict.retryAfterSeconds} s` },
            ),
            requestId,
            headers,
          );
          return;
        }
      }
    }
    if (fn === undefined) {
      req.resume();
      throw new LitefaasError("FUNCTION_NOT_FOUND", `no function ${project}/${name} is deployed`, {
        fix: "list functions with `litefaas ls`; deploy with `litefaas deploy <dir>`",
      });
    }
    const reading = readBody(req, this.options.maxBodyBytes);
    const body = reading === null ? null : await reading;
    let url = target.url;
    const query = url.indexOf("?");
    const asyncQuery = query !== -1 && ASYNC_QUERY.test(url.slice(query));
    if (asyncQuery) url = url.slice(0, query) + withoutAsyncParam(url.slice(query));
    const request: InvocationRequest = {
      ...target,
      id: requestId,
      url,
      body,
      sourceIp,
    };
    const mode = req.headers["x-litefaas-invocation"];
    if (asyncQuery || (typeof mode === "string" && mode.toLowerCase() === "async")) {
      const key = req.headers["idempotency-key"];
      const { record, replayed } = await this.options.async.submit(fn, request, {
        ...(typeof key === "string" ? { idempotencyKey: key } : {}),
      });
      const statusUrl = `/invocations/${record.id}`;
      const extra = asRecord(limitHeaders);
      extra["location"] = statusUrl;
      if (replayed) extra["idempotent-replayed"] = "true";
      sendJson(res, 202, { id: record.id, status: record.status, statusUrl }, requestId, extra);
      return;
    }
    const response = await this.options.invoker.invoke(fn, request);
    await sendInvocation(res, response, requestId, req.method === "HEAD", limitHeaders);
  }

  /** GET /invocations/<id>: an async invocation's record; the id is the capability. */
  private async invocationStatus(res: ServerResponse, url: string, requestId: string) {
    const match = INVOCATION_PATH.exec(url);
    const record = match?.[1] === undefined ? undefined : await this.options.async.status(match[1]);
    if (record === undefined) {
      throw new LitefaasError(
        "NOT_FOUND",
        `no async invocation ${url.slice("/invocations/".length)}`,
        {
          fix: "use the id a 202 answer gave; records are kept 3 days after their last change",
        },
      );
    }
    sendJson(res, 200, record, requestId);
  }
}

/** The query without async=1: it is for the gateway, not the function. */
function withoutAsyncParam(search: string): string {
  const kept = search
    .slice(1)
    .split("&")
    .filter((part) => !/^async=(1|true)$/.test(part));
  return kept.length === 0 ? "" : `?${kept.join("&")}`;
}

/** What a route request carries to dispatch beyond who may call it. */
interface Limited {
  rateLimits: string[] | undefined;
  /** Counts "by: route" limits: the project and the route as matched. */
  routeKey: string;
  /** CORS headers for this request's origin (flat), [] when none apply. */
  cors: string[];
}

/** Flat headers (name, value, …) as a record; a repeated name keeps its last value. */
function asRecord(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] ?? ""] = flat[i + 1] ?? "";
  return out;
}

/** The IETF draft's RateLimit-Limit/-Remaining/-Reset, for the policy closest to refusing. */
function rateLimitHeaders(verdict: LimitVerdict): string[] {
  const { policy } = verdict;
  const limit = policy.kind === "quota" ? policy.limit : policy.burst;
  return [
    "ratelimit-limit",
    String(limit),
    "ratelimit-remaining",
    String(verdict.remaining),
    "ratelimit-reset",
    String(verdict.resetSeconds),
  ];
}

/** The client's headers minus the ones only the gateway may set. */
function incomingHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    // the length first: most headers are not ours, and this runs for every request
    if (name.length >= 15 && name.length <= 17 && GATEWAY_HEADERS.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** An identity's header form, made once per identity (a verified token's is kept). */
const identityHeaders = new WeakMap<Identity, string>();
function identityHeader(identity: Identity): string {
  let header = identityHeaders.get(identity);
  if (header === undefined) {
    header = asciiJson(identity);
    identityHeaders.set(identity, header);
  }
  return header;
}

/** JSON a header can carry: anything past ASCII as \uXXXX (JSON.parse reads it back). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function nextBoundary(url: string, from: number, end: number): number {
  const slash = url.indexOf("/", from);
  return slash === -1 || slash > end ? end : slash;
}
