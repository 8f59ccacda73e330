// litefaas kv get|put|ls|rm <project>/<function> …, and litefaas sql <project>/<function> "…":
// an operator's view of a function's own data.
import { readFile } from "node:fs/promises";
import { LitefaasError } from "../../shared/errors.js";
import type { AdminClient } from "../client.js";
import type { Flags } from "../main.js";
import { parseTarget, table, type Output } from "../output.js";

const USAGE =
  "litefaas kv get|put|ls|rm <project>/<function> [key] [value|@file] [--ttl seconds] [--prefix p]";

export async function kvCommand(
  client: AdminClient,
  args: string[],
  flags: Flags,
  out: Output,
): Promise<number> {
  const [verb, target, key, value] = args;
  const { project, name } = parseTarget(target);
  const base = `/admin/v1/functions/${project}/${name}/kv`;
  const needKey = () => {
    if (key === undefined || key === "")
      throw new LitefaasError("INVALID_REQUEST", `kv ${verb ?? ""} needs a key`, { fix: USAGE });
    return encodeURIComponent(key);
  };
  switch (verb) {
    case "ls": {
      const query = new URLSearchParams({ prefix: flags.prefix ?? "" });
      if (flags.limit !== undefined) query.set("limit", flags.limit);
      const answer = await client.call<{
        keys: Array<{ key: string; expiresAt?: number }>;
        cursor: string | null;
      }>("GET", `${base}?${query.toString()}`);
      out.result(answer, () =>
        answer.keys.length === 0
          ? "no keys"
          : answer.keys
              .map((k) =>
                k.expiresAt === undefined
                  ? k.key
                  : `${k.key}  (expires ${new Date(k.expiresAt).toISOString()})`,
              )
              .join("\n") + (answer.cursor === null ? "" : "\n… more: pass --limit to see more"),
      );
      return 0;
    }
    case "get": {
      const response = await client.raw("GET", `${base}/${needKey()}`);
      const bytes = Buffer.from(await response.arrayBuffer());
      const revision = Number(response.headers.get("x-litefaas-revision"));
      if (out.json) out.result({ key, value: bytes.toString("utf8"), revision }, () => "");
      else process.stdout.write(bytes);
      return 0;
    }
    case "put": {
      if (value === undefined)
        throw new LitefaasError("INVALID_REQUEST", "kv put needs a value", { fix: USAGE });
      const body = value.startsWith("@") ? await readFile(value.slice(1)) : Buffer.from(value);
      const ttl = flags.ttl === undefined ? "" : `?ttl=${encodeURIComponent(flags.ttl)}`;
      const answer = await client.call<{ key: string; revision: number }>(
        "PUT",
        `${base}/${needKey()}${ttl}`,
        body,
      );
      out.result(answer, () => `stored ${answer.key} (revision ${answer.revision})`);
      return 0;
    }
    case "rm": {
      const answer = await client.call<{ deleted: string }>("DELETE", `${base}/${needKey()}`);
      out.result(answer, () => `deleted ${answer.deleted}`);
      return 0;
    }
    default:
      throw new LitefaasError("INVALID_REQUEST", `unknown kv command "${verb ?? ""}"`, {
        fix: USAGE,
      });
  }
}

export async function sqlCommand(
  client: AdminClient,
  args: string[],
  out: Output,
): Promise<number> {
  const [target, sql, ...params] = args;
  const { project, name } = parseTarget(target);
  if (sql === undefined) {
    throw new LitefaasError("INVALID_REQUEST", "sql needs a statement", {
      fix: `litefaas sql ${project}/${name} "SELECT * FROM todos WHERE id = ?" 7`,
    });
  }
  const answer = await client.call<{
    columns: string[];
    rows: unknown[][];
    meta: { rowsWritten: number; durationMs: number };
  }>("POST", `/admin/v1/functions/${project}/${name}/sql`, {
    sql,
    params: params.map((p) => (/^-?\d+(\.\d+)?$/.test(p) ? Number(p) : p)),
  });
  out.result(answer, () =>
    answer.columns.length === 0
      ? `ok: ${answer.meta.rowsWritten} row(s) written in ${answer.meta.durationMs.toFixed(1)} ms`
      : table([
          answer.columns,
          ...answer.rows.map((row) =>
            row.map((v) => (typeof v === "string" ? v : JSON.stringify(v))),
          ),
        ]),
  );
  return 0;
}
