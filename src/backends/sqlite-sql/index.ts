// sql port on SQLite: one file per function (`<dir>/<owner>.sqlite`, WAL, foreign keys on),
// run in a few worker processes (see pool.ts) so the platform's event loop never waits on a
// function's query and a query can be cancelled at its timeout. What a function may run is
// checked in statements.ts: nothing that reaches outside its own file.
import { availableParallelism } from "node:os";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  SQL_OWNER,
  type SqlDatabase,
  type SqlMigration,
  type SqlPort,
  type SqlResult,
  type SqlRunOptions,
  type SqlStatement,
} from "../../ports/sql.js";
import { WorkerPool } from "./pool.js";
import type { OperationResults, SqlOperation } from "./protocol.js";

export interface SqliteSqlOptions {
  /** Where the database files live (created when absent). */
  dir: string;
  /** Databases kept open at once across all workers; idle ones beyond that are closed. */
  maxDatabases?: number;
  /** Worker processes: queries of this many functions can run at the same time. */
  workers?: number;
  /** SQLite's memory ceiling per worker process, in bytes. */
  workerHeapLimitBytes?: number;
}

const DEFAULT_MAX_DATABASES = 128;
const DEFAULT_HEAP_LIMIT = 512 * 1024 * 1024;

function checkOwner(owner: string): void {
  if (!SQL_OWNER.test(owner))
    throw new TypeError(`invalid database owner ${JSON.stringify(owner)}: use [a-z0-9_]{1,63}`);
}

function checkTimeout(options: SqlRunOptions | undefined): number | undefined {
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new TypeError(`timeoutMs must be a positive number of milliseconds, not ${timeoutMs}`);
  return timeoutMs;
}

export function openSqliteSql(options: SqliteSqlOptions): SqlPort {
  const workers = Math.max(1, options.workers ?? Math.min(4, availableParallelism()));
  const maxDatabases = Math.max(1, options.maxDatabases ?? DEFAULT_MAX_DATABASES);
  const pool = new WorkerPool(workers, {
    maxOpen: Math.ceil(maxDatabases / workers),
    heapLimitBytes: options.workerHeapLimitBytes ?? DEFAULT_HEAP_LIMIT,
  });
  const fileOf = (owner: string): string => join(options.dir, `${owner}.sqlite`);
  let madeDir: Promise<unknown> | undefined;

  async function run<K extends SqlOperation["type"]>(
    owner: string,
    operation: Extract<SqlOperation, { type: K }>,
    timeoutMs?: number,
  ): Promise<OperationResults[K]> {
    return (await pool.run(owner, fileOf(owner), operation, timeoutMs)) as OperationResults[K];
  }

  function database(owner: string): SqlDatabase {
    return {
      owner,
      query: async (statement: SqlStatement, runOptions?: SqlRunOptions): Promise<SqlResult> =>
        run(owner, { type: "query", statement }, checkTimeout(runOptions)),
      batch: async (statements: SqlStatement[], runOptions?: SqlRunOptions) =>
        run(owner, { type: "batch", statements }, checkTimeout(runOptions)),
      exec: async (sql: string, runOptions?: SqlRunOptions) =>
        run(owner, { type: "exec", sql }, checkTimeout(runOptions)),
      // migrations ship with the function and may be slow; a timeout is the caller's choice
      migrate: async (migrations: SqlMigration[], runOptions?: SqlRunOptions) =>
        run(owner, { type: "migrate", migrations }, checkTimeout(runOptions)),
    };
  }

  return {
    async database(owner) {
      checkOwner(owner);
      madeDir ??= mkdir(options.dir, { recursive: true });
      await madeDir;
      await run(owner, { type: "open" });
      return database(owner);
    },
    async dropDatabase(owner) {
      checkOwner(owner);
      await pool.exclusive(owner, async () => {
        // every connection must be closed first: a stale one would write into deleted files
        // (or, checkpointing on close, into the next database's WAL)
        await pool.closeEverywhere(owner);
        const file = fileOf(owner);
        await Promise.all(
          ["", "-wal", "-shm", "-journal"].map((suffix) => rm(file + suffix, { force: true })),
        );
      });
    },
    close: () => pool.close(),
  };
}
