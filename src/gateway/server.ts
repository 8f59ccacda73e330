// The HTTP front door: function traffic at /fn/<project>/<function>/…, the admin API under
// /admin/, and /healthz (the reserved paths are listed in the README).
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { LitefaasError } from "../shared/errors.js";
import type { AsyncInvoker, Invoker } from "../invoke/index.js";
import type { FunctionVersion, InvocationRequest } from "../runtimes/types.js";
import type { Access, Authenticator } from "./auth/authenticate.js";
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
    const access: Access = {
      project: route.project,
      routePath: route.path,
      auth: route.auth,
      scopes: route.scopes,
    };
    this.dispatch(req, res, fn, access, route.function, requestId, {
      method: routed.method,
      url: `http://${host}${url}`,
      headers,
      cancel,
    }).catch((error: unknown) => sendError(res, error, requestId));
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
      { project, routePath: undefined, auth: undefined, scopes: undefined },
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
    access: Access,
    name: string,
    requestId: string,
    target: Pick<InvocationRequest, "method" | "url" | "headers" | "cancel">,
  ) {
    const { project } = access;
    const authenticator = this.options.auth();
    if (authenticator.required(access).length > 0) {
      const apiKey = req.headers["x-api-key"];
      const outcome = await authenticator.authenticate(
        access,
        req.headers.authorization,
        typeof apiKey === "string" ? apiKey : undefined,
      );
      if (!outcome.ok) {
        req.resume();
        sendError(res, outcome.error, requestId, { "www-authenticate": outcome.challenge });
        return;
      }
      if (outcome.identity !== undefined)
        target.headers.push("x-litefaas-auth", asciiJson(outcome.identity));
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
      sourceIp: req.socket.remoteAddress ?? "",
    };
    const mode = req.headers["x-litefaas-invocation"];
    if (asyncQuery || (typeof mode === "string" && mode.toLowerCase() === "async")) {
      const key = req.headers["idempotency-key"];
      const { record, replayed } = await this.options.async.submit(fn, request, {
        ...(typeof key === "string" ? { idempotencyKey: key } : {}),
      });
      const statusUrl = `/invocations/${record.id}`;
      sendJson(res, 202, { id: record.id, status: record.status, statusUrl }, requestId, {
        location: statusUrl,
        ...(replayed ? { "idempotent-replayed": "true" } : {}),
      });
      return;
    }
    const response = await this.options.invoker.invoke(fn, request);
    await sendInvocation(res, response, requestId, req.method === "HEAD");
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
