// Who may call a route: HS256 and JWKS-verified JWTs, API keys, route and scope limits, and the
// 401/403 refusals with the WWW-Authenticate challenge the gateway sends back.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it, mock } from "node:test";
import {
  decodeJwt,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import {
  Authenticator,
  type Access,
  type AuthOutcome,
  type CheckKey,
  type Identity,
  type PresentedKey,
} from "../../src/gateway/auth/authenticate.js";
import { LitefaasError, type ErrorCode } from "../../src/shared/errors.js";
import type { AuthConfig, AuthMethod, JwtConfig } from "../../src/shared/routes.js";

const PROJECT = "shop";
const ISSUER = "https://id.example.com";
const SECRET_ENV = "LITEFAAS_TEST_AUTHENTICATE_HS256_SECRET";
const SECRET = "an-hs256-secret-of-more-than-32-bytes-for-tests";
const OTHER_SECRET = "another-hs256-secret-of-more-than-32-bytes!!";

const encode = (text: string) => new TextEncoder().encode(text);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const nowSeconds = () => Math.floor(Date.now() / 1000);

const access = (options: Partial<Access> = {}): Access => ({
  project: PROJECT,
  routePath: "/orders",
  auth: undefined,
  scopes: undefined,
  ...options,
});

/** The identity an accepted request carries; fails the test on a refusal. */
function accepted(outcome: AuthOutcome): Identity {
  if (!outcome.ok)
    return assert.fail(
      `refused: ${outcome.error.code} ${outcome.error.message} (${outcome.challenge})`,
    );
  assert.ok(outcome.identity !== undefined, "an accepted request has an identity");
  return outcome.identity;
}

/** The challenge of a refusal, after checking its code and status; fails the test otherwise. */
function refused(outcome: AuthOutcome, code: ErrorCode, status: number): string {
  if (outcome.ok) return assert.fail(`accepted: ${JSON.stringify(outcome.identity)}`);
  assert.ok(outcome.error instanceof LitefaasError);
  assert.equal(outcome.error.code, code, outcome.error.message);
  assert.equal(outcome.error.status, status);
  return outcome.challenge;
}

/** A refusal of a bad token: 401 AUTH_INVALID, a Bearer challenge with error="invalid_token". */
function invalidToken(outcome: AuthOutcome): string {
  const challenge = refused(outcome, "AUTH_INVALID", 401);
  assert.ok(challenge.startsWith(`Bearer realm="${PROJECT}", `), challenge);
  assert.ok(challenge.includes('error="invalid_token"'), challenge);
  return challenge;
}

const noKeys: CheckKey = () => ({ ok: false, reason: "unknown" });

// ---------------------------------------------------------------------------------------------
// HS256

const hsConfig: JwtConfig = {
  issuer: ISSUER,
  audience: ["api"],
  jwksUrl: undefined,
  secretEnv: SECRET_ENV,
  algorithms: ["HS256"],
  clockSkewMs: 30_000,
};

const hsAuthenticator = () =>
  new Authenticator(new Map([[PROJECT, { default: ["jwt"], jwt: hsConfig }]]), noKeys);

/** A token the HS256 project accepts, unless the options say otherwise. */
async function hsToken(
  claims: JWTPayload = {},
  options: {
    secret?: string;
    issuer?: string;
    audience?: string;
    /** Seconds since the epoch. */
    exp?: number;
    iat?: number;
  } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject("user-42")
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? "api")
    .setIssuedAt(options.iat ?? nowSeconds())
    .setExpirationTime(options.exp ?? nowSeconds() + 300)
    .sign(encode(options.secret ?? SECRET));
}

void describe("authenticate: HS256 tokens", () => {
  before(() => {
    process.env[SECRET_ENV] = SECRET;
  });
  after(() => {
    delete process.env[SECRET_ENV];
  });

  void it("accepts a valid token: subject, scopes from the space-separated scope claim, claims", async () => {
    const token = await hsToken({ scope: "orders:read  orders:write", tenant: "acme" });
    const identity = accepted(
      await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined),
    );
    assert.deepEqual(identity, {
      type: "jwt",
      subject: "user-42",
      scopes: ["orders:read", "orders:write"],
      claims: decodeJwt(token),
    });
    assert.equal(identity.type === "jwt" ? identity.claims["tenant"] : undefined, "acme");
  });

  void it("takes scopes from an scp array too", async () => {
    const token = await hsToken({ scp: ["orders:read", "users:read"] });
    const identity = accepted(
      await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined),
    );
    assert.equal(identity.type, "jwt");
    assert.deepEqual(identity.scopes, ["orders:read", "users:read"]);
  });

  void it("asks for a token when there is no Authorization header: 401 AUTH_REQUIRED", async () => {
    const challenge = refused(
      await hsAuthenticator().authenticate(access(), undefined, undefined),
      "AUTH_REQUIRED",
      401,
    );
    assert.ok(challenge.startsWith(`Bearer realm="${PROJECT}"`), challenge);
    assert.ok(!challenge.includes("error="), challenge);
    assert.equal(challenge, `Bearer realm="${PROJECT}"`);
  });

  void it('refuses an alg "none" token', async () => {
    const now = nowSeconds();
    const token = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({
      sub: "admin",
      iss: ISSUER,
      aud: "api",
      iat: now,
      exp: now + 300,
      scope: "orders:write",
    })}.`;
    invalidToken(await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined));
  });

  void it("refuses a token signed with another secret", async () => {
    const token = await hsToken({}, { secret: OTHER_SECRET });
    invalidToken(await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined));
  });

  void it("refuses a token expired by more than the clock skew", async () => {
    const now = nowSeconds();
    const token = await hsToken({}, { iat: now - 600, exp: now - 60 });
    invalidToken(await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined));
  });

  void it("accepts a token expired by less than the clock skew", async () => {
    const now = nowSeconds();
    const token = await hsToken({}, { iat: now - 600, exp: now - 10 });
    const identity = accepted(
      await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined),
    );
    assert.equal(identity.type, "jwt");
    assert.equal(identity.type === "jwt" ? identity.subject : undefined, "user-42");
  });

  void it("refuses a token for another audience", async () => {
    const token = await hsToken({}, { audience: "billing" });
    invalidToken(await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined));
  });

  void it("refuses a token from another issuer", async () => {
    const token = await hsToken({}, { issuer: "https://evil.example.com" });
    invalidToken(await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined));
  });

  void it("refuses an RS256 token when only HS256 is accepted", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256" })
      .setSubject("user-42")
      .setIssuer(ISSUER)
      .setAudience("api")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    invalidToken(await hsAuthenticator().authenticate(access(), `Bearer ${token}`, undefined));
  });

  void it("refuses a token that is not a JWT", async () => {
    invalidToken(await hsAuthenticator().authenticate(access(), "Bearer abc", undefined));
  });

  void it("refuses a token lacking a scope the route requires: 403 insufficient_scope", async () => {
    const token = await hsToken({ scope: "orders:read" });
    const challenge = refused(
      await hsAuthenticator().authenticate(
        access({ scopes: ["orders:write"] }),
        `Bearer ${token}`,
        undefined,
      ),
      "FORBIDDEN",
      403,
    );
    assert.ok(challenge.includes('error="insufficient_scope"'), challenge);
    assert.ok(challenge.includes('scope="orders:write"'), challenge);
    assert.equal(
      challenge,
      `Bearer realm="${PROJECT}", error="insufficient_scope", scope="orders:write"`,
    );
  });

  void it("accepts a token carrying the scope the route requires", async () => {
    const token = await hsToken({ scope: "orders:read orders:write" });
    const identity = accepted(
      await hsAuthenticator().authenticate(
        access({ scopes: ["orders:write"] }),
        `Bearer ${token}`,
        undefined,
      ),
    );
    assert.equal(identity.type, "jwt");
    assert.deepEqual(identity.scopes, ["orders:read", "orders:write"]);
  });
});

// ---------------------------------------------------------------------------------------------
// JWKS

interface SigningKey {
  alg: "RS256" | "ES256" | "EdDSA";
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: SigningKey["alg"], kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { alg, kid, privateKey, jwk };
}

async function signedBy(key: SigningKey, claims: JWTPayload = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
    .setSubject(`user-of-${key.kid}`)
    .setIssuer(ISSUER)
    .setAudience("api")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(key.privateKey);
}

void describe("authenticate: tokens verified with a JWKS", () => {
  /** The key sets the server serves, by ?set=, and how often each was fetched. */
  const sets = new Map<string, JWK[]>();
  const fetches = new Map<string, number>();
  let server: Server;
  let base = "";
  let rsa: SigningKey;
  let ec: SigningKey;
  let ed: SigningKey;

  /** An Authenticator for a project whose keys are the set `name` (its own URL: no shared cache). */
  const jwksAuthenticator = (name: string) => {
    const jwt: JwtConfig = {
      issuer: ISSUER,
      audience: ["api"],
      jwksUrl: `${base}/jwks?set=${name}`,
      secretEnv: undefined,
      algorithms: ["RS256", "ES256", "EdDSA"],
      clockSkewMs: 30_000,
    };
    return new Authenticator(new Map([[PROJECT, { default: ["jwt"], jwt }]]), noKeys);
  };

  before(async () => {
    [rsa, ec, ed] = await Promise.all([
      signingKey("RS256", "rsa-1"),
      signingKey("ES256", "ec-1"),
      signingKey("EdDSA", "ed-1"),
    ]);
    server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const name = url.searchParams.get("set") ?? "";
      const keys = sets.get(name);
      if (url.pathname !== "/jwks" || keys === undefined) {
        res.writeHead(404).end();
        return;
      }
      fetches.set(name, (fetches.get(name) ?? 0) + 1);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  });

  for (const which of ["RS256", "ES256", "EdDSA"] as const) {
    void it(`verifies an ${which} token by its kid`, async () => {
      const key = which === "RS256" ? rsa : which === "ES256" ? ec : ed;
      const name = `alg-${which}`;
      sets.set(name, [rsa.jwk, ec.jwk, ed.jwk]);
      const token = await signedBy(key, { scope: "orders:read" });
      const identity = accepted(
        await jwksAuthenticator(name).authenticate(access(), `Bearer ${token}`, undefined),
      );
      assert.deepEqual(identity, {
        type: "jwt",
        subject: `user-of-${key.kid}`,
        scopes: ["orders:read"],
        claims: decodeJwt(token),
      });
      assert.equal(fetches.get(name), 1);
    });
  }

  void it("fetches the keys again for a new kid, at most once per 5 s cooldown", async () => {
    const name = "rotation";
    const authenticator = jwksAuthenticator(name);
    const old = await signingKey("RS256", "rotation-old");
    const rotated = await signingKey("ES256", "rotation-new");
    sets.set(name, [old.jwk]);
    // the clock stands still until told, so "within the cooldown" holds however slow the machine
    mock.timers.enable({ apis: ["Date"], now: Date.now() });
    try {
      const first = await signedBy(old);
      accepted(await authenticator.authenticate(access(), `Bearer ${first}`, undefined));
      assert.equal(fetches.get(name), 1);

      // the issuer rotates: it now serves the new key (and still the old one)
      sets.set(name, [old.jwk, rotated.jwk]);
      const token = await signedBy(rotated);

      // within the cooldown an unknown kid does not make it fetch (nor can a stream of made-up
      // kids make it hammer the issuer): the token is refused
      const challenge = invalidToken(
        await authenticator.authenticate(access(), `Bearer ${token}`, undefined),
      );
      assert.ok(challenge.includes("kid"), challenge);
      assert.equal(fetches.get(name), 1, "no refetch during the cooldown");

      // after it, the unknown kid makes it fetch again and the token verifies
      mock.timers.tick(6_000);
      const identity = accepted(
        await authenticator.authenticate(access(), `Bearer ${token}`, undefined),
      );
      assert.equal(identity.type === "jwt" ? identity.subject : undefined, "user-of-rotation-new");
      assert.equal(fetches.get(name), 2);
    } finally {
      mock.timers.reset();
    }
  });

  void it("refuses a token whose kid is in no JWKS", async () => {
    const name = "unknown-kid";
    sets.set(name, [rsa.jwk, ec.jwk, ed.jwk]);
    const stranger = await signingKey("RS256", "nobody-knows-me");
    const token = await signedBy(stranger);
    const challenge = invalidToken(
      await jwksAuthenticator(name).authenticate(access(), `Bearer ${token}`, undefined),
    );
    assert.ok(challenge.includes("kid"), challenge);
    assert.equal(fetches.get(name), 1);
  });

  void it("refuses a token whose kid is known but signed by another key", async () => {
    const name = "impostor";
    sets.set(name, [rsa.jwk]);
    const impostor = await signingKey("RS256", rsa.kid);
    const token = await signedBy(impostor);
    invalidToken(
      await jwksAuthenticator(name).authenticate(access(), `Bearer ${token}`, undefined),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// API keys

const KEYS: Record<string, PresentedKey> = {
  lfk_shop_ci: {
    id: "key-ci",
    project: PROJECT,
    name: "ci",
    routes: undefined,
    scopes: ["orders:read"],
  },
  lfk_warehouse: {
    id: "key-wh",
    project: "warehouse",
    name: "warehouse sync",
    routes: undefined,
    scopes: [],
  },
  lfk_orders_only: {
    id: "key-orders",
    project: PROJECT,
    name: "orders bot",
    routes: ["/orders"],
    scopes: [],
  },
};

const checkKey: CheckKey = (presented) => {
  const key = Object.hasOwn(KEYS, presented) ? KEYS[presented] : undefined;
  return key === undefined ? { ok: false, reason: "unknown" } : { ok: true, key };
};

const keyAuthenticator = (projectDefault: AuthMethod[] = ["api-key"]) => {
  const projects = new Map<string, AuthConfig>([
    [PROJECT, { default: projectDefault, jwt: hsConfig }],
  ]);
  return new Authenticator(projects, checkKey);
};

const ciIdentity: Identity = {
  type: "api-key",
  keyId: "key-ci",
  name: "ci",
  scopes: ["orders:read"],
};

void describe("authenticate: API keys", () => {
  void it("accepts a key sent as X-Api-Key", async () => {
    const identity = accepted(
      await keyAuthenticator().authenticate(access(), undefined, "lfk_shop_ci"),
    );
    assert.deepEqual(identity, ciIdentity);
  });

  void it("accepts a key sent as Authorization: Bearer lfk_…", async () => {
    const identity = accepted(
      await keyAuthenticator().authenticate(access(), "Bearer lfk_shop_ci", undefined),
    );
    assert.deepEqual(identity, ciIdentity);
  });

  void it("refuses a key of another project: 401 AUTH_INVALID", async () => {
    const challenge = refused(
      await keyAuthenticator().authenticate(access(), undefined, "lfk_warehouse"),
      "AUTH_INVALID",
      401,
    );
    assert.equal(challenge, `ApiKey realm="${PROJECT}", error="invalid_token"`);
  });

  void it("refuses an unknown key: 401 AUTH_INVALID", async () => {
    const challenge = refused(
      await keyAuthenticator().authenticate(access(), "Bearer lfk_not_a_key", undefined),
      "AUTH_INVALID",
      401,
    );
    assert.equal(challenge, `ApiKey realm="${PROJECT}", error="invalid_token"`);
  });

  void it("asks for a key when none is sent: 401 AUTH_REQUIRED", async () => {
    const challenge = refused(
      await keyAuthenticator().authenticate(access(), undefined, undefined),
      "AUTH_REQUIRED",
      401,
    );
    assert.equal(challenge, `ApiKey realm="${PROJECT}"`);
  });

  void it("refuses a key limited to /orders on another route: 403 FORBIDDEN", async () => {
    const challenge = refused(
      await keyAuthenticator().authenticate(
        access({ routePath: "/users/:id" }),
        undefined,
        "lfk_orders_only",
      ),
      "FORBIDDEN",
      403,
    );
    assert.equal(challenge, `ApiKey realm="${PROJECT}", error="insufficient_scope"`);
  });

  void it("refuses a key limited to /orders on an /fn/ URL (no route path): 403 FORBIDDEN", async () => {
    const challenge = refused(
      await keyAuthenticator().authenticate(
        access({ routePath: undefined }),
        undefined,
        "lfk_orders_only",
      ),
      "FORBIDDEN",
      403,
    );
    assert.ok(challenge.includes('error="insufficient_scope"'), challenge);
  });

  void it("accepts a key limited to /orders on /orders", async () => {
    const identity = accepted(
      await keyAuthenticator().authenticate(
        access({ routePath: "/orders" }),
        undefined,
        "lfk_orders_only",
      ),
    );
    assert.deepEqual(identity, {
      type: "api-key",
      keyId: "key-orders",
      name: "orders bot",
      scopes: [],
    });
  });

  void it("refuses a key lacking a scope the route requires: 403 insufficient_scope", async () => {
    const challenge = refused(
      await keyAuthenticator().authenticate(
        access({ scopes: ["orders:write"] }),
        undefined,
        "lfk_shop_ci",
      ),
      "FORBIDDEN",
      403,
    );
    assert.equal(
      challenge,
      `ApiKey realm="${PROJECT}", error="insufficient_scope", scope="orders:write"`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// What a route requires

void describe("authenticate: required methods", () => {
  const authenticator = keyAuthenticator(["jwt"]);

  void it("lets anyone call a route whose auth is []", () => {
    assert.deepEqual(authenticator.required(access({ auth: [] })), []);
  });

  void it("falls back to the project's default when the route says nothing", () => {
    assert.deepEqual(authenticator.required(access({ auth: undefined })), ["jwt"]);
  });

  void it("uses the route's own methods over the project's default", () => {
    assert.deepEqual(authenticator.required(access({ auth: ["api-key"] })), ["api-key"]);
  });

  void it("requires nothing for an unknown project", () => {
    assert.deepEqual(authenticator.required(access({ project: "nobody", auth: undefined })), []);
  });
});

void describe("authenticate: a route taking an API key or a JWT", () => {
  const either = access({ auth: ["api-key", "jwt"] });

  before(() => {
    process.env[SECRET_ENV] = SECRET;
  });
  after(() => {
    delete process.env[SECRET_ENV];
  });

  void it("accepts a Bearer JWT", async () => {
    const token = await hsToken({ scope: "orders:read" });
    const identity = accepted(
      await keyAuthenticator().authenticate(either, `Bearer ${token}`, undefined),
    );
    assert.deepEqual(identity, {
      type: "jwt",
      subject: "user-42",
      scopes: ["orders:read"],
      claims: decodeJwt(token),
    });
  });

  void it("accepts a Bearer lfk_ key", async () => {
    const identity = accepted(
      await keyAuthenticator().authenticate(either, "Bearer lfk_shop_ci", undefined),
    );
    assert.deepEqual(identity, ciIdentity);
  });

  void it("challenges with both schemes when neither is sent", async () => {
    const challenge = refused(
      await keyAuthenticator().authenticate(either, undefined, undefined),
      "AUTH_REQUIRED",
      401,
    );
    assert.ok(challenge.includes(`Bearer realm="${PROJECT}"`), challenge);
    assert.ok(challenge.includes(`ApiKey realm="${PROJECT}"`), challenge);
    assert.ok(!challenge.includes("error="), challenge);
  });
});

void describe("authenticate: verified tokens kept", () => {
  before(() => {
    process.env[SECRET_ENV] = SECRET;
  });
  after(() => {
    delete process.env[SECRET_ENV];
  });
  void it("checks exp again on every use of a token it verified before", async () => {
    const authenticator = hsAuthenticator();
    mock.timers.enable({ apis: ["Date"], now: Date.now() });
    try {
      const token = await hsToken({}, { exp: nowSeconds() + 5 });
      accepted(await authenticator.authenticate(access(), `Bearer ${token}`, undefined));
      // past exp and the 30 s skew: the kept verification does not carry it through
      mock.timers.tick(40_000);
      invalidToken(await authenticator.authenticate(access(), `Bearer ${token}`, undefined));
    } finally {
      mock.timers.reset();
    }
  });

  void it("gives the same identity for the same token, and keeps another token apart", async () => {
    const authenticator = hsAuthenticator();
    const token = await hsToken({ scope: "a" });
    const first = accepted(
      await authenticator.authenticate(access(), `Bearer ${token}`, undefined),
    );
    const again = accepted(
      await authenticator.authenticate(access(), `Bearer ${token}`, undefined),
    );
    assert.equal(again, first);
    const other = accepted(
      await authenticator.authenticate(
        access(),
        `Bearer ${await hsToken({ scope: "b" })}`,
        undefined,
      ),
    );
    assert.deepEqual(other.scopes, ["b"]);
  });
});
