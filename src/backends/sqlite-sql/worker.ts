// A SQLite worker process: runs one operation at a time on the databases it has open. It is a
// process, not a worker thread, because a query in progress can only be stopped by killing what
// runs it: better-sqlite3 cannot interrupt a statement (no sqlite3_interrupt, and the progress
// callback is compiled out), and Worker.terminate() waits for the native call to return.
import type { SqliteDatabase } from "../sqlite/driver.js";
import { describeError, openConnection, runOperation } from "./engine.js";
import type { WorkerReply, WorkerRequest, WorkerSettings } from "./protocol.js";

const settings = JSON.parse(process.argv[2] ?? "{}") as Partial<WorkerSettings>;
const maxOpen = Math.max(1, settings.maxOpen ?? 32);

/** Open connections by owner, least recently used first (a Map keeps insertion order). */
const open = new Map<string, SqliteDatabase>();

function connection(owner: string, file: string, closed: string[]): SqliteDatabase {
  const existing = open.get(owner);
  if (existing !== undefined) {
    open.delete(owner);
    open.set(owner, existing);
    return existing;
  }
  for (const [lru, db] of open) {
    if (open.size < maxOpen) break;
    close(lru, db, closed);
  }
  const db = openConnection(file);
  if (open.size === 0 && settings.heapLimitBytes !== undefined)
    // process-wide: one function's query cannot take the worker's memory without bound
    db.pragma(`hard_heap_limit = ${Math.floor(settings.heapLimitBytes)}`);
  open.set(owner, db);
  return db;
}

function close(owner: string, db: SqliteDatabase, closed: string[]): void {
  open.delete(owner);
  closed.push(owner);
  try {
    db.close();
  } catch {
    // closing never fails for want of a statement in progress (one operation at a time)
  }
}

function handle(request: WorkerRequest): WorkerReply {
  const closed: string[] = [];
  if (request.type === "close") {
    const db = open.get(request.owner);
    if (db !== undefined) close(request.owner, db, closed);
    return { id: request.id, closed, ok: true, value: null };
  }
  try {
    const db = connection(request.owner, request.file, closed);
    return { id: request.id, closed, ok: true, value: runOperation(db, request.operation) };
  } catch (error) {
    return { id: request.id, closed, ok: false, error: describeError(error) };
  }
}

process.on("message", (message: unknown) => {
  process.send?.(handle(message as WorkerRequest));
});

// the port closed (or the platform died): close the databases so WAL files are checkpointed
process.on("disconnect", () => {
  for (const [owner, db] of open) close(owner, db, []);
  process.exit(0);
});
