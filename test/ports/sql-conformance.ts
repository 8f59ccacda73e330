// The sql port's one conformance suite, written once and run against every backend
// (test/backends/*-sql.test.ts). It pins what a function may rely on whatever the backend:
// - `?` parameters of every SqlValue type, also next to `?` inside strings and comments;
// - typed results: integers beyond 2^53 as bigint, blobs as Uint8Array, column names;
// - meta: rows written and read, the id of an inserted row;
// - batch is one transaction, exec runs scripts, migrate applies each migration once, in order,
//   atomically, and names the one that failed;
// - errors are SqlError with the engine's message; a query past its timeoutMs is cancelled
//   with SqlTimeoutError and the database keeps working;
// - databases are apart: queries on two run at once, and one owner cannot reach another's data
//   (sql-isolation.ts); dropDatabase removes everything.
// Where the engines differ in SQL (DDL types, how booleans come back, what runs long), the
// backend's flavor picks the spelling; the expectations are the same.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { SqlError, SqlTimeoutError, type SqlDatabase } from "../../src/ports/sql.js";
import {
  dialectOf,
  rejectsWith,
  sql,
  type SqlFlavor,
  type SqlSuite,
  type SqlUnderTest,
} from "./sql-helpers.js";
import { isolationTests } from "./sql-isolation.js";

export function sqlConformance(backend: SqlFlavor, open: () => Promise<SqlUnderTest>): void {
  void describe(`sql port conformance: ${backend}`, () => {
    const run = randomBytes(4).toString("hex");
    const created = new Set<string>();
    let subject: SqlUnderTest | undefined;
    let counter = 0;
    const suite: SqlSuite = {
      flavor: backend,
      port: () => {
        if (subject === undefined) throw new Error("the backend under test is not open");
        return subject.port;
      },
      fresh: async (label) => {
        const owner = `t${run}_${++counter}_${label}`;
        created.add(owner);
        const db = await suite.port().database(owner);
        assert.equal(db.owner, owner);
        return db;
      },
      ...dialectOf(backend),
    };
    const { ddl } = suite;

    before(async () => {
      subject = await open();
    });
    after(async () => {
      if (subject === undefined) return;
      for (const owner of created) await subject.port.dropDatabase(owner);
      await subject.port.close();
      await subject.cleanup();
    });

    void it("binds ? parameters of every type and reads typed values and column names back", async () => {
      const db = await suite.fresh("types");
      await db.exec(
        `CREATE TABLE v (id ${ddl.id}, n ${ddl.int}, i ${ddl.int}, f ${ddl.float}, big ${ddl.int}, ` +
          `s TEXT, b ${ddl.blob}, ok BOOLEAN, note TEXT)`,
      );
      const blob = Uint8Array.from([0, 1, 2, 253, 254, 255, 0]);
      const text = "héllo wörld ✓ 🎉 'quoted' \"double\" what?";
      const big = 2n ** 62n + 7n;
      // a '?' inside a string literal, a quoted identifier and a comment is not a placeholder
      const insert = await db.query(
        sql(
          `INSERT INTO v (n, i, f, big, s, b, ok, "note") /* why? */ VALUES (?, ?, ?, ?, ?, ?, ?, 'is it? yes') -- really?`,
          null,
          -42,
          3.25,
          big,
          text,
          blob,
          true,
        ),
      );
      assert.equal(insert.meta.rowsWritten, 1);
      await db.query(sql("INSERT INTO v (n, ok) VALUES (?, ?)", 1, false));
      const result = await db.query(sql("SELECT n, i, f, big, s, b, ok, note FROM v ORDER BY id"));
      assert.deepEqual(result.columns, ["n", "i", "f", "big", "s", "b", "ok", "note"]);
      const [first, second] = result.rows;
      const [yes, no] = backend === "sqlite" ? [1, 0] : [true, false];
      assert.deepEqual(first?.slice(0, 5), [null, -42, 3.25, big, text]);
      assert.ok(first?.[5] instanceof Uint8Array, "a blob comes back as a Uint8Array");
      assert.deepEqual(Array.from(first[5]), Array.from(blob));
      assert.deepEqual(first.slice(6), [yes, "is it? yes"]);
      assert.deepEqual([second?.[0], second?.[6]], [1, no]);
      assert.equal(result.meta.rowsRead, 2);
      assert.equal(result.meta.rowsWritten, 0);
    });

    void it("returns integers beyond 2^53 as bigint and smaller ones as numbers", async () => {
      const db = await suite.fresh("ints");
      await db.exec(`CREATE TABLE n (id ${ddl.id}, x ${ddl.int})`);
      const values = [2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 2 ** 53 - 1, 0];
      for (const x of values) await db.query(sql("INSERT INTO n (x) VALUES (?)", x));
      const { rows } = await db.query(sql("SELECT x FROM n ORDER BY id"));
      assert.deepEqual(
        rows.map((row) => row[0]),
        values,
      );
    });

    void it("reports rows written and read and the id of an inserted row", async () => {
      const db = await suite.fresh("meta");
      await db.exec(`CREATE TABLE m (id ${ddl.id}, name TEXT)`);
      const three = await db.query(sql("INSERT INTO m (name) VALUES (?), (?), (?)", "a", "b", "c"));
      assert.equal(three.meta.rowsWritten, 3);
      assert.equal(three.meta.changes, 3);
      const returning = await db.query(sql("INSERT INTO m (name) VALUES (?) RETURNING id", "d"));
      assert.deepEqual(returning.columns, ["id"]);
      assert.equal(returning.rows[0]?.[0], 4);
      assert.equal(returning.meta.lastRowId, 4);
      assert.equal(returning.meta.rowsWritten, 1);
      const updated = await db.query(sql("UPDATE m SET name = ? WHERE id > ?", "x", 1));
      assert.equal(updated.meta.rowsWritten, 3);
      assert.equal(updated.meta.lastRowId, null, "an UPDATE inserted no row");
      const read = await db.query(sql("SELECT id, name FROM m WHERE name = ? ORDER BY id", "x"));
      assert.deepEqual(read.rows, [
        [2, "x"],
        [3, "x"],
        [4, "x"],
      ]);
      assert.equal(read.meta.rowsRead, 3);
      assert.equal(read.meta.rowsWritten, 0);
      assert.equal(read.meta.lastRowId, null);
      assert.ok(read.meta.durationMs >= 0);
      if (backend === "sqlite") {
        const plain = await db.query(sql("INSERT INTO m (name) VALUES (?)", "e"));
        assert.equal(plain.meta.lastRowId, 5, "SQLite reports the rowid of a plain INSERT");
      }
    });

    void it("applies a batch atomically: a failing statement undoes the ones before it", async () => {
      const db = await suite.fresh("batch");
      await db.exec(`CREATE TABLE u (id ${ddl.id}, k TEXT UNIQUE)`);
      const ok = await db.batch([
        sql("INSERT INTO u (k) VALUES (?)", "a"),
        sql("INSERT INTO u (k) VALUES (?)", "b"),
        sql("SELECT count(*) AS n FROM u"),
      ]);
      assert.equal(ok.length, 3);
      assert.equal(ok[1]?.meta.rowsWritten, 1);
      assert.deepEqual(ok[2]?.rows, [[2]]);
      await rejectsWith(
        db.batch([
          sql("INSERT INTO u (k) VALUES (?)", "c"),
          sql("UPDATE u SET k = ? WHERE k = ?", "z", "a"),
          sql("INSERT INTO u (k) VALUES (?)", "b"),
        ]),
        SqlError,
        /unique/i,
      );
      const { rows } = await db.query(sql("SELECT k FROM u ORDER BY k"));
      assert.deepEqual(rows, [["a"], ["b"]]);
    });

    void it("runs a multi-statement script with exec and counts its statements", async () => {
      const db = await suite.fresh("exec");
      const result = await db.exec(`
        CREATE TABLE s (x TEXT);
        INSERT INTO s VALUES ('semi;colon'); -- a comment; with a semicolon
        /* another; */ INSERT INTO s VALUES ('it''s');
      `);
      assert.equal(result.count, 3);
      assert.ok(result.durationMs >= 0);
      const { rows } = await db.query(sql("SELECT x FROM s ORDER BY x"));
      assert.deepEqual(rows, [["it's"], ["semi;colon"]]);
    });

    void it("applies migrations once each, in name order", async () => {
      const db = await suite.fresh("migrate");
      const m1 = { name: "0001_create.sql", sql: "CREATE TABLE todo (title TEXT NOT NULL)" };
      const m2 = {
        name: "0002_seed.sql",
        sql: "INSERT INTO todo VALUES ('one'); INSERT INTO todo VALUES ('two')",
      };
      assert.deepEqual(await db.migrate([m2, m1]), { applied: [m1.name, m2.name] });
      assert.deepEqual(await db.migrate([m1, m2]), { applied: [] });
      const m3 = { name: "0003_more.sql", sql: "INSERT INTO todo VALUES ('three')" };
      assert.deepEqual(await db.migrate([m1, m2, m3]), { applied: [m3.name] });
      const { rows } = await db.query(sql("SELECT count(*) FROM todo"));
      assert.deepEqual(rows, [[3]]);
    });

    void it("applies nothing of a failing migration and names it", async () => {
      const db = await suite.fresh("migfail");
      const good = { name: "0001_ok.sql", sql: "CREATE TABLE a (x TEXT)" };
      const bad = {
        name: "0002_bad.sql",
        sql: "CREATE TABLE b (x TEXT); INSERT INTO a VALUES ('x'); SELEC 1",
      };
      const error = await rejectsWith(db.migrate([good, bad]), SqlError, /0002_bad\.sql/);
      assert.match(error.message, /syntax error/);
      await db.query(sql("SELECT * FROM a"));
      assert.deepEqual((await db.query(sql("SELECT count(*) FROM a"))).rows, [[0]]);
      await rejectsWith(db.query(sql("SELECT * FROM b")), SqlError);
      const fixed = { name: bad.name, sql: "CREATE TABLE b (x TEXT)" };
      assert.deepEqual(await db.migrate([good, fixed]), { applied: [fixed.name] });
    });

    void it("rejects with SqlError carrying the engine's message", async () => {
      const db = await suite.fresh("errors");
      await db.exec("CREATE TABLE e (k TEXT PRIMARY KEY)");
      await rejectsWith(db.query(sql("SELEC 1")), SqlError, /syntax error/);
      await rejectsWith(db.query(sql("SELECT * FROM missing")), SqlError, /missing/);
      await db.query(sql("INSERT INTO e VALUES (?)", "k"));
      const unique = await rejectsWith(
        db.query(sql("INSERT INTO e VALUES (?)", "k")),
        SqlError,
        /unique/i,
      );
      assert.ok(unique.code !== undefined, "the engine's error code is kept");
      // transactions belong to the platform (batch); a stray BEGIN would outlive the call
      await rejectsWith(db.query(sql("BEGIN")), SqlError, /BEGIN is not allowed.*batch/);
      await rejectsWith(db.exec("COMMIT"), SqlError, /COMMIT is not allowed/);
      await db.query(sql("INSERT INTO e VALUES (?)", "after"));
    });

    void it("cancels a query at its timeout with SqlTimeoutError, and the database keeps working", async () => {
      const db = await suite.fresh("timeout");
      await db.exec("CREATE TABLE w (x TEXT)");
      await db.query(sql("INSERT INTO w VALUES (?)", "before"));
      const error = await rejectsWith(
        db.query(sql(suite.longQuery), { timeoutMs: 300 }),
        SqlTimeoutError,
      );
      assert.equal(error.timeoutMs, 300);
      // a batch past its timeout undoes what it had done
      await rejectsWith(
        db.batch([sql("INSERT INTO w VALUES (?)", "lost"), sql(suite.longQuery)], {
          timeoutMs: 300,
        }),
        SqlTimeoutError,
      );
      await rejectsWith(db.exec(suite.longQuery, { timeoutMs: 300 }), SqlTimeoutError);
      await db.query(sql("INSERT INTO w VALUES (?)", "after"));
      const { rows } = await db.query(sql("SELECT x FROM w ORDER BY x"), { timeoutMs: 60_000 });
      assert.deepEqual(rows, [["after"], ["before"]]);
    });

    void it("runs queries on two databases at once, each seeing only its own rows", async () => {
      const [a, b] = await Promise.all([suite.fresh("cona"), suite.fresh("conb")]);
      await Promise.all([a.exec("CREATE TABLE c (x TEXT)"), b.exec("CREATE TABLE c (x TEXT)")]);
      // a query on A that runs until its timeout does not hold up or disturb B
      const slow = rejectsWith(
        a.query(sql(suite.longQuery), { timeoutMs: 2_000 }),
        SqlTimeoutError,
      );
      const writes = Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).query(
          sql("INSERT INTO c VALUES (?)", `${i % 2 === 0 ? "a" : "b"}${i}`),
        ),
      );
      await Promise.all([slow, ...writes]);
      const count = async (db: SqlDatabase, prefix: string) =>
        (await db.query(sql("SELECT count(*) FROM c WHERE x LIKE ?", `${prefix}%`))).rows[0]?.[0];
      assert.deepEqual(
        await Promise.all([count(a, "a"), count(a, "b"), count(b, "b"), count(b, "a")]),
        [10, 0, 10, 0],
      );
    });

    isolationTests(suite);

    void it("drops a database with everything in it", async () => {
      const db = await suite.fresh("drop");
      await db.migrate([{ name: "0001.sql", sql: "CREATE TABLE d (x TEXT)" }]);
      await db.query(sql("INSERT INTO d VALUES (?)", "gone"));
      await suite.port().dropDatabase(db.owner);
      const again = await suite.port().database(db.owner);
      await rejectsWith(again.query(sql("SELECT * FROM d")), SqlError);
      assert.deepEqual(
        await again.migrate([{ name: "0001.sql", sql: "CREATE TABLE d (x TEXT)" }]),
        {
          applied: ["0001.sql"],
        },
      );
      assert.deepEqual((await again.query(sql("SELECT count(*) FROM d"))).rows, [[0]]);
    });

    void it("refuses owner names outside [a-z0-9_]{1,63}", async () => {
      for (const owner of ["", "Upper", "a-b", "../x", "a".repeat(64), "a b"])
        await assert.rejects(suite.port().database(owner), TypeError, owner);
    });
  });
}
