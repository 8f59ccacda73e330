// The HTTP front door: function traffic at /fn/<project>/<function>/…, the admin API under
// /admin/, and /healthz (the reserved paths are listed in the README).
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { LitefaasError } from "../shared/errors.js";
import type { AsyncInvoker, Invoker } from "../invoke/index.js";
import type { InvocationRequest } from "../runtimes/types.js";
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
}

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
      req.resume();
      sendError(
        res,
        new LitefaasError("ROUTE_NOT_FOUND", `nothing is served at ${url.split("?")[0] ?? url}`, {
          fix: "functions are served at /fn/<project>/<function>/…",
        }),
        requestId,
      );
    }
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
    const fn = this.options.invoker.resolve(project, name);
    if (fn === undefined) {
      req.resume();
      throw new LitefaasError("FUNCTION_NOT_FOUND", `no function ${project}/${name} is deployed`, {
        fix: "list functions with `litefaas ls`; deploy with `litefaas deploy <dir>`",
      });
    }
    const reading = readBody(req, this.options.maxBodyBytes);
    const body = reading === null ? null : await reading;
    const rest = url.slice(nameEnd, pathEnd);
    let search = url.slice(pathEnd);
    const asyncQuery = ASYNC_QUERY.test(search);
    if (asyncQuery) search = withoutAsyncParam(search);
    const host = req.headers.host ?? "localhost";
    const headers = req.rawHeaders.slice();
    headers.push("x-forwarded-prefix", url.slice(0, nameEnd));
    const request: InvocationRequest = {
      id: requestId,
      method: req.method ?? "GET",
      url: `http://${host}${rest.length === 0 ? "/" : rest}${search}`,
      headers,
      body,
      sourceIp: req.socket.remoteAddress ?? "",
      cancel,
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
    await sendInvocation(res, response, requestId, request.method === "HEAD");
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

function nextBoundary(url: string, from: number, end: number): number {
  const slash = url.indexOf("/", from);
  return slash === -1 || slash > end ? end : slash;
}
