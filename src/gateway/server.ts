// The HTTP front door: function traffic at /fn/<project>/<function>/…, the admin API under
// /admin/, /metrics and /healthz (the reserved paths are listed in the README).
import { randomUUID } from "node:crypto";
import {
  createServer,
  ServerResponse as HttpResponse,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { LitefaasError } from "../shared/errors.js";
import type { AsyncInvoker, Invoker } from "../invoke/index.js";
import type { FunctionVersion, InvocationRequest, InvocationResponse } from "../runtimes/types.js";
import type { HttpLimits } from "../node/config.js";
import type { RateLimitPolicy } from "../shared/routes.js";
import { corsHeaders, preflightHeaders } from "./cors.js";
import type { Access, Authenticator, Identity } from "./auth/authenticate.js";
import type { ClientAddress } from "./limits/client-ip.js";
import type { LimitVerdict, RateLimiter } from "./limits/rate-limiter.js";
import type { Router } from "./router.js";
import { sendError, sendInvocation, sendJson, sentOn } from "./respond.js";
import type { AccessLog } from "./access-log.js";
import { WebSockets, type SessionEnd } from "./websockets.js";
import { readBody } from "./read-body.js";

export interface GatewayOptions {
  invoker: Invoker;
  /** Async invocations (X-Litefaas-Invocation: async, or ?async=1) and their status. */
  async: AsyncInvoker;
  /** The admin API, mounted at /admin/. */
  admin(req: IncomingMessage, res: ServerResponse, requestId: string): void;
  /** The web console's files at /console/ (control role). */
  console?: (req: IncomingMessage, res: ServerResponse, requestId: string) => void;
  /** GET /metrics, served by every process whatever its roles. */
  metrics?: (req: IncomingMessage, res: ServerResponse, requestId: string) => void;
  /** What this process answers (its roles); the rest is 404 with where to go instead. */
  serves?: { functions: boolean; admin: boolean };
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
  /** Timeouts and sizes that protect the gateway from slow or oversized clients. */
  http: HttpLimits;
  accessLog: AccessLog;
}

/** One request on its way through: its cancel hook for the runtime, and what the access log says. */
class Exchange {
  onCancel: ((reason?: string) => void) | undefined = undefined;
  settled = false;
  route: string | undefined = undefined;
  project: string | undefined = undefined;
  fn: string | undefined = undefined;
  keyId: string | undefined = undefined;
  subject: string | undefined = undefined;
  constructor(
    readonly requestId: string,
    readonly started: number,
  ) {}
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
  private readonly webSockets: WebSockets;
  /** Upgrade requests in flight: their connection, and what the client sent past the head. */
  private readonly upgrades = new WeakMap<IncomingMessage, { socket: Socket; head: Buffer }>();

  constructor(private readonly options: GatewayOptions) {
    const { http } = options;
    this.server = createServer(
      {
        keepAliveTimeout: http.keepAliveTimeoutMs,
        headersTimeout: http.headersTimeoutMs,
        requestTimeout: http.bodyTimeoutMs,
        maxHeaderSize: http.maxHeaderBytes,
        // how often Node looks for clients past those timeouts (its default is 30 s)
        connectionsCheckingInterval: Math.min(1000, Math.ceil(http.headersTimeoutMs / 4)),
      },
      (req, res) => this.handle(req, res),
    );
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) =>
      this.clientError(error, socket),
    );
    this.webSockets = new WebSockets(options.maxBodyBytes);
    // an upgrade's connection is a net.Socket, which Node types as the Duplex it extends
    this.server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.upgrade(req, socket, head),
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
    this.webSockets.closeAll(1001, "the platform is shutting down");
    this.server.close();
    this.server.closeIdleConnections();
    const deadline = Date.now() + deadlineMs;
    if (this.active > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref()),
      ]);
    }
    // WebSockets' closing handshakes, so their functions hear the close
    while (this.webSockets.count > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    for (const socket of this.sockets) socket.destroy();
    this.webSockets.close();
  }

  /**
   * An Upgrade request. It is served as any request is (routing, authentication, limits, the
   * function), over a response of our own on its connection; a WebSocket the function accepts
   * takes the connection over, and any other answer closes it after it is sent.
   */
  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer) {
    const res = new HttpResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.on("finish", () => socket.end());
    socket.on("error", () => socket.destroy());
    if (WebSockets.isWebSocketUpgrade(req)) {
      const problem = WebSockets.handshakeProblem(req);
      if (problem !== undefined) {
        const exchange = new Exchange(randomUUID(), performance.now());
        res.on("close", () => this.logAccess(req, res, exchange));
        sendError(
          res,
          new LitefaasError("INVALID_REQUEST", `not a WebSocket handshake: ${problem}`, {
            fix: "open the WebSocket with a WebSocket client (RFC 6455)",
          }),
          exchange.requestId,
        );
        return;
      }
      this.upgrades.set(req, { socket, head });
    }
    this.handle(req, res);
  }

  /** The function accepted a WebSocket: the connection is the WebSocket's from now on. */
  private acceptWebSocket(
    req: IncomingMessage,
    res: ServerResponse,
    exchange: Exchange,
    response: InvocationResponse,
  ) {
    const fn = response.webSocket;
    if (fn === undefined) return;
    const upgrade = this.upgrades.get(req);
    if (upgrade === undefined) {
      fn.closed(1006, "");
      throw new LitefaasError(
        "FUNCTION_BAD_RESPONSE",
        "the function answered 101 with a WebSocket, but the request is not a WebSocket upgrade",
        {
          fix: 'answer 101 only when request.headers.get("upgrade") is "websocket"; else answer 426',
        },
      );
    }
    this.upgrades.delete(req);
    res.detachSocket(upgrade.socket);
    // the request is over for draining's sake: a shutdown closes WebSockets itself (1001)
    this.settle(req, res, exchange, false);
    this.webSockets.accept(
      req,
      upgrade.socket,
      upgrade.head,
      fn,
      response.headers,
      exchange.requestId,
      (end) => this.logAccess(req, res, exchange, end),
    );
  }

  /**
   * A client the HTTP parser gave up on: a head too large, too slow, or not HTTP. Answered with
   * the standard JSON error while nothing else was sent on the connection, as Node itself does.
   */
  private clientError(error: NodeJS.ErrnoException, socket: Duplex) {
    // a net.Socket in fact, typed as the Duplex it extends
    const net = socket as Duplex & { bytesWritten?: number; remoteAddress?: string };
    if (error.code === "ECONNRESET" || !socket.writable || (net.bytesWritten ?? 0) > 0) {
      socket.destroy();
      return;
    }
    const { http } = this.options;
    const failure =
      error.code === "HPE_HEADER_OVERFLOW"
        ? new LitefaasError(
            "HEADERS_TOO_LARGE",
            `the request line and headers are over ${http.maxHeaderBytes} bytes`,
            { fix: "send fewer or smaller headers (large cookies are the usual cause)" },
          )
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? new LitefaasError("REQUEST_TIMEOUT", "the request did not arrive in time", {
              fix: `send the request head within ${http.headersTimeoutMs} ms and the whole request within ${http.bodyTimeoutMs} ms`,
            })
          : new LitefaasError(
              "INVALID_REQUEST",
              `the request is not valid HTTP/1.1 (${error.code ?? error.message})`,
              { fix: "send a well-formed HTTP/1.1 request" },
            );
    const requestId = randomUUID();
    const body = JSON.stringify(failure.toBody(requestId));
    socket.end(
      `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? ""}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\nx-request-id: ${requestId}\r\n\r\n${body}`,
    );
    this.options.accessLog.write({
      requestId,
      method: "-",
      path: "-",
      host: undefined,
      route: undefined,
      project: undefined,
      function: undefined,
      status: failure.status,
      error: failure.code,
      durationMs: 0,
      bytes: Buffer.byteLength(body),
      client: net.remoteAddress ?? "",
      keyId: undefined,
      subject: undefined,
      userAgent: undefined,
      aborted: false,
    });
  }

  /** Once per request: it no longer holds up draining, and (unless it is now a WebSocket) is logged. */
  private settle(req: IncomingMessage, res: ServerResponse, exchange: Exchange, log: boolean) {
    if (exchange.settled) return;
    exchange.settled = true;
    this.active--;
    if (!res.writableFinished && log) exchange.onCancel?.();
    if (log) this.logAccess(req, res, exchange);
    if (this.active === 0 && this.draining)
      for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private logAccess(
    req: IncomingMessage,
    res: ServerResponse,
    exchange: Exchange,
    webSocket?: SessionEnd,
  ) {
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const { bytes, error } =
      webSocket === undefined ? sentOn(res) : { ...webSocket, error: undefined };
    const agent = req.headers["user-agent"];
    this.options.accessLog.write({
      requestId: exchange.requestId,
      method: req.method ?? "GET",
      path: query === -1 ? url : url.slice(0, query),
      host: req.headers.host,
      route: exchange.route,
      project: exchange.project,
      function: exchange.fn,
      // 499 (as nginx logs it): the client went away before any answer
      status: webSocket !== undefined ? 101 : res.headersSent ? res.statusCode : 499,
      error,
      durationMs: Math.round((performance.now() - exchange.started) * 100) / 100,
      bytes,
      client: this.options.clientAddress.of(req),
      keyId: exchange.keyId,
      subject: exchange.subject,
      userAgent: agent,
      aborted: webSocket !== undefined ? webSocket.code === 1006 : !res.writableFinished,
      ...(webSocket === undefined ? {} : { closeCode: webSocket.code }),
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const incoming = req.headers["x-request-id"];
    const requestId =
      typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const exchange = new Exchange(requestId, performance.now());
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
      this.logAccess(req, res, exchange);
      return;
    }
    this.active++;
    res.on("close", () => this.settle(req, res, exchange, true));
    const url = req.url ?? "/";
    const elsewhere = this.elsewhere(url);
    if (elsewhere !== undefined) {
      req.resume();
      sendError(res, elsewhere, requestId);
    } else if (url.startsWith("/fn/")) {
      this.invoke(req, res, url, requestId, exchange).catch((error: unknown) =>
        sendError(res, error, requestId),
      );
    } else if (url.startsWith("/admin/")) {
      exchange.route = "admin";
      this.options.admin(req, res, requestId);
    } else if (
      (url === "/console" || url.startsWith("/console/") || url.startsWith("/console?")) &&
      this.options.console !== undefined
    ) {
      exchange.route = "console";
      this.options.console(req, res, requestId);
    } else if (url.startsWith("/invocations/")) {
      exchange.route = "invocations";
      req.resume();
      this.invocationStatus(res, url, requestId).catch((error: unknown) =>
        sendError(res, error, requestId),
      );
    } else if (url === "/metrics" && this.options.metrics !== undefined) {
      exchange.route = "metrics";
      this.options.metrics(req, res, requestId);
    } else if (url === "/healthz") {
      exchange.route = "healthz";
      const ready = this.options.isReady();
      res.writeHead(ready ? 200 : 503, {
        "content-type": "application/json",
        "x-request-id": requestId,
      });
      res.end(ready ? '{"status":"ok"}' : '{"status":"starting"}');
    } else {
      this.route(req, res, url, requestId, exchange);
    }
  }

  /** Why a process without the role for `url` does not answer it, or undefined when it does. */
  private elsewhere(url: string): LitefaasError | undefined {
    const serves = this.options.serves;
    // a process with every role (the usual one) answers everything: nothing more on its hot path
    if (
      serves === undefined ||
      (serves.functions && serves.admin) ||
      url === "/healthz" ||
      url === "/metrics"
    )
      return undefined;
    if (url.startsWith("/admin/") || url === "/console" || url.startsWith("/console/")) {
      return serves.admin
        ? undefined
        : new LitefaasError(
            "NOT_FOUND",
            "this process has no control role: no admin API or console here",
            {
              fix: "send admin requests (and open the console) at a process started with --role control (or all)",
            },
          );
    }
    return serves.functions
      ? undefined
      : new LitefaasError(
          "ROUTE_NOT_FOUND",
          "this process has no gateway role: no function traffic here",
          {
            fix: "send function traffic to a process started with --role gateway (or all)",
          },
        );
  }

  /** A path of the projects' routes, or nothing. */
  private route(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    requestId: string,
    exchange: Exchange,
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
    exchange.route = `${route.project} ${routed.key}`;
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
      routeKey: exchange.route,
      cors: corsHeaders(route.cors, origin),
      timeoutMs: route.timeoutMs,
    };
    this.dispatch(req, res, fn, access, route.function, exchange, {
      method: routed.method,
      url: `http://${host}${url}`,
      headers,
      cancel: exchange,
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
    exchange: Exchange,
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
    exchange.route = `${project} /fn/${name}`;
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
        routeKey: exchange.route,
        timeoutMs: undefined,
      },
      name,
      exchange,
      {
        method: req.method ?? "GET",
        url: `http://${host}${rest.length === 0 ? "/" : rest}${url.slice(pathEnd)}`,
        headers,
        cancel: exchange,
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
    exchange: Exchange,
    target: Pick<InvocationRequest, "method" | "url" | "headers" | "cancel">,
  ) {
    const { project } = access;
    const { requestId } = exchange;
    // only a deployed function names the request in the access log and the metrics: any name
    // can be asked for, and each would otherwise become a label set that is never freed
    if (fn !== undefined) {
      exchange.project = project;
      exchange.fn = name;
    }
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
      if (identity !== undefined) {
        target.headers.push("x-litefaas-auth", identityHeader(identity));
        if (identity.type === "api-key") exchange.keyId = identity.keyId;
        else exchange.subject = identity.subject;
      }
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
      // set by the worker's recorder: present from the start, the object keeps one shape
      traceparent: undefined,
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
    const invocation = this.options.invoker.invoke(fn, request);
    const timeoutMs = gatewayTimeout(access.timeoutMs, this.options.http.requestTimeoutMs);
    const response =
      timeoutMs === 0 ? await invocation : await answerWithin(invocation, timeoutMs, exchange);
    if (response.webSocket !== undefined) {
      this.acceptWebSocket(req, res, exchange, response);
      return;
    }
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

/** The route's timeout, or the gateway's, whichever is shorter; 0 when neither is set. */
function gatewayTimeout(route: number | undefined, gateway: number): number {
  if (route === undefined || route === 0) return gateway;
  return gateway === 0 ? route : Math.min(route, gateway);
}

/**
 * The invocation's answer, or GATEWAY_TIMEOUT after `ms`: then the function's request signal is
 * aborted, and a streamed body that arrives late is cancelled rather than left to back up.
 */
function answerWithin(
  invocation: Promise<InvocationResponse>,
  ms: number,
  exchange: Exchange,
): Promise<InvocationResponse> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      exchange.onCancel?.("gateway timeout");
      reject(
        new LitefaasError("GATEWAY_TIMEOUT", `the function did not answer within ${ms} ms`, {
          fix: "make the function answer sooner, or raise the route's timeout in litefaas.yaml",
        }),
      );
    }, ms);
    invocation.then(
      (response) => {
        clearTimeout(timer);
        if (!late) resolve(response);
        else discardBody(response);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!late) reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function discardBody(response: InvocationResponse) {
  response.webSocket?.closed(1006, "");
  const body = response.body;
  if (body !== null && typeof body === "object" && Symbol.asyncIterator in body)
    void body[Symbol.asyncIterator]().return?.();
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
  /** The route's own limit on waiting for the function's answer. */
  timeoutMs: number | undefined;
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
