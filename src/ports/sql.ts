// The sql port: one database per function. Backends: SQLite (a file per function, embedded) and
// PostgreSQL (a schema and a role per function, distributed). The function-facing API (D1's
// prepare/bind/all/first/run/batch/exec) is built on this by the sql binding.

/** Values that cross the port. Integers beyond 2^53 come back as bigint. */
export type SqlValue = null | number | bigint | string | Uint8Array | boolean;

export interface SqlStatement {
  /** SQL with `?` placeholders (both backends). */
  sql: string;
  params: SqlValue[];
}

export interface SqlMeta {
  /** Rows returned or scanned, as the engine reports them (SQLite: returned). */
  rowsRead: number;
  /** Rows inserted, updated or deleted. */
  rowsWritten: number;
  /** The last inserted row id (SQLite rowid; PostgreSQL: an `id` column in RETURNING, or null). */
  lastRowId: number | bigint | null;
  changes: number;
  durationMs: number;
}

export interface SqlResult {
  columns: string[];
  rows: SqlValue[][];
  meta: SqlMeta;
}

export interface SqlRunOptions {
  /** Cancel the statement (or batch) after this long; it then rejects with SqlTimeoutError. */
  timeoutMs?: number;
}

export interface SqlMigration {
  /** e.g. 0001_create_todos.sql: applied once, in name order. */
  name: string;
  sql: string;
}

export interface SqlDatabase {
  readonly owner: string;
  query(statement: SqlStatement, options?: SqlRunOptions): Promise<SqlResult>;
  /** Every statement in one transaction: all apply or none. */
  batch(statements: SqlStatement[], options?: SqlRunOptions): Promise<SqlResult[]>;
  /** Several statements separated by `;`, no parameters (schema scripts). */
  exec(sql: string, options?: SqlRunOptions): Promise<{ count: number; durationMs: number }>;
  /** Apply the migrations not applied yet, in order, each in its own transaction. */
  migrate(migrations: SqlMigration[]): Promise<{ applied: string[] }>;
}

export interface SqlPort {
  /** A function's database, created when absent. `owner` is [a-z0-9_]{1,63}. */
  database(owner: string): Promise<SqlDatabase>;
  /** Delete a function's database and everything in it. */
  dropDatabase(owner: string): Promise<void>;
  close(): Promise<void>;
}

/** An error from the engine (syntax, constraint, permission): safe to show the function. */
export class SqlError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "SqlError";
  }
}

/** The database cannot be reached now (the server is down or unreachable): retry later. */
export class SqlUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SqlUnavailableError";
  }
}

export class SqlTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the query was cancelled after ${timeoutMs} ms`);
    this.name = "SqlTimeoutError";
  }
}

export const SQL_OWNER = /^[a-z0-9_]{1,63}$/;
