// Authentication at the gateway, through a real `litefaas up`: API keys (created, shown once,
// stored hashed, scoped, expiring, revoked) and HS256 JWTs, per route and as the project's
// default for /fn/ URLs. A refused request never reaches the function.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm, writeFile, cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import { eventually } from "../kit/eventually.js";
import { errorCode, FIXTURES, startPlatform, type Platform } from "../kit/platform.js";

const SECRET = randomBytes(32).toString("base64url");
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

interface Answer {
  calls: number;
  auth: Record<string, unknown> | null;
}

async function token(
  claims: Record<string, unknown>,
  options: { exp?: number; aud?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("https://issuer.test/")
    .setAudience(options.aud ?? "guarded-api")
    .setIssuedAt()
    .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(new TextEncoder().encode(SECRET));
}

/** Every file under dir, as bytes. */
async function filesUnder(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name)));
  }
  return out;
}

describe("authentication", () => {
  let platform: Platform;
  const made: string[] = [];
  const createKey = async (project: string, ...flags: string[]) => {
    const created = await platform.cli(["keys", "create", project, ...flags, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    return JSON.parse(created.stdout) as { id: string; key: string; name: string };
  };
  const calls = async () =>
    (await json<{ calls: number }>(await platform.fetch("/public/calls"))).calls;

  before(async () => {
    process.env["LITEFAAS_TEST_JWT_SECRET"] = SECRET;
    platform = await startPlatform();
    const deployed = await platform.deploy("auth");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    await platform.dispose();
    for (const dir of made) await rm(dir, { recursive: true, force: true });
  });

  it("lets anyone call a route with auth: none, and drops a client's forged identity", async () => {
    const answer = await json<Answer>(
      await platform.fetch("/public/x", {
        headers: { "x-litefaas-auth": '{"type":"api-key","keyId":"admin"}' },
      }),
    );
    assert.equal(answer.auth, null);
  });

  it("refuses a request without a key with 401 and WWW-Authenticate, never invoking the function", async () => {
    const before = await calls();
    const res = await platform.fetch("/keyed");
    assert.equal(res.status, 401);
    assert.equal(await errorCode(res), "AUTH_REQUIRED");
    assert.equal(res.headers.get("www-authenticate"), 'ApiKey realm="guarded"');
    // the project's default holds for its /fn/ URLs too: no way around the routes
    const direct = await platform.fetch("/fn/guarded/whoami/");
    assert.equal(direct.status, 401);
    assert.equal(await calls(), before);
  });

  it("answers a CORS preflight without a key, and lets the page read a 401", async () => {
    const preflight = await platform.fetch("/cors-keyed", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "GET",
        "access-control-request-headers": "x-api-key",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.equal(preflight.headers.get("access-control-allow-headers"), "x-api-key");
    const refused = await platform.fetch("/cors-keyed", {
      headers: { origin: "https://app.example.com" },
    });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("access-control-allow-origin"), "https://app.example.com");
  });

  it("creates a key shown once, lists it without the secret, and keeps only its hash", async () => {
    const { id, key } = await createKey("guarded", "--name", "ci");
    assert.match(key, /^lfk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const listed = await platform.cli(["keys", "ls", "guarded", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const { keys } = JSON.parse(listed.stdout) as { keys: Array<Record<string, unknown>> };
    const mine = keys.find((k) => k["id"] === id);
    assert.equal(mine?.["name"], "ci");
    assert.doesNotMatch(listed.stdout, new RegExp(key.slice(-43)));
    assert.equal(mine?.["hash"], undefined);
    const secret = Buffer.from(key.slice(-43));
    for (const bytes of await filesUnder(platform.dataDir)) {
      assert.equal(bytes.includes(secret), false, "the secret is stored nowhere");
    }
    const both: Array<Record<string, string>> = [
      { "x-api-key": key },
      { authorization: `Bearer ${key}` },
    ];
    for (const headers of both) {
      const answer = await json<Answer>(await platform.fetch("/keyed", { headers }));
      assert.deepEqual(answer.auth, { type: "api-key", keyId: id, name: "ci", scopes: [] });
    }
    const direct = await platform.fetch("/fn/guarded/whoami/", { headers: { "x-api-key": key } });
    assert.equal(direct.status, 200);
  });

  it("refuses a revoked key, a key of another project and a made-up one", async () => {
    const { id, key } = await createKey("guarded");
    assert.equal((await platform.fetch("/keyed", { headers: { "x-api-key": key } })).status, 200);
    const revoked = await platform.cli(["keys", "revoke", "guarded", id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const other = await createKey("elsewhere");
    const forged = `lfk_${id}_${randomBytes(32).toString("base64url")}`;
    const before = await calls();
    for (const presented of [key, other.key, forged, "lfk_nonsense"]) {
      const res = await platform.fetch("/keyed", { headers: { "x-api-key": presented } });
      assert.equal(res.status, 401, presented);
      assert.equal(await errorCode(res), "AUTH_INVALID");
      assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    }
    assert.equal(await calls(), before);
  });

  it("keeps a key to the routes it was made for: 403 elsewhere", async () => {
    const { key } = await createKey("guarded", "--routes", "/keyed");
    assert.equal((await platform.fetch("/keyed", { headers: { "x-api-key": key } })).status, 200);
    for (const path of ["/either", "/fn/guarded/whoami/"]) {
      const res = await platform.fetch(path, { headers: { "x-api-key": key } });
      assert.equal(res.status, 403, path);
      assert.equal(await errorCode(res), "FORBIDDEN");
    }
  });

  it("stops taking a key once it expires", async () => {
    const { key } = await createKey("guarded", "--expires", "3s");
    assert.equal((await platform.fetch("/keyed", { headers: { "x-api-key": key } })).status, 200);
    await eventually("the key to expire", async () => {
      const res = await platform.fetch("/keyed", { headers: { "x-api-key": key } });
      return res.status === 401 && (await errorCode(res)) === "AUTH_INVALID";
    });
  });

  it("takes a JWT with the route's scope, and gives the function its claims", async () => {
    const good = await token({ sub: "user-7", scope: "orders:read orders:write" });
    const answer = await json<Answer>(
      await platform.fetch("/orders", {
        method: "POST",
        headers: { authorization: `Bearer ${good}` },
      }),
    );
    assert.equal(answer.auth?.["type"], "jwt");
    assert.equal(answer.auth?.["subject"], "user-7");
    assert.deepEqual(answer.auth?.["scopes"], ["orders:read", "orders:write"]);
    assert.equal(
      (answer.auth?.["claims"] as Record<string, unknown>)["iss"],
      "https://issuer.test/",
    );
  });

  it("answers 403 insufficient_scope for a valid token without the scope", async () => {
    const before = await calls();
    const res = await platform.fetch("/orders", {
      method: "POST",
      headers: { authorization: `Bearer ${await token({ sub: "u", scope: "orders:read" })}` },
    });
    assert.equal(res.status, 403);
    assert.equal(await errorCode(res), "FORBIDDEN");
    assert.match(
      res.headers.get("www-authenticate") ?? "",
      /error="insufficient_scope", scope="orders:write"/,
    );
    assert.equal(await calls(), before);
  });

  it("refuses expired, wrong-audience and unsigned tokens with 401", async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "x", scope: "orders:write", iss: "https://issuer.test/", aud: "guarded-api", exp: Math.floor(Date.now() / 1000) + 300 })}.`;
    const cases = {
      expired: await token(
        { sub: "u", scope: "orders:write" },
        { exp: Math.floor(Date.now() / 1000) - 600 },
      ),
      audience: await token({ sub: "u", scope: "orders:write" }, { aud: "another-api" }),
      unsigned,
    };
    for (const [what, jwt] of Object.entries(cases)) {
      const res = await platform.fetch("/orders", {
        method: "POST",
        headers: { authorization: `Bearer ${jwt}` },
      });
      assert.equal(res.status, 401, what);
      assert.equal(await errorCode(res), "AUTH_INVALID", what);
      assert.match(
        res.headers.get("www-authenticate") ?? "",
        /^Bearer realm="guarded", error="invalid_token"/,
        what,
      );
    }
  });

  it("takes either a key or a token where a route lists both", async () => {
    const { key } = await createKey("guarded");
    const jwt = await token({ sub: "both" });
    const credentials: Array<Record<string, string>> = [
      { "x-api-key": key },
      { authorization: `Bearer ${jwt}` },
      { authorization: `Bearer ${key}` },
    ];
    for (const headers of credentials) {
      assert.equal((await platform.fetch("/either", { headers })).status, 200);
    }
    const res = await platform.fetch("/either");
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get("www-authenticate"),
      'ApiKey realm="guarded", Bearer realm="guarded"',
    );
  });

  it("gives a Lambda handler the claims as API Gateway's JWT authorizer does", async () => {
    const jwt = await token({ sub: "lambda-user", scope: "a b" });
    const answer = await json<{
      authorizer: { jwt: { claims: Record<string, unknown>; scopes: string[] } };
    }>(await platform.fetch("/lambda", { headers: { authorization: `Bearer ${jwt}` } }));
    assert.equal(answer.authorizer.jwt.claims["sub"], "lambda-user");
    assert.deepEqual(answer.authorizer.jwt.scopes, ["a", "b"]);
  });

  it("refuses a deploy whose HS256 secret the platform does not have", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-auth-"));
    made.push(dir);
    await cp(join(FIXTURES, "auth"), dir, { recursive: true });
    const file = join(dir, "litefaas.yaml");
    await writeFile(
      file,
      (await readFile(file, "utf8"))
        .replace("project: guarded", "project: guarded-two")
        .replace("LITEFAAS_TEST_JWT_SECRET", "LITEFAAS_TEST_NOT_SET")
        .replace(/routes:[\s\S]*$/, ""),
    );
    const deployed = await platform.cli(["deploy", dir]);
    assert.notEqual(deployed.code, 0);
    assert.match(deployed.stderr, /INVALID_MANIFEST/);
    assert.match(deployed.stderr, /no LITEFAAS_TEST_NOT_SET/);
  });
});
