// The manifest's auth section and routes' auth and scopes: what is accepted, normalized, and
// every way it is refused, each naming where and how to fix it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateManifest } from "../../src/shared/manifest/validate.js";
import type { Manifest, ManifestProblem } from "../../src/shared/manifest/types.js";

const FILE = "litefaas.yaml";
const base = (extra: Record<string, unknown>) => ({
  project: "shop",
  functions: { api: { main: "api.ts" } },
  ...extra,
});

function accepted(data: unknown): Manifest {
  const result = validateManifest(data, FILE);
  if ("problems" in result) return assert.fail(JSON.stringify(result.problems));
  return result.manifest;
}

function problems(data: unknown): ManifestProblem[] {
  const result = validateManifest(data, FILE);
  if (!("problems" in result)) return assert.fail("the manifest was accepted");
  return result.problems;
}

void describe("manifest: auth", () => {
  void it("normalizes the default, the JWT settings and routes' auth and scopes", () => {
    const manifest = accepted(
      base({
        auth: {
          default: "API-Key",
          jwt: { jwksUrl: "https://id.example.com/jwks.json", audience: "api", clockSkew: "5s" },
        },
        routes: [
          { path: "/a", function: "api", auth: "none" },
          { path: "/b", function: "api", auth: ["jwt", "api-key"], scopes: ["orders:write"] },
          { path: "/c", function: "api" },
        ],
      }),
    );
    assert.deepEqual(manifest.auth, {
      default: ["api-key"],
      jwt: {
        issuer: undefined,
        audience: ["api"],
        jwksUrl: "https://id.example.com/jwks.json",
        secretEnv: undefined,
        algorithms: ["RS256", "ES256", "EdDSA"],
        clockSkewMs: 5000,
      },
    });
    assert.deepEqual(
      manifest.routes.map((r) => [r.path, r.auth, r.scopes]),
      [
        ["/a", [], undefined],
        ["/b", ["api-key", "jwt"], ["orders:write"]],
        ["/c", undefined, undefined],
      ],
    );
  });

  void it("defaults to HS256 with a secret, and leaves auth undefined when the manifest has none", () => {
    const withSecret = accepted(base({ auth: { jwt: { secretEnv: "JWT_SECRET" } } }));
    assert.deepEqual(withSecret.auth?.jwt?.algorithms, ["HS256"]);
    assert.deepEqual(withSecret.auth?.default, []);
    assert.equal(accepted(base({})).auth, undefined);
  });

  void it("refuses routes asking for JWTs when nothing says how to verify them", () => {
    const [p] = problems(base({ routes: [{ path: "/a", function: "api", auth: "jwt" }] }));
    assert.equal(p?.path, "auth.jwt");
    assert.match(p?.fix ?? "", /jwksUrl .* or secretEnv/);
  });

  void it("refuses both or neither of jwksUrl and secretEnv", () => {
    for (const jwt of [{}, { jwksUrl: "https://x.example/jwks", secretEnv: "S" }]) {
      const [p] = problems(base({ auth: { jwt } }));
      assert.equal(p?.path, "auth.jwt");
      assert.match(p?.problem ?? "", /exactly one of jwksUrl and secretEnv/);
    }
  });

  void it("refuses a JWKS fetched over plain http from another machine, not from this one", () => {
    const [p] = problems(base({ auth: { jwt: { jwksUrl: "http://id.example.com/jwks" } } }));
    assert.equal(p?.path, "auth.jwt.jwksUrl");
    assert.match(p?.problem ?? "", /https/);
    accepted(base({ auth: { jwt: { jwksUrl: "http://127.0.0.1:9000/jwks" } } }));
  });

  void it("refuses algorithms it does not verify, and asymmetric ones with a shared secret", () => {
    const [unknown] = problems(base({ auth: { jwt: { secretEnv: "S", algorithms: ["none"] } } }));
    assert.equal(unknown?.path, "auth.jwt.algorithms");
    assert.match(unknown?.problem ?? "", /unsupported algorithm none/);
    const [mixed] = problems(base({ auth: { jwt: { secretEnv: "S", algorithms: ["RS256"] } } }));
    assert.match(mixed?.problem ?? "", /HS256 only/);
  });

  void it("refuses unknown methods, and none beside another", () => {
    const found = problems(
      base({
        auth: { default: "password" },
        routes: [{ path: "/a", function: "api", auth: ["none", "api-key"] }],
      }),
    );
    assert.deepEqual(found.map((p) => p.path).sort(), ["auth.default", "routes.0.auth"]);
    assert.ok(found.some((p) => /unknown authentication password/.test(p.problem)));
    assert.ok(found.some((p) => /none cannot be listed with other methods/.test(p.problem)));
  });
});
