// One function's database on PostgreSQL: its SQL runs on a pool of connections logged in as the
// function's own role. Every statement is preceded by `SET statement_timeout` with what is left
// of the operation's time, sent in the same round trip (pg's pipeline mode), so the server
// itself cancels at the deadline whatever the function's SQL changed in the session before. A
// statement that catches its cancellation (plpgsql EXCEPTION WHEN query_canceled) has its backend
// terminated shortly after the deadline instead.
import pg from "pg";
import {
  SqlError,
  SqlTimeoutError,
  SqlUnavailableError,
  type SqlDatabase,
  type SqlMigration,
  type SqlResult,
  type SqlRunOptions,
  type SqlStatement,
  type SqlValue,
} from "../../ports/sql.js";
import { checkStatement, splitScript, translatePlaceholders } from "./statements.js";
import { asUnavailable } from "./unavailable.js";
import { toPostgres } from "./values.js";

const WRITES = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);
const QUERY_CANCELED = "57014";
const MIGRATIONS_TABLE = "_litefaas_migrations";

/** When the operation must end (performance.now() time), or undefined for no limit. */
type Deadline = { at: number; timeoutMs: number } | undefined;

function deadlineOf(options: SqlRunOptions | undefined): Deadline {
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs === undefined) return undefined;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new TypeError(`timeoutMs must be a positive number of milliseconds, not ${timeoutMs}`);
  return { at: performance.now() + timeoutMs, timeoutMs };
}

function asSqlError(error: unknown, deadline: Deadline): Error {
  if (!(error instanceof pg.DatabaseError))
    return error instanceof Error ? error : new Error(String(error));
  if (error.code === QUERY_CANCELED && deadline !== undefined)
    return new SqlTimeoutError(deadline.timeoutMs);
  return new SqlError(error.message, error.code);
}

/** Runs one statement after setting the remaining time; rejects with the engine's error. */
async function send(
  client: pg.PoolClient,
  text: string,
  values: SqlValue[],
  deadline: Deadline,
): Promise<pg.QueryArrayResult<SqlValue[]>> {
  const remaining = deadline === undefined ? 0 : Math.ceil(deadline.at - performance.now());
  if (deadline !== undefined && remaining <= 0) throw new SqlTimeoutError(deadline.timeoutMs);
  const config: pg.QueryArrayConfig<unknown[]> & { queryMode: "extended" } = {
    text,
    values: values.map(toPostgres),
    rowMode: "array",
    // one statement per message even without parameters (the simple protocol takes several)
    queryMode: "extended",
  };
  const [, result] = await Promise.all([
    client.query(`SET statement_timeout = ${remaining}`),
    client.query<SqlValue[]>(config),
  ]);
  return result;
}

async function run(
  client: pg.PoolClient,
  statement: SqlStatement,
  deadline: Deadline,
): Promise<SqlResult> {
  const started = performance.now();
  checkStatement(statement.sql);
  const result = await send(
    client,
    translatePlaceholders(statement.sql),
    statement.params,
    deadline,
  );
  const written = WRITES.has(result.command) ? (result.rowCount ?? 0) : 0;
  // PostgreSQL has no last_insert_rowid(): an INSERT … RETURNING id says which row it made
  const idColumn =
    result.command === "INSERT" ? result.fields.findIndex((field) => field.name === "id") : -1;
  const lastId = idColumn === -1 ? undefined : result.rows[result.rows.length - 1]?.[idColumn];
  return {
    columns: result.fields.map((field) => field.name),
    rows: result.rows,
    meta: {
      rowsRead: result.rows.length,
      rowsWritten: written,
      changes: written,
      lastRowId: typeof lastId === "number" || typeof lastId === "bigint" ? lastId : null,
      durationMs: performance.now() - started,
    },
  };
}

async function runScript(client: pg.PoolClient, sql: string, deadline: Deadline): Promise<number> {
  const statements = splitScript(sql);
  statements.forEach(checkStatement);
  for (const statement of statements) await send(client, statement, [], deadline);
  return statements.length;
}

/** Statements of one operation on one connection. */
interface Session {
  client: pg.PoolClient;
  deadline: Deadline;
  /** Set when the connection must not go back to the pool (a failed ROLLBACK, a lost link). */
  broken: boolean;
}

async function transaction<T>(session: Session, work: () => Promise<T>): Promise<T> {
  await send(session.client, "BEGIN", [], session.deadline);
  try {
    const result = await work();
    await send(session.client, "COMMIT", [], session.deadline);
    return result;
  } catch (error) {
    await session.client.query("ROLLBACK").catch(() => {
      session.broken = true;
    });
    throw error;
  }
}

/**
 * Ends a backend (pg_terminate_backend, as the admin): the last resort for a statement that
 * outlives its timeout because it catches the cancellation (plpgsql `EXCEPTION WHEN
 * query_canceled` in a loop). Termination cannot be caught.
 */
export type Terminate = (pid: number) => Promise<void>;

/** How long past its deadline a statement may ignore cancellation before its backend is ended. */
const TERMINATE_AFTER_MS = 1_000;

export function ownerDatabase(
  owner: string,
  schema: string,
  pool: pg.Pool,
  terminate: Terminate,
  /** host:port, for the message when the server cannot be reached. */
  server = "the server",
): SqlDatabase {
  async function withSession<T>(
    options: SqlRunOptions | undefined,
    work: (session: Session) => Promise<T>,
  ): Promise<T> {
    const deadline = deadlineOf(options);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw asUnavailable(error, server);
    }
    const session: Session = { client, deadline, broken: false };
    let terminated = false;
    const backstop =
      deadline === undefined
        ? undefined
        : setTimeout(() => {
            terminated = true;
            session.broken = true;
            // pg keeps the backend's pid on the client, untyped
            const pid: unknown = Reflect.get(session.client, "processID");
            if (typeof pid === "number") terminate(pid).catch(() => undefined);
          }, deadline.timeoutMs + TERMINATE_AFTER_MS);
    try {
      return await work(session);
    } catch (error) {
      const engines =
        error instanceof pg.DatabaseError ||
        error instanceof SqlError ||
        error instanceof SqlTimeoutError;
      if (!engines) session.broken = true;
      if (terminated && deadline !== undefined) throw new SqlTimeoutError(deadline.timeoutMs);
      const unavailable = asUnavailable(error, server);
      if (unavailable instanceof SqlUnavailableError) throw unavailable;
      throw asSqlError(error, deadline);
    } finally {
      clearTimeout(backstop);
      session.client.release(session.broken);
    }
  }

  const migrations = `${pg.escapeIdentifier(schema)}.${MIGRATIONS_TABLE}`;

  return {
    owner,
    query: (statement, options) =>
      withSession(options, (session) => run(session.client, statement, session.deadline)),
    batch(statements, options) {
      for (const statement of statements) checkStatement(statement.sql);
      return withSession(options, (session) =>
        transaction(session, async () => {
          const results: SqlResult[] = [];
          for (const statement of statements)
            results.push(await run(session.client, statement, session.deadline));
          return results;
        }),
      );
    },
    exec(sql, options) {
      const started = performance.now();
      return withSession(options, async (session) => ({
        count: await runScript(session.client, sql, session.deadline),
        durationMs: performance.now() - started,
      }));
    },
    async migrate(list: SqlMigration[], options?: SqlRunOptions) {
      const sorted = [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const duplicate = sorted.find((m, i) => sorted[i + 1]?.name === m.name);
      if (duplicate !== undefined)
        throw new SqlError(`migration ${duplicate.name} is listed twice`, undefined);
      return withSession(options, async (session) => {
        const { client, deadline } = session;
        await send(
          client,
          `CREATE TABLE IF NOT EXISTS ${migrations} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
          [],
          deadline,
        );
        const applied: string[] = [];
        for (const migration of sorted) {
          const fresh = await transaction(session, async () => {
            // another platform process may be migrating the same database
            await send(
              client,
              `LOCK TABLE ${migrations} IN SHARE ROW EXCLUSIVE MODE`,
              [],
              deadline,
            );
            const seen = await send(
              client,
              `SELECT 1 FROM ${migrations} WHERE name = $1`,
              [migration.name],
              deadline,
            );
            if (seen.rows.length > 0) return false;
            try {
              await runScript(client, migration.sql, deadline);
            } catch (error) {
              const failed = asSqlError(error, deadline);
              if (!(failed instanceof SqlError)) throw failed;
              throw new SqlError(
                `migration ${migration.name} failed: ${failed.message}`,
                failed.code,
              );
            }
            await send(
              client,
              `INSERT INTO ${migrations} (name) VALUES ($1)`,
              [migration.name],
              deadline,
            );
            return true;
          });
          if (fresh) applied.push(migration.name);
        }
        return { applied };
      });
    },
  };
}
