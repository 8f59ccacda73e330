// Each function's database is a schema owned by a role of its own, and the function's SQL runs on
// connections that log in as that role (see index.ts for why). This file is the admin's side:
// creating and dropping those roles and schemas. Passwords are random, stored (for the other
// platform processes sharing the server) in a table only the admin can read, and sent to the
// server as SCRAM verifiers so no plain password reaches its logs.
import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";

export interface Account {
  role: string;
  /** The role's schema: same name as the role. */
  schema: string;
  password: string;
}

const ADMIN_SCHEMA = "litefaas_sql";
const COMMENT = "litefaas: the SQL database of function ";
const SCRAM_ITERATIONS = 4096;
const pbkdf2Async = promisify(pbkdf2);
const q = (name: string): string => pg.escapeIdentifier(name);

/** `fn_<owner>`; an owner too long for that (63 bytes at most) gets a hashed `fh_` name instead. */
export function roleOf(owner: string): string {
  const name = `fn_${owner}`;
  if (name.length <= 63) return name;
  const hash = createHash("sha256").update(owner).digest("hex").slice(0, 16);
  return `fh_${owner.slice(0, 43)}_${hash}`;
}

async function scramVerifier(password: string): Promise<string> {
  const salt = randomBytes(16);
  const salted = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest("base64");
  const serverKey = createHmac("sha256", salted).update("Server Key").digest("base64");
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString("base64")}$${storedKey}:${serverKey}`;
}

async function inTransaction<T>(
  admin: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await admin.connect();
  try {
    await client.query("BEGIN");
    // one at a time, across platform processes: provisioning is rare, and owners' GRANTs on
    // the database all rewrite its one catalog row ("tuple concurrently updated" otherwise)
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [ADMIN_SCHEMA]);
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Once per port: the admin table, and no rights on schema `public` for PUBLIC, so a function's
 * role (which has no grants of its own outside its schema) cannot read or plant objects there.
 */
export async function prepareServer(admin: pg.Pool): Promise<void> {
  await inTransaction(admin, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ADMIN_SCHEMA}`);
    await client.query(`REVOKE ALL ON SCHEMA ${ADMIN_SCHEMA} FROM PUBLIC`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${ADMIN_SCHEMA}.accounts (owner text PRIMARY KEY, ` +
        "role text NOT NULL, password text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
    );
    await client.query(`REVOKE ALL ON ${ADMIN_SCHEMA}.accounts FROM PUBLIC`);
    await client.query("REVOKE ALL ON SCHEMA public FROM PUBLIC");
  });
}

interface RoleRow {
  comment: string | null;
  privileged: boolean;
  member: boolean;
}

/** The role, if it exists; refuses one that litefaas did not create or that can do more. */
async function existingRole(client: pg.PoolClient, owner: string): Promise<boolean> {
  const role = roleOf(owner);
  const { rows } = await client.query<RoleRow>(
    "SELECT shobj_description(r.oid, 'pg_authid') AS comment, " +
      "(r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls) AS privileged, " +
      "EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid) AS member " +
      "FROM pg_roles r WHERE r.rolname = $1",
    [role],
  );
  const row = rows[0];
  if (row === undefined) return false;
  if (row.comment !== COMMENT + owner || row.privileged || row.member)
    throw new Error(
      `role ${role} exists but is not a litefaas function role (or has been given more rights): ` +
        "refusing to run a function's SQL as it; drop or rename that role",
    );
  return true;
}

async function schemaOwner(client: pg.PoolClient, schema: string): Promise<string | undefined> {
  const { rows } = await client.query<{ owner: string }>(
    "SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1",
    [schema],
  );
  return rows[0]?.owner;
}

/** Creates the owner's role and schema when absent; returns how to log in as it. */
export async function ensureAccount(admin: pg.Pool, owner: string): Promise<Account> {
  const role = roleOf(owner);
  return inTransaction(admin, async (client) => {
    const stored = await client.query<{ password: string }>(
      `SELECT password FROM ${ADMIN_SCHEMA}.accounts WHERE owner = $1`,
      [owner],
    );
    const password = stored.rows[0]?.password ?? randomBytes(24).toString("hex");
    const verifier = pg.escapeLiteral(await scramVerifier(password));
    if (!(await existingRole(client, owner))) {
      await client.query(
        `CREATE ROLE ${q(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT ` +
          `NOREPLICATION NOBYPASSRLS PASSWORD ${verifier}`,
      );
      await client.query(`COMMENT ON ROLE ${q(role)} IS ${pg.escapeLiteral(COMMENT + owner)}`);
    } else if (stored.rows.length === 0) {
      await client.query(`ALTER ROLE ${q(role)} PASSWORD ${verifier}`);
    }
    const { rows } = await client.query<{ db: string }>("SELECT current_database() AS db");
    await client.query(`GRANT CONNECT ON DATABASE ${q(rows[0]?.db ?? "")} TO ${q(role)}`);
    const schemaOwnedBy = await schemaOwner(client, role);
    if (schemaOwnedBy === undefined)
      await client.query(`CREATE SCHEMA ${q(role)} AUTHORIZATION ${q(role)}`);
    else if (schemaOwnedBy !== role)
      throw new Error(`schema ${role} exists and belongs to ${schemaOwnedBy}, not to role ${role}`);
    if (stored.rows.length === 0)
      await client.query(
        `INSERT INTO ${ADMIN_SCHEMA}.accounts (owner, role, password) VALUES ($1, $2, $3)`,
        [owner, role, password],
      );
    return { role, schema: role, password };
  });
}

/** Drops the owner's schema with everything in it, then its role, ending its sessions first. */
export async function dropAccount(admin: pg.Pool, owner: string): Promise<void> {
  const role = roleOf(owner);
  await inTransaction(admin, async (client) => {
    const roleExists = await existingRole(client, owner);
    if (roleExists)
      await client.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
        [role],
      );
    const schemaOwnedBy = await schemaOwner(client, role);
    if (schemaOwnedBy === role) await client.query(`DROP SCHEMA ${q(role)} CASCADE`);
    if (roleExists) {
      await client.query(`DROP OWNED BY ${q(role)}`);
      await client.query(`DROP ROLE ${q(role)}`);
    }
    await client.query(`DELETE FROM ${ADMIN_SCHEMA}.accounts WHERE owner = $1`, [owner]);
  });
}
