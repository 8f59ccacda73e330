// litefaas for node-process functions: the function's own KV store, SQL database and events,
// with the isolate's semantics, over the instance's local API.
import { Agent, request } from "node:http";

// inside the sandbox the instance's own socket, else the loopback address
const socketPath = process.env["RUNTIME_API_SOCKET"];
const [host, port] = (process.env["AWS_LAMBDA_RUNTIME_API"] ?? "").split(":");
const target = socketPath !== undefined && socketPath !== "" ? { socketPath } : { host, port };
const agent = new Agent({ keepAlive: true, maxSockets: 4 });
let requestId = "";

export function bindInvocation(id: string): void {
  requestId = id;
}

export class BindingError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return {
      $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"),
    };
  if (value instanceof ArrayBuffer) return { $bytes: Buffer.from(value).toString("base64") };
  if (Array.isArray(value)) return value.map(toWire);
  return value;
}

function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record["$bytes"] === "string" && Object.keys(record).length === 1)
      return new Uint8Array(Buffer.from(record["$bytes"], "base64"));
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}

function call(binding: string, op: string, args: unknown[]): Promise<unknown> {
  const body = JSON.stringify(toWire(args));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...target,
        agent,
        method: "POST",
        path: `/litefaas/v1/bindings/${binding}/${op}`,
        headers: { "content-type": "application/json", "lambda-runtime-aws-request-id": requestId },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const answer = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as {
            value?: unknown;
            error?: { name: string; message: string };
          };
          if (answer.error !== undefined)
            reject(new BindingError(answer.error.name, answer.error.message));
          else resolve(fromWire(answer.value));
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

export const kv = Object.freeze({
  async get(key: string, type: "text" | "json" | "bytes" = "text"): Promise<unknown> {
    const bytes = (await call("kv", "get", [key])) as Uint8Array | null;
    if (bytes === null || type === "bytes") return bytes;
    return type === "json" ? (JSON.parse(text(bytes)) as Json) : text(bytes);
  },
  async put(
    key: string,
    value: string | Uint8Array | Json,
    options: { expirationTtl?: number; ifRevision?: number } = {},
  ): Promise<number> {
    const data =
      typeof value === "string" || value instanceof Uint8Array ? value : JSON.stringify(value);
    const ttlMs = options.expirationTtl === undefined ? null : options.expirationTtl * 1000;
    return (await call("kv", "put", [key, data, ttlMs, options.ifRevision ?? null])) as number;
  },
  async delete(key: string): Promise<void> {
    await call("kv", "delete", [key]);
  },
  async list(options: { prefix?: string; limit?: number; cursor?: string } = {}) {
    const [keys, cursor] = (await call("kv", "list", [
      options.prefix ?? "",
      options.limit ?? 1000,
      options.cursor ?? null,
    ])) as [Array<[string, number | null]>, string | null];
    const page = {
      keys: keys.map(([name, expires]) =>
        expires === null ? { name } : { name, expiration: Math.floor(expires / 1000) },
      ),
      list_complete: cursor === null,
    };
    return cursor === null ? page : { ...page, cursor };
  },
  async increment(key: string, by = 1): Promise<number> {
    return (await call("kv", "increment", [key, by])) as number;
  },
});

type HostResult = [string[], unknown[][], Record<string, unknown>];

const rowsOf = ([columns, rows]: HostResult) =>
  rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i]])));

export const sql = Object.freeze({
  async query(statement: string, ...params: unknown[]) {
    return rowsOf((await call("sql", "query", [statement, params])) as HostResult);
  },
  async execute(statement: string, ...params: unknown[]) {
    return ((await call("sql", "query", [statement, params])) as HostResult)[2];
  },
  async batch(statements: Array<[string, unknown[]?]>) {
    const results = (await call("sql", "batch", [
      statements.map(([s, p]) => [s, p ?? []]),
    ])) as HostResult[];
    return results.map(rowsOf);
  },
  async exec(script: string): Promise<number> {
    return ((await call("sql", "exec", [script])) as [number, number])[0];
  },
});

export const events = Object.freeze({
  async publish(
    subject: string,
    data?: unknown,
    options: { headers?: Record<string, string> } = {},
  ): Promise<void> {
    const [payload, contentType] =
      typeof data === "string"
        ? [data, "text/plain; charset=utf-8"]
        : data instanceof Uint8Array
          ? [data, "application/octet-stream"]
          : [JSON.stringify(data ?? null), "application/json"];
    await call("events", "publish", [
      subject,
      payload,
      { "content-type": contentType, ...(options.headers ?? {}) },
    ]);
  },
});
