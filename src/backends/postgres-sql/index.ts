// sql port on PostgreSQL: per function, a schema `fn_<owner>` owned by a role `fn_<owner>`.
//
// Isolation is by construction: a function's SQL runs on connections that LOG IN as its role,
// which has no attributes (no superuser, createrole, createdb, replication, bypassrls), is a
// member of no role, and holds rights only on its own schema (PUBLIC has none on `public`, and
// none on other functions' schemas). Whatever the SQL says — SET ROLE, RESET ROLE, SET SESSION
// AUTHORIZATION, search_path, pg_read_file, COPY … PROGRAM, CREATE EXTENSION — the server
// checks it against that role. (Connecting as an admin and SET ROLE per query would not be:
// RESET ROLE, or SET SESSION AUTHORIZATION, returns to the admin, so every user statement
// would have to be parsed and filtered.) The price is a small connection pool per function.
import pg from "pg";
import { SQL_OWNER, type SqlDatabase, type SqlPort } from "../../ports/sql.js";
import { dropAccount, ensureAccount, prepareServer, type Account } from "./accounts.js";
import { ownerDatabase } from "./database.js";
import { asUnavailable, serverOf } from "./unavailable.js";
import { typeParsers } from "./values.js";

export interface PostgresSqlOptions {
  /** An admin connection (superuser, or owner of the database with CREATEROLE). */
  url: string;
  /** Connections per function database in this process (idle ones close after a while). */
  connectionsPerDatabase?: number;
}

const IDLE_CLOSE_MS = 10_000;

/** Session settings a function's connections start with, so values print the way values.ts reads them. */
function sessionOptions(schema: string): string {
  return [
    `search_path=${schema}`,
    "TimeZone=UTC",
    "DateStyle=ISO",
    "IntervalStyle=iso_8601",
    "bytea_output=hex",
  ]
    .map((setting) => `-c ${setting}`)
    .join(" ");
}

/** The admin URL with the function's role and password (host, port, database, TLS kept). */
function functionUrl(url: string, account: Account): string {
  const parsed = new URL(url);
  parsed.username = account.role;
  parsed.password = account.password;
  parsed.searchParams.set("options", sessionOptions(account.schema));
  parsed.searchParams.set("application_name", `litefaas ${account.role}`);
  // a URL without a host cannot carry a user name, and pg would log in as PGUSER instead
  if (parsed.username !== account.role)
    throw new Error(
      "the PostgreSQL URL needs a host (postgres://host/db; for a Unix socket " +
        "postgres://localhost/db?host=/run/postgresql) so functions can log in as their own role",
    );
  return parsed.toString();
}

export async function openPostgresSql(options: PostgresSqlOptions): Promise<SqlPort> {
  const admin = new pg.Pool({ connectionString: options.url, max: 2 });
  // an idle connection the server closes must not crash the platform; the next use reconnects
  admin.on("error", () => undefined);
  try {
    await prepareServer(admin);
  } catch (error) {
    await admin.end();
    throw error;
  }
  const pools = new Map<string, Promise<{ pool: pg.Pool; db: SqlDatabase }>>();

  async function open(owner: string): Promise<{ pool: pg.Pool; db: SqlDatabase }> {
    const account = await ensureAccount(admin, owner);
    const pool = new pg.Pool({
      connectionString: functionUrl(options.url, account),
      max: options.connectionsPerDatabase ?? 4,
      idleTimeoutMillis: IDLE_CLOSE_MS,
      types: typeParsers,
      // SET statement_timeout and the statement go out together: one round trip
      pipeline: true,
    });
    pool.on("error", () => undefined);
    const terminate = async (pid: number): Promise<void> => {
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND usename = $2",
        [pid, account.role],
      );
    };
    return {
      pool,
      db: ownerDatabase(owner, account.schema, pool, terminate, serverOf(options.url)),
    };
  }

  async function closePool(owner: string): Promise<void> {
    const opening = pools.get(owner);
    pools.delete(owner);
    const opened = await opening?.catch(() => undefined);
    await opened?.pool.end();
  }

  return {
    async database(owner) {
      if (!SQL_OWNER.test(owner))
        throw new TypeError(`invalid database owner ${JSON.stringify(owner)}: use [a-z0-9_]{1,63}`);
      let opening = pools.get(owner);
      if (opening === undefined) {
        opening = open(owner);
        pools.set(owner, opening);
        // a failure is not cached: the next call tries again
        void opening.catch(() => pools.delete(owner));
      }
      try {
        return (await opening).db;
      } catch (error) {
        throw asUnavailable(error, serverOf(options.url));
      }
    },
    async dropDatabase(owner) {
      if (!SQL_OWNER.test(owner))
        throw new TypeError(`invalid database owner ${JSON.stringify(owner)}: use [a-z0-9_]{1,63}`);
      await closePool(owner);
      await dropAccount(admin, owner);
    },
    async close() {
      await Promise.all([...pools.keys()].map(closePool));
      await admin.end();
    },
  };
}
