// The sql port's operations on one better-sqlite3 connection. Runs inside a worker process, so
// it may block: the platform's event loop never waits on it.
import type BetterSqlite3 from "better-sqlite3";
import { Sqlite, type SqliteDatabase } from "../sqlite/driver.js";
import {
  SqlError,
  type SqlMigration,
  type SqlResult,
  type SqlStatement,
  type SqlValue,
} from "../../ports/sql.js";
import type { OperationResults, SqlOperation } from "./protocol.js";
import { checkSql } from "./statements.js";

type Connection = SqliteDatabase;

const BUSY_TIMEOUT_MS = 5_000;
/** Page cache per connection (negative = KiB): a worker keeps many databases open. */
const CACHE_KIB = 2_000;
const MIGRATIONS_TABLE = "_litefaas_migrations";

export function openConnection(file: string): Connection {
  const db = new Sqlite(file, { timeout: BUSY_TIMEOUT_MS });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  // views and triggers must not call functions with side effects on the reader's behalf
  db.pragma("trusted_schema = OFF");
  db.pragma(`cache_size = -${CACHE_KIB}`);
  return db;
}

/** Integers are bound as INTEGER (better-sqlite3 binds every number as REAL), booleans as 1/0. */
function toSqlite(value: SqlValue): unknown {
  if (typeof value === "boolean") return value ? 1n : 0n;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (value instanceof Uint8Array && !Buffer.isBuffer(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value;
}

function fromSqlite(value: unknown): SqlValue {
  if (typeof value === "bigint")
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  // a plain Uint8Array copy: a Buffer would arrive as a Buffer on the other side
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value === null || typeof value === "number" || typeof value === "string") return value;
  throw new TypeError(`SQLite returned a value of type ${typeof value}`);
}

const changesQueries = new WeakMap<Connection, BetterSqlite3.Statement>();

function changesOf(db: Connection): { changes: number; lastRowId: SqlValue } {
  let statement = changesQueries.get(db);
  if (statement === undefined) {
    statement = db.prepare("SELECT changes(), last_insert_rowid()").raw(true).safeIntegers(true);
    changesQueries.set(db, statement);
  }
  const [changes, lastRowId] = (statement.get() as unknown[]).map(fromSqlite);
  return { changes: Number(changes), lastRowId: lastRowId ?? null };
}

function asRowId(value: SqlValue): number | bigint | null {
  return typeof value === "number" || typeof value === "bigint" ? value : null;
}

function runStatement(db: Connection, { sql, params }: SqlStatement): SqlResult {
  const started = performance.now();
  // last_insert_rowid() is the connection's, not the statement's: only an INSERT reports it
  const inserts = ["INSERT", "REPLACE"].includes(checkSql(sql).verb ?? "");
  const statement = db.prepare(sql).safeIntegers(true);
  const values = params.map(toSqlite);
  if (statement.reader) {
    const rows = (statement.raw(true).all(...values) as unknown[][]).map((row) =>
      row.map(fromSqlite),
    );
    // INSERT … RETURNING reads and writes; a SELECT must not report an earlier write's changes
    const written = statement.readonly ? { changes: 0, lastRowId: null } : changesOf(db);
    return {
      columns: statement.columns().map((column) => column.name),
      rows,
      meta: {
        rowsRead: rows.length,
        rowsWritten: written.changes,
        changes: written.changes,
        lastRowId: inserts && written.changes > 0 ? asRowId(written.lastRowId) : null,
        durationMs: performance.now() - started,
      },
    };
  }
  const info = statement.run(...values);
  return {
    columns: [],
    rows: [],
    meta: {
      rowsRead: 0,
      rowsWritten: info.changes,
      changes: info.changes,
      lastRowId: inserts && info.changes > 0 ? asRowId(fromSqlite(info.lastInsertRowid)) : null,
      durationMs: performance.now() - started,
    },
  };
}

/** Statements outside batch() must not leave a transaction open on the shared connection. */
function assertNoTransaction(db: Connection): void {
  if (!db.inTransaction) return;
  db.exec("ROLLBACK");
  throw new SqlError("the statement left a transaction open; use batch() instead", "SQLITE_AUTH");
}

function execScript(db: Connection, sql: string): number {
  const { count } = checkSql(sql);
  if (count > 0) db.exec(sql);
  return count;
}

function migrate(db: Connection, migrations: SqlMigration[]): { applied: string[] } {
  const names = migrations.map((m) => m.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined)
    throw new SqlError(`migration ${duplicate} is listed twice`, undefined);
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`,
  );
  const done = new Set(
    db.prepare(`SELECT name FROM ${MIGRATIONS_TABLE}`).pluck().all() as string[],
  );
  const record = db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)`);
  const applied: string[] = [];
  const pending = [...migrations]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .filter((m) => !done.has(m.name));
  for (const migration of pending) {
    try {
      db.transaction(() => {
        execScript(db, migration.sql);
        record.run(migration.name, new Date().toISOString());
      })();
    } catch (error) {
      const { message, code } = describeError(error);
      throw new SqlError(`migration ${migration.name} failed: ${message}`, code);
    }
    applied.push(migration.name);
  }
  return { applied };
}

export function runOperation(
  db: Connection,
  operation: SqlOperation,
): OperationResults[keyof OperationResults] {
  switch (operation.type) {
    case "open":
      return null;
    case "query": {
      try {
        return runStatement(db, operation.statement);
      } finally {
        assertNoTransaction(db);
      }
    }
    case "batch":
      return db.transaction(() => operation.statements.map((s) => runStatement(db, s)))();
    case "exec": {
      const started = performance.now();
      try {
        return { count: execScript(db, operation.sql), durationMs: performance.now() - started };
      } finally {
        assertNoTransaction(db);
      }
    }
    case "migrate":
      return migrate(db, operation.migrations);
  }
}

/** The engine's errors (and better-sqlite3's binding errors) are the function's to see. */
export function describeError(error: unknown): {
  message: string;
  code: string | undefined;
  sql: boolean;
} {
  if (error instanceof SqlError) return { message: error.message, code: error.code, sql: true };
  if (error instanceof Sqlite.SqliteError)
    return { message: error.message, code: error.code, sql: true };
  if (error instanceof RangeError || error instanceof TypeError)
    return { message: error.message, code: undefined, sql: true };
  return {
    message: error instanceof Error ? error.message : String(error),
    code: undefined,
    sql: false,
  };
}
