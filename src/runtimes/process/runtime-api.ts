// The AWS Lambda Runtime API (2018-06-01) for one process instance, so Lambda's own runtime
// interface clients and custom-runtime bootstraps work unchanged: the process long-polls
// /runtime/invocation/next, posts the result to …/<id>/response or …/<id>/error, and reports a
// start-up failure to /runtime/init/error. Beside it, /litefaas/v1/bindings/<name>/<op> gives
// the process its KV store, SQL database and events (the same host halves as the isolate's).
// A prepared process (started before any function needed it) first long-polls
// /litefaas/v1/assignment for the environment of the function it becomes.
// It listens on a Unix socket that only this instance's sandbox can reach.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BindingUserError, type BindingHost } from "../../bindings/binding-error.js";

const PREFIX = "/2018-06-01/runtime";
const NEXT = `${PREFIX}/invocation/next`;
const INVOCATION = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;
const BINDING = /^\/litefaas\/v1\/bindings\/([a-z]+)\/([A-Za-z]+)$/;
const ASSIGNMENT = "/litefaas/v1/assignment";
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

/** An invocation handed to the process. */
export interface RuntimeEvent {
  requestId: string;
  deadlineMs: number;
  functionArn: string;
  payload: string;
}

export type RuntimeOutcome =
  | { kind: "response"; body: Buffer }
  | { kind: "error"; errorType: string; errorMessage: string; stackTrace: string[] };

export interface RuntimeApiEvents {
  /** The process asked for its first event: it has started. */
  onReady(): void;
  /** The process reported that it could not start. */
  onInitError(errorType: string, errorMessage: string): void;
  /** The process finished the invocation `requestId`. */
  onOutcome(requestId: string, outcome: RuntimeOutcome): void;
}

export class RuntimeApi {
  readonly server: Server;
  private waiting: ServerResponse | undefined;
  private queued: RuntimeEvent | undefined;
  private current: string | undefined;
  private ready = false;
  private assignment: { waiting?: ServerResponse; env?: Record<string, string> } = {};

  constructor(
    private readonly events: RuntimeApiEvents,
    private bindings: Record<string, BindingHost>,
  ) {
    this.server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) =>
        reply(res, 500, {
          errorType: "Runtime.ApiError",
          errorMessage: error instanceof Error ? error.message : String(error),
        }),
      );
    });
    // a long poll waits as long as the instance is idle
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000;
  }

  listen(target: string | { host: string; port: number }): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      const done = () => {
        this.server.off("error", reject);
        const address = this.server.address();
        resolve(
          typeof address === "string" || address === null
            ? String(address)
            : `${address.address}:${address.port}`,
        );
      };
      if (typeof target === "string") this.server.listen(target, done);
      else this.server.listen(target.port, target.host, done);
    });
  }

  /** A prepared process becomes an instance of a function, with that function's bindings. */
  useBindings(bindings: Record<string, BindingHost>): void {
    this.bindings = bindings;
  }

  /** Tell a prepared process the environment of its function: now, or when it asks. */
  assign(env: Record<string, string>): void {
    const waiting = this.assignment.waiting;
    this.assignment = { env };
    if (waiting !== undefined && !waiting.destroyed) reply(waiting, 200, { env });
  }

  /** Hand `event` to the process: now if it is polling, else on its next poll. */
  deliver(event: RuntimeEvent): void {
    this.current = event.requestId;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting !== undefined && !waiting.destroyed) this.send(waiting, event);
    else this.queued = event;
  }

  /** The invocation in progress, if any (its id attributes log lines and binding calls). */
  get currentRequestId(): string | undefined {
    return this.current;
  }

  close(): void {
    this.waiting?.destroy();
    this.assignment.waiting?.destroy();
    this.server.closeAllConnections();
    this.server.close();
  }

  private send(res: ServerResponse, event: RuntimeEvent) {
    this.queued = undefined;
    res.writeHead(200, {
      "content-type": "application/json",
      // the Python runtime's own small client relies on it
      "content-length": Buffer.byteLength(event.payload),
      "lambda-runtime-aws-request-id": event.requestId,
      "lambda-runtime-deadline-ms": String(event.deadlineMs),
      "lambda-runtime-invoked-function-arn": event.functionArn,
      "lambda-runtime-trace-id": `Root=1-${event.requestId.replace(/-/g, "").slice(0, 8)}-${event.requestId.replace(/-/g, "").slice(8, 32)};Sampled=0`,
    });
    res.end(event.payload);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "GET" && path === NEXT) {
      if (!this.ready) {
        this.ready = true;
        this.events.onReady();
      }
      if (this.queued !== undefined) this.send(res, this.queued);
      else {
        this.waiting?.destroy();
        this.waiting = res;
      }
      return;
    }
    if (req.method === "GET" && path === ASSIGNMENT) {
      const env = this.assignment.env;
      if (env !== undefined) reply(res, 200, { env });
      else {
        this.assignment.waiting?.destroy();
        this.assignment.waiting = res;
      }
      return;
    }
    const invocation = INVOCATION.exec(path);
    if (req.method === "POST" && invocation !== null) {
      const [, requestId, what] = invocation as unknown as [string, string, string];
      const body = await readAll(req, MAX_RESPONSE_BYTES);
      if (requestId !== this.current) {
        reply(res, 400, {
          errorType: "InvalidRequestID",
          errorMessage: `${requestId} is not the invocation in progress`,
        });
        return;
      }
      this.current = undefined;
      if (body === undefined) {
        reply(res, 413, {
          errorType: "RequestEntityTooLarge",
          errorMessage: `a response is at most ${MAX_RESPONSE_BYTES} bytes`,
        });
        this.events.onOutcome(requestId, {
          kind: "error",
          errorType: "Function.ResponseSizeTooLarge",
          errorMessage: `the response is over ${MAX_RESPONSE_BYTES} bytes`,
          stackTrace: [],
        });
        return;
      }
      reply(res, 202, { status: "OK" });
      if (what === "response") this.events.onOutcome(requestId, { kind: "response", body });
      else {
        const reported = parseError(body);
        const header = req.headers["lambda-runtime-function-error-type"];
        this.events.onOutcome(requestId, {
          kind: "error",
          errorType: reported.errorType ?? (typeof header === "string" ? header : "Error"),
          errorMessage: reported.errorMessage ?? "",
          stackTrace: reported.stackTrace ?? [],
        });
      }
      return;
    }
    if (req.method === "POST" && path === `${PREFIX}/init/error`) {
      const reported = parseError((await readAll(req, 64 * 1024)) ?? Buffer.alloc(0));
      reply(res, 202, { status: "OK" });
      this.events.onInitError(
        reported.errorType ?? "Runtime.InitError",
        reported.errorMessage ?? "the runtime reported an init error",
      );
      return;
    }
    const binding = BINDING.exec(path);
    if (req.method === "POST" && binding !== null) {
      await this.binding(req, res, binding[1] as string, binding[2] as string);
      return;
    }
    reply(res, 404, {
      errorType: "NotFound",
      errorMessage: `${req.method ?? "?"} ${path} is not part of the Runtime API`,
    });
  }

  /** A binding call: JSON args in, JSON value out; bytes travel as {"$bytes": base64}. */
  private async binding(req: IncomingMessage, res: ServerResponse, name: string, op: string) {
    if (this.current === undefined) {
      reply(res, 409, {
        error: {
          name: "Error",
          message: `${name}.${op}() was called outside an invocation; bindings work while the handler runs`,
        },
      });
      return;
    }
    const host = this.bindings[name];
    if (host === undefined) {
      reply(res, 404, { error: { name: "TypeError", message: `${name} is not a binding` } });
      return;
    }
    const body = await readAll(req, MAX_RESPONSE_BYTES);
    let args: unknown;
    try {
      args = body === undefined ? undefined : fromWire(JSON.parse(body.toString("utf8")));
    } catch {
      args = undefined;
    }
    if (!Array.isArray(args)) {
      reply(res, 400, {
        error: { name: "TypeError", message: "a binding call's body is a JSON array of arguments" },
      });
      return;
    }
    try {
      reply(res, 200, { value: toWire(await host(op, args, this.current)) });
    } catch (error) {
      if (error instanceof BindingUserError) {
        reply(res, 400, { error: { name: error.name, message: error.message } });
        return;
      }
      reply(res, 500, {
        error: {
          name: "Error",
          message: `${name}.${op}() failed in the platform; retry, and report it if it persists`,
        },
      });
    }
  }
}

function reply(res: ServerResponse, status: number, body: unknown) {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function readAll(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) over = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseError(body: Buffer): {
  errorType?: string;
  errorMessage?: string;
  stackTrace?: string[];
} {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    return {
      ...(typeof parsed["errorType"] === "string" ? { errorType: parsed["errorType"] } : {}),
      ...(typeof parsed["errorMessage"] === "string"
        ? { errorMessage: parsed["errorMessage"] }
        : {}),
      ...(Array.isArray(parsed["stackTrace"])
        ? { stackTrace: parsed["stackTrace"].map((line) => String(line)) }
        : {}),
    };
  } catch {
    return { errorMessage: body.toString("utf8").slice(0, 4096) };
  }
}

/** JSON from the process to a binding: {"$bytes": base64} becomes an ArrayBuffer. */
function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record["$bytes"] === "string" && Object.keys(record).length === 1) {
      const bytes = Buffer.from(record["$bytes"], "base64");
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) out[k] = fromWire(v);
    return out;
  }
  return value;
}

/** A binding's answer as JSON: bytes become {"$bytes": base64}. */
function toWire(value: unknown): unknown {
  if (value instanceof ArrayBuffer) return { $bytes: Buffer.from(value).toString("base64") };
  if (ArrayBuffer.isView(value))
    return {
      $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"),
    };
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toWire(v);
    return out;
  }
  return value;
}
