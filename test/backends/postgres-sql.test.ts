// The sql port's conformance suite on PostgreSQL, plus what only this backend has to get right:
// the role and schema it provisions (and nothing more), the types it maps, `?` translation, and
// refusing to run as a role it did not create. Needs PostgreSQL (test/kit/services.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { roleOf } from "../../src/backends/postgres-sql/accounts.js";
import { openPostgresSql } from "../../src/backends/postgres-sql/index.js";
import { splitScript, translatePlaceholders } from "../../src/backends/postgres-sql/statements.js";
import { SqlTimeoutError, type SqlPort } from "../../src/ports/sql.js";
import { postgresService } from "../kit/services.js";
import { sqlConformance } from "../ports/sql-conformance.js";
import { rejectsWith, sql } from "../ports/sql-helpers.js";

const postgres = await postgresService();
const run = randomBytes(4).toString("hex");

if (postgres.skip === false) {
  const url = postgres.url;
  sqlConformance("postgres", async () => ({
    port: await openPostgresSql({ url }),
    cleanup: () => Promise.resolve(),
  }));
} else {
  void describe("sql port conformance: postgres", { skip: postgres.skip }, () => undefined);
}

// Pure: no server needed.
void describe("postgres sql statements", () => {
  void it("translates ? outside strings, identifiers, dollar quotes and comments", () => {
    const source =
      "SELECT ?, '?''?', \"?\", E'\\'?', $$?$$, $t$ ? $t$, $1, a$b, " +
      "/* ? /* nested ? */ ? */ ? -- ?\n, ?";
    assert.equal(
      translatePlaceholders(source),
      "SELECT $1, '?''?', \"?\", E'\\'?', $$?$$, $t$ ? $t$, $1, a$b, " +
        "/* ? /* nested ? */ ? */ $2 -- ?\n, $3",
    );
  });

  void it("splits scripts at semicolons, keeping bodies whole", () => {
    const fn =
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END";
    const plpgsql = "DO $$ BEGIN PERFORM 1; END $$";
    assert.deepEqual(splitScript(`${fn}; ${plpgsql}; SELECT ';' -- ;\n;`), [
      fn,
      plpgsql,
      "SELECT ';' -- ;",
    ]);
    assert.deepEqual(splitScript(" ; -- only comments\n /* ; */ "), []);
  });

  void it("gives owners too long for fn_<owner> a distinct hashed role name", () => {
    const long = "a".repeat(61);
    assert.equal(roleOf("abc"), "fn_abc");
    assert.equal(roleOf("a".repeat(60)).length, 63);
    assert.match(roleOf(long), /^fh_a{43}_[0-9a-f]{16}$/);
    assert.notEqual(roleOf(long), roleOf(`${long}b`));
  });
});

void describe("postgres sql backend", { skip: postgres.skip }, () => {
  let port: SqlPort;
  let admin: pg.Client;
  const owners: string[] = [];
  const owner = (label: string): string => {
    const name = `p${run}_${label}`;
    owners.push(name);
    return name;
  };

  before(async () => {
    port = await openPostgresSql({ url: postgres.url });
    admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
  });
  after(async () => {
    for (const name of owners) await port.dropDatabase(name);
    await port.close();
    await admin.end();
  });

  void it("runs a function's SQL as its own role, which owns its schema and nothing else", async () => {
    const name = owner("role");
    const role = roleOf(name);
    const db = await port.database(name);
    const who = await db.query(sql("SELECT current_user, session_user, current_schema()"));
    assert.deepEqual(who.rows, [[role, role, role]]);
    const { rows } = await admin.query<Record<string, boolean>>(
      `SELECT r.rolcanlogin AS login, r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls AS privileged,
         EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid) AS member,
         (SELECT pg_get_userbyid(nspowner) = $1 FROM pg_namespace WHERE nspname = $1) AS owns_schema,
         has_schema_privilege($1, 'public', 'USAGE') AS public_usage,
         has_database_privilege($1, current_database(), 'CREATE') AS db_create
       FROM pg_roles r WHERE r.rolname = $1`,
      [role],
    );
    assert.deepEqual(rows, [
      {
        login: true,
        privileged: false,
        member: false,
        owns_schema: true,
        public_usage: false,
        db_create: false,
      },
    ]);

    await port.dropDatabase(name);
    const gone = await admin.query(
      "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = $1) + (SELECT count(*) FROM pg_namespace WHERE nspname = $1) AS n",
      [role],
    );
    assert.deepEqual(gone.rows, [{ n: "0" }]);
  });

  void it("maps PostgreSQL's types to the port's values", async () => {
    const db = await port.database(owner("types"));
    const { columns, rows } = await db.query(
      sql(
        "SELECT ?::int8 AS big, 7::int4 AS i, 1.5::float8 AS f, 12.30::numeric AS n, true AS b, " +
          "'\\x00ff'::bytea AS bytes, '{\"a\": [1]}'::jsonb AS j, " +
          "'2024-02-03 04:05:06.789012+02'::timestamptz AS tz, '2024-02-03 04:05:06'::timestamp AS ts, " +
          "'2024-02-03'::date AS d, ARRAY[1, 2] AS arr, '1 day'::interval AS iv, NULL::text AS nothing",
        2n ** 60n,
      ),
    );
    assert.deepEqual(columns, [
      "big",
      "i",
      "f",
      "n",
      "b",
      "bytes",
      "j",
      "tz",
      "ts",
      "d",
      "arr",
      "iv",
      "nothing",
    ]);
    assert.deepEqual(rows, [
      [
        2n ** 60n,
        7,
        1.5,
        "12.30",
        true,
        new Uint8Array([0, 255]),
        '{"a": [1]}',
        "2024-02-03T02:05:06.789012Z",
        "2024-02-03T04:05:06",
        "2024-02-03",
        "{1,2}",
        "P1D",
        null,
      ],
    ]);
  });

  void it("stops a statement that catches its own cancellation", async () => {
    const db = await port.database(owner("stubborn"));
    const stubborn =
      "DO $$ BEGIN LOOP BEGIN PERFORM pg_sleep(0.05); " +
      "EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END $$";
    await rejectsWith(db.query(sql(stubborn), { timeoutMs: 200 }), SqlTimeoutError);
    assert.deepEqual((await db.query(sql("SELECT 1"))).rows, [[1]]);
  });

  void it("refuses to run SQL as an existing role that litefaas did not create", async () => {
    const name = owner("foreign");
    const role = roleOf(name);
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN`);
    try {
      await assert.rejects(port.database(name), /not a litefaas function role/);
    } finally {
      await admin.query(`DROP ROLE ${pg.escapeIdentifier(role)}`);
    }
  });

  void it("serves an owner whose name is too long for fn_<owner>", async () => {
    const name = owner("x".repeat(63 - `p${run}_`.length));
    assert.equal(name.length, 63);
    const db = await port.database(name);
    await db.exec("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    assert.deepEqual((await db.query(sql("SELECT x FROM t"))).rows, [[1]]);
  });
});
