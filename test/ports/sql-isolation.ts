// Isolation between function databases, part of the sql conformance suite: owner A tries every
// way we know to read or write owner B's data, or to reach outside its database; each attempt must
// fail, or succeed while seeing nothing of B. Afterwards B's data must be exactly as it was. The
// attempts are the engine's own (ATTACH on SQLite; roles, schemas and server files on
// PostgreSQL), so each flavor has its list; refusals must say why (a permission error, or the
// SQLite guard's "not allowed"), not merely fail on a typo in the probe.
import assert from "node:assert/strict";
import { it } from "node:test";
import { SqlError, type SqlDatabase, type SqlResult } from "../../src/ports/sql.js";
import { rejectsWith, sql, type SqlSuite } from "./sql-helpers.js";

const SECRET = "b-secret-7f3a";

interface Probe {
  /** One statement (query) or several run in order in one transaction (batch). */
  sql: string | string[];
  /** What the refusal must say, when the probe must fail. */
  refused?: RegExp;
}

function sqliteProbes(b: string): Probe[] {
  const notAllowed = /is not allowed/;
  return [
    { sql: "SELECT * FROM secret", refused: /no such table/ },
    { sql: `SELECT * FROM "${b}".secret`, refused: /no such table/ },
    { sql: `ATTACH DATABASE '${b}.sqlite' AS other`, refused: /ATTACH is not allowed/ },
    { sql: `attach /* sneaky */ '../${b}.sqlite' as other`, refused: notAllowed },
    { sql: [`ATTACH '${b}.sqlite' AS o`, "SELECT * FROM o.secret"], refused: notAllowed },
    { sql: "DETACH DATABASE main", refused: notAllowed },
    { sql: "VACUUM INTO '/tmp/litefaas-escape.sqlite'", refused: /VACUUM INTO is not allowed/ },
    { sql: "VACUUM main INTO 'copy.sqlite'", refused: notAllowed },
    { sql: "SELECT load_extension('/tmp/evil')", refused: /load_extension\(\) is not allowed/ },
    { sql: `SELECT "load_extension"('/tmp/evil')`, refused: notAllowed },
    { sql: "PRAGMA writable_schema = ON", refused: /PRAGMA writable_schema.*not allowed/ },
    { sql: "PRAGMA journal_mode = DELETE", refused: notAllowed },
    { sql: "PRAGMA main.synchronous = OFF", refused: notAllowed },
    { sql: "PRAGMA foreign_keys = OFF", refused: notAllowed },
    { sql: "PRAGMA user_version(7)", refused: notAllowed },
    { sql: "PRAGMA database_list", refused: notAllowed },
    { sql: "PRAGMA mmap_size = 1000000000", refused: notAllowed },
  ];
}

function postgresProbes(b: string): Probe[] {
  const schema = `fn_${b}`;
  const denied = /permission denied|must be superuser|does not exist/;
  return [
    { sql: "SELECT * FROM secret", refused: /does not exist/ },
    { sql: `SELECT * FROM ${schema}.secret`, refused: /permission denied/ },
    { sql: `INSERT INTO ${schema}.secret (v) VALUES ('from a')`, refused: /permission denied/ },
    { sql: `DROP TABLE ${schema}.secret`, refused: denied },
    { sql: [`SET search_path = ${schema}`, "SELECT * FROM secret"], refused: denied },
    { sql: `SET ROLE ${schema}`, refused: /permission denied/ },
    { sql: "SET ROLE postgres", refused: /permission denied|does not exist/ },
    { sql: ["RESET ROLE", `SELECT * FROM ${schema}.secret`], refused: /permission denied/ },
    { sql: ["SET ROLE NONE", `SELECT * FROM ${schema}.secret`], refused: /permission denied/ },
    { sql: "SET SESSION AUTHORIZATION postgres", refused: /permission denied|does not exist/ },
    { sql: `SET SESSION AUTHORIZATION ${schema}`, refused: /permission denied/ },
    { sql: `GRANT USAGE ON SCHEMA ${schema} TO CURRENT_USER`, refused: denied },
    { sql: "ALTER ROLE CURRENT_USER SUPERUSER", refused: /permission denied|must be superuser/ },
    { sql: "CREATE SCHEMA planted", refused: /permission denied/ },
    { sql: "CREATE TABLE public.planted (x int)", refused: /permission denied/ },
    { sql: "SELECT pg_read_file('/etc/passwd')", refused: /permission denied/ },
    { sql: "SELECT pg_ls_dir('.')", refused: /permission denied/ },
    { sql: "COPY (SELECT 1) TO PROGRAM 'id'", refused: /pg_execute_server_program|superuser/ },
    { sql: "CREATE TEMP TABLE x (t text)", refused: undefined },
    {
      sql: "COPY x FROM PROGRAM 'id'",
      refused: /pg_execute_server_program|superuser|does not exist/,
    },
    {
      sql: "COPY (SELECT 1) TO '/tmp/litefaas-escape'",
      refused: /pg_write_server_files|superuser/,
    },
    { sql: "SELECT lo_import('/etc/passwd')", refused: /permission denied/ },
    { sql: "CREATE EXTENSION dblink", refused: /permission denied|already exists/ },
    { sql: "CREATE EXTENSION pgcrypto", refused: /permission denied|already exists/ },
    {
      sql: "SELECT dblink('dbname=test', 'SELECT 1')",
      refused: /does not exist|permission denied/,
    },
    { sql: "SELECT rolpassword FROM pg_authid", refused: /permission denied/ },
    { sql: "SELECT passwd FROM pg_shadow", refused: /permission denied/ },
    { sql: "SELECT * FROM litefaas_sql.accounts", refused: /permission denied/ },
    { sql: "SELECT current_setting('data_directory')", refused: /pg_read_all_settings|superuser/ },
    { sql: "SELECT current_setting('hba_file')", refused: /pg_read_all_settings|superuser/ },
    {
      sql: `DO $$ BEGIN EXECUTE 'DELETE FROM ${schema}.secret'; END $$`,
      refused: /permission denied/,
    },
    // succeeds: what a function may see of other sessions must not include B's statements
    { sql: `SELECT query FROM pg_stat_activity WHERE usename = '${schema}'` },
  ];
}

function mentionsSecret(results: SqlResult[]): boolean {
  return results.some((result) =>
    result.rows.some((row) => row.some((value) => String(value).includes(SECRET))),
  );
}

async function attempt(a: SqlDatabase, probe: Probe): Promise<void> {
  const statements = (typeof probe.sql === "string" ? [probe.sql] : probe.sql).map((s) => sql(s));
  const running =
    statements.length === 1 && statements[0] !== undefined
      ? a.query(statements[0]).then((result) => [result])
      : a.batch(statements);
  if (probe.refused !== undefined) {
    await rejectsWith(running, SqlError, probe.refused);
    return;
  }
  assert.equal(mentionsSecret(await running), false, `${String(probe.sql)} saw B's data`);
}

export function isolationTests(suite: SqlSuite): void {
  void it("keeps one owner's database out of another's reach", async () => {
    const [a, b] = await Promise.all([suite.fresh("isoa"), suite.fresh("isob")]);
    await b.exec(`CREATE TABLE secret (id ${suite.ddl.id}, v TEXT NOT NULL)`);
    await b.query(sql("INSERT INTO secret (v) VALUES (?)", SECRET));
    await a.exec("CREATE TABLE mine (x TEXT)");

    const probes = suite.flavor === "sqlite" ? sqliteProbes(b.owner) : postgresProbes(b.owner);
    for (const probe of probes) {
      await attempt(a, probe).catch((error: unknown) => {
        throw new Error(`probe ${JSON.stringify(probe.sql)}: ${String(error)}`, { cause: error });
      });
    }

    // B is untouched, and A still works after all that
    assert.deepEqual((await b.query(sql("SELECT v FROM secret"))).rows, [[SECRET]]);
    await a.query(sql("INSERT INTO mine VALUES (?)", "still mine"));
    assert.deepEqual((await a.query(sql("SELECT x FROM mine"))).rows, [["still mine"]]);
  });

  void it("lets a function read its own schema, and words like ATTACH inside strings", async () => {
    const db = await suite.fresh("isoread");
    await db.exec(`CREATE TABLE "attach" ("pragma" TEXT, vacuum_into TEXT)`);
    await db.query(
      sql(
        `INSERT INTO "attach" VALUES (?, 'ATTACH DATABASE x; PRAGMA y; VACUUM INTO z')`,
        "load_extension(x)",
      ),
    );
    const { rows } = await db.query(sql(`SELECT "pragma", vacuum_into FROM "attach"`));
    assert.deepEqual(rows, [["load_extension(x)", "ATTACH DATABASE x; PRAGMA y; VACUUM INTO z"]]);
    if (suite.flavor === "sqlite") {
      const info = await db.query(sql(`PRAGMA table_info("attach")`));
      assert.deepEqual(
        info.rows.map((row) => row[1]),
        ["pragma", "vacuum_into"],
      );
      assert.deepEqual((await db.query(sql("PRAGMA foreign_keys"))).rows, [[1]]);
      const listed = await db.query(
        sql("SELECT name FROM pragma_table_list WHERE name = 'attach'"),
      );
      assert.equal(listed.rows.length, 1);
    } else {
      const columns = await db.query(
        sql(
          "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
          "attach",
        ),
      );
      assert.deepEqual(columns.rows, [["pragma"], ["vacuum_into"]]);
    }
  });
}
