// Operators' access to a function's own data, through the same host halves the function uses
// (same keys, limits and errors): KV get/put/list/delete and SQL queries.
import type { BindingHost } from "../bindings/binding-error.js";
import { LitefaasError } from "../shared/errors.js";
import { readBytes, readJson, type Route } from "./admin-http.js";
import { notFound, type Registry } from "./registry.js";

export interface DataDeps {
  registry: Registry;
  /** The host half of a function's env.kv / env.sql. */
  data(project: string, name: string, binding: "kv" | "sql"): BindingHost;
}

const FN = "\\/admin\\/v1\\/functions\\/([^/]+)\\/([^/]+)";

export function dataRoutes(deps: DataDeps): Route[] {
  const host = (project: string, name: string, binding: "kv" | "sql") => {
    if (deps.registry.get(project, name) === undefined) throw notFound(project, name);
    return deps.data(project, name, binding);
  };
  return [
    [
      "GET",
      new RegExp(`^${FN}\\/kv$`),
      async ({ params: [project = "", name = ""], query }) => {
        const limit = Number(query.get("limit") ?? "1000");
        const [keys, cursor] = (await call(host(project, name, "kv"), "list", [
          query.get("prefix") ?? "",
          limit,
          query.get("cursor"),
        ])) as [Array<[string, number | null]>, string | null];
        return {
          keys: keys.map(([key, expiresAt]) => (expiresAt === null ? { key } : { key, expiresAt })),
          cursor,
        };
      },
    ],
    [
      "GET",
      new RegExp(`^${FN}\\/kv\\/(.+)$`),
      async ({ res, params: [project = "", name = "", key = ""] }) => {
        const [value, revision] = (await call(host(project, name, "kv"), "getWithRevision", [
          key,
        ])) as [ArrayBuffer | null, number];
        if (value === null) {
          throw new LitefaasError("NOT_FOUND", `${project}/${name} has no key "${key}"`, {
            fix: `list keys with \`litefaas kv ls ${project}/${name}\``,
          });
        }
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "x-litefaas-revision": String(revision),
        });
        res.end(Buffer.from(value));
        return undefined;
      },
    ],
    [
      "PUT",
      new RegExp(`^${FN}\\/kv\\/(.+)$`),
      async ({ req, params: [project = "", name = "", key = ""], query }) => {
        const ttl = query.get("ttl");
        const bytes = await readBytes(req);
        const value = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        const revision = await call(host(project, name, "kv"), "put", [
          key,
          value,
          ttl === null ? null : Number(ttl) * 1000,
          null,
        ]);
        return { key, revision };
      },
    ],
    [
      "DELETE",
      new RegExp(`^${FN}\\/kv\\/(.+)$`),
      async ({ params: [project = "", name = "", key = ""] }) => {
        await call(host(project, name, "kv"), "delete", [key]);
        return { deleted: key };
      },
    ],
    [
      "POST",
      new RegExp(`^${FN}\\/sql$`),
      async ({ req, params: [project = "", name = ""] }) => {
        const body = (await readJson(req)) as { sql?: unknown; params?: unknown };
        const [columns, rows, meta] = (await call(host(project, name, "sql"), "query", [
          body.sql,
          body.params ?? [],
        ])) as [string[], unknown[][], unknown];
        return { columns, rows: rows.map((row) => row.map(jsonSafe)), meta: jsonSafe(meta) };
      },
    ],
  ];
}

/** A binding's refusals (bad key, SQL error) are the operator's to see, as 400s. */
async function call(host: BindingHost, op: string, args: unknown[]): Promise<unknown> {
  try {
    return await host(op, args);
  } catch (error) {
    if (error instanceof Error && error.name !== "Error") {
      throw new LitefaasError("INVALID_REQUEST", `${error.name}: ${error.message}`, {
        fix: "check the key, value or SQL",
      });
    }
    throw error;
  }
}

/** bigint and bytes have no JSON form: integers as strings, bytes as base64. */
function jsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof ArrayBuffer) return { base64: Buffer.from(value).toString("base64") };
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}
