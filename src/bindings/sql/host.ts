// env.sql's host half: the function's own database and nothing else; the database is chosen by
// the platform from the function's identity. Engine errors reach the function as SqlError with
// the engine's message; a statement running past the function's timeout is cancelled; a server
// that cannot be reached is SqlUnavailableError (retry later), never a platform fault.
import {
  SqlError,
  SqlTimeoutError,
  SqlUnavailableError,
  type SqlDatabase,
  type SqlResult,
  type SqlStatement,
  type SqlValue,
} from "../../ports/sql.js";
import { BindingUserError, invalid, type BindingHost } from "../binding-error.js";

const MAX_BATCH = 1000;

export function createSqlHost(open: () => Promise<SqlDatabase>, timeoutMs: number): BindingHost {
  let db: Promise<SqlDatabase> | undefined;
  const database = () =>
    (db ??= open().catch((error: unknown) => {
      db = undefined; // a database that could not open (e.g. PostgreSQL down) is retried next call
      throw error;
    }));
  const options = { timeoutMs };

  const ops: Record<string, (args: unknown[]) => Promise<unknown>> = {
    async query([sql, params]) {
      return toGuest(await (await database()).query(statement(sql, params), options));
    },
    async batch([list]) {
      if (!Array.isArray(list) || list.length > MAX_BATCH)
        throw invalid(`batch takes a list of at most ${MAX_BATCH} prepared statements`);
      const statements = list.map((item) => {
        const [sql, params] = Array.isArray(item) ? (item as unknown[]) : [];
        return statement(sql, params);
      });
      return (await (await database()).batch(statements, options)).map(toGuest);
    },
    async exec([sql]) {
      if (typeof sql !== "string") throw invalid("exec takes SQL text");
      const result = await (await database()).exec(sql, options);
      return [result.count, result.durationMs];
    },
  };

  return async (op, args) => {
    const run = ops[op];
    if (run === undefined) throw invalid(`env.sql has no operation "${op}"`);
    try {
      return await run(args);
    } catch (error) {
      if (error instanceof SqlError) throw new BindingUserError("SqlError", error.message);
      if (error instanceof SqlUnavailableError) {
        throw new BindingUserError(
          "SqlUnavailableError",
          `the function's SQL database cannot be reached now (${error.message}); the platform reconnects by itself: retry later`,
        );
      }
      if (error instanceof SqlTimeoutError) {
        throw new BindingUserError(
          "SqlTimeoutError",
          `${error.message}: the function's timeout; make the query cheaper or raise limits.timeout`,
        );
      }
      throw error;
    }
  };
}

function statement(sql: unknown, params: unknown): SqlStatement {
  if (typeof sql !== "string" || sql.trim().length === 0) throw invalid("prepare() takes SQL text");
  if (!Array.isArray(params)) throw invalid("bind() takes values");
  return { sql, params: params.map((value: unknown, i) => toValue(value, i)) };
}

function toValue(value: unknown, index: number): SqlValue {
  if (
    value === null ||
    typeof value === "number" ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    typeof value === "bigint"
  ) {
    return value;
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value instanceof Uint8Array) return value;
  throw invalid(
    `parameter ${index + 1} cannot be bound: use null, a number, bigint, string, boolean or bytes`,
  );
}

/** [columns, rows, meta], with bytes as ArrayBuffers (what crosses into the isolate cleanly). */
function toGuest(result: SqlResult): unknown {
  const rows = result.rows.map((row) =>
    row.map((v) =>
      v instanceof Uint8Array
        ? (v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer)
        : v,
    ),
  );
  return [result.columns, rows, result.meta];
}
