// The sql port's conformance suite on SQLite, plus what only this backend promises: a file per
// owner in WAL mode with foreign keys on, workers killed at a timeout without losing the other
// databases they had open, a cap on open databases, and durability across reopening the port.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openSqliteSql } from "../../src/backends/sqlite-sql/index.js";
import { checkSql } from "../../src/backends/sqlite-sql/statements.js";
import { SqlError, SqlTimeoutError } from "../../src/ports/sql.js";
import { sqlConformance } from "../ports/sql-conformance.js";
import { rejectsWith, sql } from "../ports/sql-helpers.js";

const LONG_QUERY =
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c";

sqlConformance("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-sqlite-sql-"));
  return {
    port: openSqliteSql({ dir }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

void describe("sqlite sql backend", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "litefaas-sqlite-sql-own-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it("keeps one WAL file per owner with foreign keys on, and deletes it on drop", async () => {
    const port = openSqliteSql({ dir });
    try {
      const db = await port.database("files");
      await db.exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY); " +
          "CREATE TABLE child (parent INTEGER REFERENCES parent (id))",
      );
      await rejectsWith(db.query(sql("INSERT INTO child VALUES (?)", 9)), SqlError, /FOREIGN KEY/);
      await db.query(sql("INSERT INTO parent VALUES (?)", 9));
      await db.query(sql("INSERT INTO child VALUES (?)", 9));
      assert.ok(existsSync(join(dir, "files.sqlite")));
      assert.ok(existsSync(join(dir, "files.sqlite-wal")), "the database is in WAL mode");
      await port.dropDatabase("files");
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.startsWith("files.")),
        [],
      );
    } finally {
      await port.close();
    }
  });

  void it("reopens the databases of a worker killed at a timeout", async () => {
    // one worker: A's query and B's database share it, and B's next query waits behind A's
    const port = openSqliteSql({ dir, workers: 1 });
    try {
      const [a, b] = [await port.database("killed_a"), await port.database("killed_b")];
      await b.exec("CREATE TABLE kept (x TEXT); INSERT INTO kept VALUES ('before')");
      const slow = a.query(sql(LONG_QUERY), { timeoutMs: 300 });
      const queued = b.query(sql("INSERT INTO kept VALUES (?)", "queued"));
      await rejectsWith(slow, SqlTimeoutError);
      assert.equal((await queued).meta.rowsWritten, 1);
      assert.deepEqual((await b.query(sql("SELECT x FROM kept ORDER BY x"))).rows, [
        ["before"],
        ["queued"],
      ]);
      assert.deepEqual((await a.query(sql("SELECT 1"))).rows, [[1]]);
    } finally {
      await port.close();
    }
  });

  void it("closes the least recently used databases beyond maxDatabases and reopens them", async () => {
    const port = openSqliteSql({ dir, workers: 1, maxDatabases: 2 });
    try {
      const owners = ["lru_1", "lru_2", "lru_3", "lru_4", "lru_5"];
      const dbs = await Promise.all(owners.map((owner) => port.database(owner)));
      for (const db of dbs) await db.exec("CREATE TABLE t (x TEXT)");
      for (let round = 0; round < 2; round += 1)
        for (const db of dbs) await db.query(sql("INSERT INTO t VALUES (?)", db.owner));
      for (const db of dbs)
        assert.deepEqual((await db.query(sql("SELECT x FROM t"))).rows, [[db.owner], [db.owner]]);
    } finally {
      await port.close();
    }
  });

  void it("keeps data across closing and reopening the port", async () => {
    const first = openSqliteSql({ dir });
    const db = await first.database("durable");
    await db.migrate([{ name: "0001.sql", sql: "CREATE TABLE d (x BLOB)" }]);
    await db.query(sql("INSERT INTO d VALUES (?)", new Uint8Array([1, 2, 3])));
    await first.close();
    const second = openSqliteSql({ dir });
    try {
      const again = await second.database("durable");
      assert.deepEqual(
        await again.migrate([{ name: "0001.sql", sql: "CREATE TABLE d (x BLOB)" }]),
        {
          applied: [],
        },
      );
      const [row] = (await again.query(sql("SELECT x FROM d"))).rows;
      assert.deepEqual(row, [new Uint8Array([1, 2, 3])]);
    } finally {
      await second.close();
    }
  });

  void it("splits scripts into statements, keeping trigger bodies whole", async () => {
    const trigger =
      "CREATE TRIGGER audit AFTER INSERT ON t BEGIN " +
      "INSERT INTO log VALUES (CASE WHEN new.x = 'a' THEN 'A' ELSE 'other' END); " +
      "UPDATE counter SET n = n + 1; END";
    assert.equal(checkSql(`${trigger}; SELECT 1;`).count, 2);
    assert.equal(checkSql("").count, 0);
    assert.equal(checkSql("-- nothing; here\n/* or; here */ ;;").count, 0);
    assert.equal(checkSql("SELECT 'a;b'; SELECT \"c;d\" FROM [e;f]").count, 2);
    assert.equal(checkSql("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x").verb, "INSERT");
    assert.equal(checkSql("EXPLAIN QUERY PLAN REPLACE INTO t VALUES (1)").verb, "REPLACE");
    assert.throws(() => checkSql("SELECT 1; END"), /END is not allowed/);

    const port = openSqliteSql({ dir });
    try {
      const db = await port.database("triggers");
      const script =
        "CREATE TABLE t (x TEXT); CREATE TABLE log (v TEXT); " +
        "CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0);";
      assert.equal((await db.exec(`${script} ${trigger};`)).count, 5);
      await db.batch([sql("INSERT INTO t VALUES (?)", "a"), sql("INSERT INTO t VALUES (?)", "b")]);
      assert.deepEqual((await db.query(sql("SELECT v FROM log ORDER BY v"))).rows, [
        ["A"],
        ["other"],
      ]);
      assert.deepEqual((await db.query(sql("SELECT n FROM counter"))).rows, [[2]]);
    } finally {
      await port.close();
    }
  });
});
