// The SQLite side of the records port, run in the store's worker thread (worker.ts): one row per
// appended batch and function, its records as lines of JSON beside the columns queries need.
// A record is found by id with instr() over the rows' id lists, a scan in C of a few bytes per
// record, so no index is kept per record (that cost ~10 µs per invocation on random ids).
import { Sqlite } from "../sqlite/driver.js";
import {
  decodeRecords,
  matches,
  newestFirst,
  type EncodedGroup,
  type InvocationRecordEntry,
  type RecordQuery,
  type RecordRetention,
} from "../../ports/records.js";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

interface BatchRow {
  rowid: number;
  count: number;
  last_start: number;
  worker: string;
  body: string;
}

interface Context {
  project: string;
  function: string;
  worker: string;
}

/** A batch's ids as one text: each JSON-quoted (no newline inside) between newlines. */
const idList = (ids: string[]): string => `\n${ids.map((id) => JSON.stringify(id)).join("\n")}\n`;

export type RecordsStore = ReturnType<typeof openRecordsStore>;

export function openRecordsStore(file: string) {
  const db = new Sqlite(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`
    CREATE TABLE IF NOT EXISTS record_batches (
      project TEXT NOT NULL, function TEXT NOT NULL, worker TEXT NOT NULL,
      first_start INTEGER NOT NULL, last_start INTEGER NOT NULL, count INTEGER NOT NULL,
      ids TEXT NOT NULL, body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS record_batches_by_function
      ON record_batches (project, function, last_start);
  `);
  const q = {
    insert: db.prepare(
      "INSERT INTO record_batches (project, function, worker, first_start, last_start, count, ids, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    byId: db.prepare<[string], Context & { body: string }>(
      "SELECT project, function, worker, body FROM record_batches WHERE instr(ids, ?) > 0 ORDER BY rowid DESC LIMIT 1",
    ),
    // newest batches first: a batch holds no record newer than its last_start
    list: db.prepare<[string, string, number, number], BatchRow>(
      "SELECT rowid, count, last_start, worker, body FROM record_batches WHERE project = ? AND function = ? " +
        "AND last_start >= ? AND first_start < ? ORDER BY last_start DESC, rowid DESC",
    ),
    counts: db.prepare<[string, string], Omit<BatchRow, "body" | "worker">>(
      "SELECT rowid, count, last_start FROM record_batches WHERE project = ? AND function = ? " +
        "ORDER BY last_start DESC, rowid DESC",
    ),
    dropOld: db.prepare(
      "DELETE FROM record_batches WHERE project = ? AND function = ? AND last_start < ?",
    ),
    drop: db.prepare("DELETE FROM record_batches WHERE rowid = ?"),
    remove: db.prepare("DELETE FROM record_batches WHERE project = ? AND function = ?"),
  };
  const append = db.transaction((groups: EncodedGroup[]) => {
    for (const g of groups)
      q.insert.run(g.project, g.fn, g.worker, g.first, g.last, g.ids.length, idList(g.ids), g.body);
  });
  const trim = db.transaction((project: string, fn: string, retention: RecordRetention) => {
    q.dropOld.run(project, fn, Date.now() - retention.maxAgeMs);
    let newer = 0;
    for (const row of q.counts.all(project, fn)) {
      if (newer >= retention.keep) q.drop.run(row.rowid);
      newer += row.count;
    }
  });

  return {
    append,
    get(id: string): InvocationRecordEntry | undefined {
      const row = q.byId.get(idList([id]));
      return row === undefined
        ? undefined
        : decodeRecords(row.body, { project: row.project, fn: row.function, worker: row.worker })
            .filter((r) => r.id === id)
            .at(-1);
    },
    list(project: string, fn: string, query: RecordQuery): InvocationRecordEntry[] {
      const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
      const found: InvocationRecordEntry[] = [];
      const rows = q.list.iterate(
        project,
        fn,
        query.since ?? 0,
        query.before ?? Number.MAX_SAFE_INTEGER,
      );
      for (const row of rows) {
        // every later batch is older than this one's newest record: enough when `limit` found
        // are all newer than that
        if (found.length >= limit) {
          found.sort(newestFirst);
          if ((found[limit - 1]?.start ?? Infinity) > row.last_start) break;
        }
        for (const r of decodeRecords(row.body, { project, fn, worker: row.worker }))
          if (matches(r, query)) found.push(r);
      }
      return found.sort(newestFirst).slice(0, limit);
    },
    trim,
    remove(project: string, fn: string): void {
      q.remove.run(project, fn);
    },
    close(): void {
      db.close();
    },
  };
}
