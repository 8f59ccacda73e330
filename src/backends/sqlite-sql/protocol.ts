// Messages between the port (main thread) and its SQLite worker processes.
import type { SqlMigration, SqlResult, SqlStatement } from "../../ports/sql.js";

export type SqlOperation =
  | { type: "open" }
  | { type: "query"; statement: SqlStatement }
  | { type: "batch"; statements: SqlStatement[] }
  | { type: "exec"; sql: string }
  | { type: "migrate"; migrations: SqlMigration[] };

/** What each operation resolves to. */
export interface OperationResults {
  open: null;
  query: SqlResult;
  batch: SqlResult[];
  exec: { count: number; durationMs: number };
  migrate: { applied: string[] };
}

export type WorkerRequest =
  | { id: number; type: "job"; owner: string; file: string; operation: SqlOperation }
  /** Close the owner's database if this worker has it open (before its files are deleted). */
  | { id: number; type: "close"; owner: string };

export interface ReplyError {
  message: string;
  code: string | undefined;
  /** True for the engine's or the guard's errors (safe to show the function), false for bugs. */
  sql: boolean;
}

export type WorkerReply = { id: number; closed: string[] } & (
  { ok: true; value: unknown } | { ok: false; error: ReplyError }
);

/** Command-line arguments of a worker process. */
export interface WorkerSettings {
  /** Databases a worker keeps open at once; the least recently used is closed beyond that. */
  maxOpen: number;
  /** SQLite's hard heap limit for the whole worker process, in bytes. */
  heapLimitBytes: number;
}
