// kv port on SQLite: one database file for every bucket. Writes are synchronous and durable
// (WAL); watchers are in-process, which is all the embedded, single-process mode needs.
import { Sqlite } from "../sqlite/driver.js";
import {
  BUCKET_NAME,
  KvConflictError,
  type KvBucket,
  type KvChange,
  type KvEntry,
  type KvListOptions,
  type KvListPage,
  type KvPort,
  type KvPutOptions,
} from "../../ports/kv.js";

interface Row {
  key: string;
  value: Buffer;
  revision: number;
  expires_at: number | null;
}

const SWEEP_INTERVAL_MS = 30_000;
const MAX_PAGE = 1000;

export function openSqliteKv(file: string): KvPort {
  const db = new Sqlite(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`
    CREATE TABLE IF NOT EXISTS kv_buckets (name TEXT PRIMARY KEY, revision INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS kv_entries (
      bucket TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
      revision INTEGER NOT NULL, expires_at INTEGER,
      PRIMARY KEY (bucket, key)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS kv_entries_expiry ON kv_entries (expires_at) WHERE expires_at IS NOT NULL;
  `);
  const q = {
    ensureBucket: db.prepare("INSERT OR IGNORE INTO kv_buckets (name) VALUES (?)"),
    bump: db.prepare(
      "UPDATE kv_buckets SET revision = revision + 1 WHERE name = ? RETURNING revision",
    ),
    get: db.prepare<[string, string], Row>(
      "SELECT key, value, revision, expires_at FROM kv_entries WHERE bucket = ? AND key = ?",
    ),
    upsert: db.prepare(
      "INSERT INTO kv_entries (bucket, key, value, revision, expires_at) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value, revision = excluded.revision, expires_at = excluded.expires_at",
    ),
    remove: db.prepare("DELETE FROM kv_entries WHERE bucket = ? AND key = ?"),
    list: db.prepare<[string, string, string, string, number, number], Omit<Row, "value">>(
      "SELECT key, revision, expires_at FROM kv_entries WHERE bucket = ? AND key > ? AND substr(key, 1, length(?)) = ? " +
        "AND (expires_at IS NULL OR expires_at > ?) ORDER BY key LIMIT ?",
    ),
    dropEntries: db.prepare("DELETE FROM kv_entries WHERE bucket = ?"),
    dropBucket: db.prepare("DELETE FROM kv_buckets WHERE name = ?"),
    sweep: db.prepare("DELETE FROM kv_entries WHERE expires_at IS NOT NULL AND expires_at <= ?"),
  };
  interface Watcher {
    prefix: string;
    onChange: (c: KvChange) => void;
    stopped: boolean;
  }
  const watchers = new Map<string, Set<Watcher>>();
  // One queue for all deliveries: a watcher that writes from its callback must not make the
  // other watchers see its change before the one they are still being told about.
  const deliveries: Array<{ watcher: Watcher; change: KvChange }> = [];
  let delivering = false;

  const notify = (bucket: string, change: KvChange) => {
    const set = watchers.get(bucket);
    if (set === undefined) return;
    const key = change.op === "put" ? change.entry.key : change.key;
    for (const watcher of set)
      if (key.startsWith(watcher.prefix)) deliveries.push({ watcher, change });
    if (delivering) return;
    delivering = true;
    try {
      for (let next = deliveries.shift(); next !== undefined; next = deliveries.shift()) {
        if (!next.watcher.stopped) next.watcher.onChange(next.change);
      }
    } finally {
      delivering = false;
    }
  };

  const nextRevision = (bucket: string): number =>
    (q.bump.get(bucket) as { revision: number }).revision;

  const live = (row: Row | undefined, now: number): Row | undefined =>
    row !== undefined && (row.expires_at === null || row.expires_at > now) ? row : undefined;

  const put = db.transaction(
    (bucket: string, key: string, value: Uint8Array, options: KvPutOptions): KvEntry => {
      const now = Date.now();
      const current = live(q.get.get(bucket, key), now);
      if (options.ifRevision !== undefined) {
        const actual = current?.revision ?? 0;
        if (actual !== options.ifRevision)
          throw new KvConflictError(key, options.ifRevision, actual);
      }
      const revision = nextRevision(bucket);
      const expiresAt = options.ttlMs === undefined ? null : now + options.ttlMs;
      q.upsert.run(bucket, key, value, revision, expiresAt);
      return expiresAt === null ? { key, value, revision } : { key, value, revision, expiresAt };
    },
  );

  const remove = db.transaction((bucket: string, key: string, ifRevision: number | undefined) => {
    const current = live(q.get.get(bucket, key), Date.now());
    if (ifRevision !== undefined && (current?.revision ?? 0) !== ifRevision) {
      throw new KvConflictError(key, ifRevision, current?.revision ?? 0);
    }
    if (current === undefined) return 0;
    q.remove.run(bucket, key);
    return nextRevision(bucket);
  });

  const sweeper = setInterval(() => q.sweep.run(Date.now()), SWEEP_INTERVAL_MS);
  sweeper.unref();

  const openBucket = (name: string): KvBucket => ({
    name,
    get: (key) => {
      const row = live(q.get.get(name, key), Date.now());
      if (row === undefined) return Promise.resolve(undefined);
      const entry: KvEntry = {
        key: row.key,
        value: new Uint8Array(row.value),
        revision: row.revision,
      };
      if (row.expires_at !== null) entry.expiresAt = row.expires_at;
      return Promise.resolve(entry);
    },
    put: (key, value, options = {}) => {
      try {
        const entry = put(name, key, value, options);
        notify(name, { op: "put", entry });
        return Promise.resolve(entry.revision);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    delete: (key, options = {}) => {
      try {
        const revision = remove(name, key, options.ifRevision);
        if (revision > 0) notify(name, { op: "delete", key, revision });
        return Promise.resolve(revision > 0);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    list: (options: KvListOptions = {}): Promise<KvListPage> => {
      const prefix = options.prefix ?? "";
      const limit = Math.min(Math.max(options.limit ?? MAX_PAGE, 1), MAX_PAGE);
      const after =
        options.cursor === undefined
          ? ""
          : Buffer.from(options.cursor, "base64url").toString("utf8");
      const rows = q.list.all(name, after, prefix, prefix, Date.now(), limit + 1);
      const page: KvListPage = {
        keys: rows
          .slice(0, limit)
          .map((r) =>
            r.expires_at === null
              ? { key: r.key, revision: r.revision }
              : { key: r.key, revision: r.revision, expiresAt: r.expires_at },
          ),
      };
      const last = page.keys.at(-1);
      if (rows.length > limit && last !== undefined)
        page.cursor = Buffer.from(last.key).toString("base64url");
      return Promise.resolve(page);
    },
    watch: (options, onChange) => {
      const watcher: Watcher = { prefix: options.prefix ?? "", onChange, stopped: false };
      let set = watchers.get(name);
      if (set === undefined) watchers.set(name, (set = new Set()));
      set.add(watcher);
      return () => {
        watcher.stopped = true;
        set.delete(watcher);
      };
    },
  });

  return {
    bucket: (name) => {
      if (!BUCKET_NAME.test(name))
        return Promise.reject(new Error(`invalid bucket name "${name}"`));
      q.ensureBucket.run(name);
      return Promise.resolve(openBucket(name));
    },
    deleteBucket: (name) => {
      db.transaction(() => {
        q.dropEntries.run(name);
        q.dropBucket.run(name);
      })();
      return Promise.resolve();
    },
    close: () => {
      clearInterval(sweeper);
      db.close();
      return Promise.resolve();
    },
  };
}
