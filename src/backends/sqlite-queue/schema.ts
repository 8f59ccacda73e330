// Tables and prepared statements of the SQLite queue. A message published to three consumers is
// three delivery rows (copies): fan-out happens once, at publish, and every consumer's rows then
// live and die on their own.
import type { QueueMessage } from "../../ports/queue.js";
import { Sqlite, type SqliteDatabase } from "../sqlite/driver.js";

export interface DeliveryRow {
  seq: number;
  consumer: string;
  id: string;
  subject: string;
  data: Buffer;
  headers: string;
  published_at: number;
  attempt: number;
}

/** The queue message a delivery or dead-letter row holds. */
export function messageOf(row: {
  id: string;
  subject: string;
  data: Buffer;
  headers: string;
  published_at: number;
}): QueueMessage {
  return {
    id: row.id,
    subject: row.subject,
    data: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
    headers: JSON.parse(row.headers) as Record<string, string>,
    publishedAt: row.published_at,
  };
}

export interface DeadLetterRow {
  seq: number;
  id: string;
  subject: string;
  data: Buffer;
  headers: string;
  published_at: number;
  attempts: number;
  reason: string;
  failed_at: number;
}

export interface ConsumerRow {
  name: string;
  subjects: string;
  ack_wait_ms: number;
}

export function openDatabase(file: string): SqliteDatabase {
  const db = new Sqlite(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // AUTOINCREMENT: a seq is never reused, so a late answer to a deleted row cannot hit a new one.
  // due_at is when the row may be handed out; while leased it is when the lease runs out.
  db.exec(`
    CREATE TABLE IF NOT EXISTS queue_consumers (
      name TEXT PRIMARY KEY, subjects TEXT NOT NULL, ack_wait_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS queue_deliveries (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      consumer TEXT NOT NULL, id TEXT NOT NULL, subject TEXT NOT NULL, data BLOB NOT NULL,
      headers TEXT NOT NULL, published_at INTEGER NOT NULL,
      attempt INTEGER NOT NULL DEFAULT 0, due_at INTEGER NOT NULL, leased INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS queue_deliveries_due ON queue_deliveries (consumer, due_at, seq);
    CREATE INDEX IF NOT EXISTS queue_deliveries_leased ON queue_deliveries (leased) WHERE leased = 1;
    CREATE TABLE IF NOT EXISTS queue_dead_letters (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      consumer TEXT NOT NULL, id TEXT NOT NULL, subject TEXT NOT NULL, data BLOB NOT NULL,
      headers TEXT NOT NULL, published_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL, reason TEXT NOT NULL, failed_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS queue_dead_letters_consumer ON queue_dead_letters (consumer, seq);
    CREATE INDEX IF NOT EXISTS queue_dead_letters_id ON queue_dead_letters (consumer, id);
    CREATE TABLE IF NOT EXISTS queue_dedup (
      scope TEXT NOT NULL, id TEXT NOT NULL, accepted_at INTEGER NOT NULL, PRIMARY KEY (scope, id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS queue_dedup_age ON queue_dedup (accepted_at);
  `);
  return db;
}

const DELIVERY_COLUMNS = "seq, consumer, id, subject, data, headers, published_at, attempt";
const DEAD_LETTER_COLUMNS =
  "seq, id, subject, data, headers, published_at, attempts, reason, failed_at";
const TO_DEAD_LETTERS =
  "INSERT INTO queue_dead_letters (consumer, id, subject, data, headers, published_at, attempts, reason, failed_at) ";
const TO_DELIVERIES =
  "INSERT INTO queue_deliveries (consumer, id, subject, data, headers, published_at, due_at) ";

export function statements(db: SqliteDatabase) {
  return {
    consumers: db.prepare<[], ConsumerRow>(
      "SELECT name, subjects, ack_wait_ms FROM queue_consumers",
    ),
    upsertConsumer: db.prepare<[string, string, number]>(
      "INSERT INTO queue_consumers (name, subjects, ack_wait_ms) VALUES (?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET subjects = excluded.subjects, ack_wait_ms = excluded.ack_wait_ms",
    ),
    dropConsumer: db.prepare<[string]>("DELETE FROM queue_consumers WHERE name = ?"),
    dropDeliveries: db.prepare<[string]>("DELETE FROM queue_deliveries WHERE consumer = ?"),
    dropDeadLetters: db.prepare<[string]>("DELETE FROM queue_dead_letters WHERE consumer = ?"),
    dropDedup: db.prepare<[string]>("DELETE FROM queue_dedup WHERE scope = ?"),

    seen: db.prepare<[string, string], { accepted_at: number }>(
      "SELECT accepted_at FROM queue_dedup WHERE scope = ? AND id = ?",
    ),
    remember: db.prepare<[string, string, number]>(
      "INSERT OR REPLACE INTO queue_dedup (scope, id, accepted_at) VALUES (?, ?, ?)",
    ),
    forget: db.prepare<[number]>("DELETE FROM queue_dedup WHERE accepted_at <= ?"),
    insert: db.prepare<[string, string, string, Uint8Array, string, number, number]>(
      TO_DELIVERIES + "VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),

    // The next due delivery, first in acceptance order, leased until the first parameter. One
    // row a statement: "seq IN (… LIMIT n)" costs SQLite ~0.5 ms for small n once many rows are
    // leased, this ~10 µs a row whatever n.
    claim: db.prepare<[number, string, number], DeliveryRow>(
      "UPDATE queue_deliveries SET attempt = attempt + 1, leased = 1, due_at = ? WHERE seq = " +
        "(SELECT seq FROM queue_deliveries WHERE consumer = ? AND due_at <= ? ORDER BY due_at, seq LIMIT 1) " +
        `RETURNING ${DELIVERY_COLUMNS}`,
    ),
    // claimed but not handed out (the consumption stopped meanwhile): as if never claimed, and
    // first in line again (due_at 0), where they were
    release: db.prepare<[number, number]>(
      "UPDATE queue_deliveries SET attempt = attempt - 1, leased = 0, due_at = 0 WHERE seq = ? AND attempt = ?",
    ),
    nextDue: db.prepare<[string], { at: number | null }>(
      "SELECT MIN(due_at) AS at FROM queue_deliveries WHERE consumer = ?",
    ),
    // a previous run ended holding these: due at once and first in line (due_at 0), as they
    // were when handed out; their attempt is already counted
    recover: db.prepare("UPDATE queue_deliveries SET leased = 0, due_at = 0 WHERE leased = 1"),
    pending: db.prepare<[string], { n: number }>(
      "SELECT COUNT(*) AS n FROM queue_deliveries WHERE consumer = ?",
    ),

    ack: db.prepare<[number]>("DELETE FROM queue_deliveries WHERE seq = ?"),
    // the holder is still working: its lease runs until the first parameter
    extend: db.prepare<[number, number, number]>(
      "UPDATE queue_deliveries SET due_at = ? WHERE seq = ? AND attempt = ? AND leased = 1",
    ),
    retry: db.prepare<[number, number, number]>(
      "UPDATE queue_deliveries SET due_at = ?, leased = 0 WHERE seq = ? AND attempt = ?",
    ),
    bury: db.prepare<[string, number, number, number]>(
      TO_DEAD_LETTERS +
        "SELECT consumer, id, subject, data, headers, published_at, attempt, ?, ? " +
        "FROM queue_deliveries WHERE seq = ? AND attempt = ?",
    ),
    unqueue: db.prepare<[number, number]>(
      "DELETE FROM queue_deliveries WHERE seq = ? AND attempt = ?",
    ),

    deadPage: db.prepare<[string, number, number], DeadLetterRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM queue_dead_letters WHERE consumer = ? AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    deadGet: db.prepare<[string, string], DeadLetterRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM queue_dead_letters WHERE consumer = ? AND id = ? ORDER BY seq DESC LIMIT 1`,
    ),
    deadCount: db.prepare<[string], { n: number }>(
      "SELECT COUNT(*) AS n FROM queue_dead_letters WHERE consumer = ?",
    ),
    redriveAll: db.prepare<[number, string]>(
      TO_DELIVERIES +
        "SELECT consumer, id, subject, data, headers, published_at, ? FROM queue_dead_letters " +
        "WHERE consumer = ? ORDER BY seq",
    ),
    redriveOne: db.prepare<[number, string, string]>(
      TO_DELIVERIES +
        "SELECT consumer, id, subject, data, headers, published_at, ? FROM queue_dead_letters " +
        "WHERE consumer = ? AND id = ? ORDER BY seq",
    ),
    purgeOne: db.prepare<[string, string]>(
      "DELETE FROM queue_dead_letters WHERE consumer = ? AND id = ?",
    ),
  };
}

export type Statements = ReturnType<typeof statements>;
