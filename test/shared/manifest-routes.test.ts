// The manifest's routes: normalized as the router and deployer expect them, and every mistake
// reported with where it is and how to fix it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManifestProblem } from "../../src/shared/manifest/types.js";
import { validateManifest } from "../../src/shared/manifest/validate.js";
import type { RouteConfig } from "../../src/shared/routes.js";

const FILE = "litefaas.yaml";
const withRoutes = (routes?: unknown[]) => ({
  project: "shop",
  functions: { users: { main: "users.ts" }, orders: { main: "orders.ts" } },
  ...(routes === undefined ? {} : { routes }),
});

function routes(data: unknown): RouteConfig[] {
  const result = validateManifest(data, FILE);
  if ("problems" in result) return assert.fail(JSON.stringify(result.problems));
  return result.manifest.routes;
}

/** The only problem the manifest has; fails the test when it has none or several. */
function problem(data: unknown): ManifestProblem {
  const result = validateManifest(data, FILE);
  if (!("problems" in result)) return assert.fail("the manifest was accepted");
  assert.equal(result.problems.length, 1, JSON.stringify(result.problems));
  const [only] = result.problems;
  assert.equal(only?.file, FILE);
  return only ?? assert.fail();
}

void describe("manifest: routes", () => {
  void it("normalizes methods to sorted upper-case lists and hosts to lower case", () => {
    assert.deepEqual(
      routes(
        withRoutes([
          { path: "/users/:id", function: "users", method: "get" },
          { path: "/orders", function: "orders", method: ["POST", "GET", "GET"] },
          { path: "/orders/:id", function: "orders", method: "ANY", host: "API.Example.com" },
          { path: "/files/*", function: "users", host: "*.Example.com" },
        ]),
      ),
      [
        { methods: ["GET"], host: undefined, path: "/users/:id", function: "users" },
        { methods: ["GET", "POST"], host: undefined, path: "/orders", function: "orders" },
        { methods: undefined, host: "api.example.com", path: "/orders/:id", function: "orders" },
        { methods: undefined, host: "*.example.com", path: "/files/*", function: "users" },
      ],
    );
  });

  void it("treats ANY among other methods as any method", () => {
    assert.deepEqual(
      routes(withRoutes([{ path: "/x", function: "users", method: ["get", "any"] }]))[0]?.methods,
      undefined,
    );
  });

  void it("gives a manifest without routes an empty list", () => {
    assert.deepEqual(routes(withRoutes()), []);
    assert.deepEqual(routes(withRoutes([])), []);
  });

  void it("accepts one path shape for disjoint methods", () => {
    assert.deepEqual(
      routes(
        withRoutes([
          { path: "/users/:id", function: "users", method: "GET" },
          { path: "/users/:name", function: "orders", method: ["PUT", "DELETE"] },
        ]),
      ).map((r) => r.methods),
      [["GET"], ["DELETE", "PUT"]],
    );
  });

  void it("accepts one path shape on different hosts", () => {
    assert.equal(
      routes(
        withRoutes([
          { path: "/users/:id", function: "users" },
          { path: "/users/:id", function: "orders", host: "api.example.com" },
        ]),
      ).length,
      2,
    );
  });

  void it("refuses two routes answering the same requests, naming both", () => {
    const found = problem(
      withRoutes([
        { path: "/orders", function: "orders" },
        { path: "/users/:id", function: "users", method: ["GET", "PUT"] },
        { path: "/users/:name/", function: "orders", method: "put" },
      ]),
    );
    assert.equal(found.path, "routes.2");
    assert.match(found.problem, /PUT \/users\/:name\/ answers the same requests/);
    assert.match(found.problem, /routes\.1 \(GET,PUT \/users\/:id\)/);
    assert.match(found.fix, /different methods, hosts or literal path segments/);
  });

  void it("refuses an ANY route beside a route of the same path shape", () => {
    const found = problem(
      withRoutes([
        { path: "/users/:id", function: "users", method: "DELETE" },
        { path: "/users/:id", function: "orders" },
      ]),
    );
    assert.equal(found.path, "routes.1");
    assert.match(found.problem, /ANY \/users\/:id answers the same requests as routes\.0/);
  });

  void it("refuses a path the platform serves itself", () => {
    const found = problem(withRoutes([{ path: "/admin/users", function: "users" }]));
    assert.equal(found.path, "routes.0.path");
    assert.match(found.problem, /"\/admin\/users": .*platform's own paths/);
    assert.match(found.fix, /\/users\/:id/);
  });

  void it("refuses a function the manifest does not declare, listing those it does", () => {
    const found = problem(withRoutes([{ path: "/carts", function: "carts" }]));
    assert.equal(found.path, "routes.0.function");
    assert.match(found.problem, /no function "carts"/);
    assert.match(found.fix, /users, orders/);
  });

  void it("refuses a function name that is only a property every object has", () => {
    const found = problem(withRoutes([{ path: "/x", function: "constructor" }]));
    assert.equal(found.path, "routes.0.function");
    assert.match(found.problem, /no function "constructor"/);
  });

  void it("refuses an unknown method, naming it", () => {
    const found = problem(
      withRoutes([{ path: "/users", function: "users", method: ["GET", "FETCH"] }]),
    );
    assert.equal(found.path, "routes.0.method");
    assert.match(found.problem, /unknown method FETCH/);
    assert.match(found.fix, /GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS/);
  });

  void it("refuses an empty method list", () => {
    const found = problem(withRoutes([{ path: "/users", function: "users", method: [] }]));
    assert.equal(found.path, "routes.0.method");
    assert.match(found.problem, /no method listed/);
  });

  void it("refuses a wildcard before the end of the path", () => {
    const found = problem(withRoutes([{ path: "/files/*/meta", function: "users" }]));
    assert.equal(found.path, "routes.0.path");
    assert.match(found.problem, /"\*": a wildcard comes last/);
  });

  void it("keeps a route's timeout in ms and refuses one that is not a duration", () => {
    const [route] = routes(withRoutes([{ path: "/s", function: "users", timeout: "2.5s" }]));
    assert.equal(route?.timeoutMs, 2500);
    const found = problem(withRoutes([{ path: "/s", function: "users", timeout: "soon" }]));
    assert.equal(found.path, "routes.0.timeout");
    assert.match(found.fix, /5s/);
    const long = problem(withRoutes([{ path: "/s", function: "users", timeout: "20m" }]));
    assert.match(long.problem, /1ms to 15m/);
  });

  void it("refuses a host with a port", () => {
    const found = problem(
      withRoutes([{ path: "/x", function: "users", host: "api.example.com:80" }]),
    );
    assert.equal(found.path, "routes.0.host");
    assert.match(found.problem, /"api\.example\.com:80" is not a host name/);
    assert.match(found.fix, /\*\.example\.com/);
  });

  void it("refuses an unknown field, listing the allowed ones", () => {
    const found = problem(withRoutes([{ path: "/x", function: "users", verb: "GET" }]));
    assert.equal(found.path, "routes.0.verb");
    assert.match(found.problem, /unknown field "verb"/);
    assert.match(found.fix, /path, function, method, host/);
  });

  void it("refuses a route without a function", () => {
    const found = problem(withRoutes([{ path: "/users", function: "users" }, { path: "/x" }]));
    assert.equal(found.path, "routes.1");
    assert.match(found.problem, /missing required field "function"/);
  });

  void it("reports every faulty route, each at its own path", () => {
    const result = validateManifest(
      withRoutes([
        { path: "users", function: "users" },
        { path: "/ok", function: "users" },
        { path: "/orders", function: "nope", method: "GRAB" },
      ]),
      FILE,
    );
    assert.ok("problems" in result);
    assert.deepEqual(
      result.problems.map((p) => p.path),
      ["routes.0.path", "routes.2.function", "routes.2.method"],
    );
  });
});

void describe("manifest: rate limits", () => {
  const limited = (rateLimits: unknown, rateLimit: unknown = "steady") =>
    withRoutes([{ path: "/a", function: "users", rateLimit }]) as Record<string, unknown> & {
      rateLimits?: unknown;
    };

  void it("normalizes rates to per second, with the burst defaulting to the rate's count", () => {
    const data = {
      ...limited({}),
      rateLimits: { steady: { rate: "120/m" }, daily: { quota: "500/day", by: "ip" } },
    };
    const result = validateManifest(data, FILE);
    if ("problems" in result) return assert.fail(JSON.stringify(result.problems));
    assert.deepEqual(result.manifest.rateLimits, [
      { kind: "rate", key: "shop/steady", name: "steady", rate: 2, burst: 120, by: "caller" },
      {
        kind: "quota",
        key: "shop/daily",
        name: "daily",
        limit: 500,
        periodMs: 86_400_000,
        by: "ip",
      },
    ]);
    assert.deepEqual(result.manifest.routes[0]?.rateLimits, ["steady"]);
  });

  void it("refuses a route naming a limit the manifest does not declare", () => {
    const found = problem({ ...limited({}), rateLimits: { other: { rate: "1/s" } } });
    assert.equal(found.path, "routes.0.rateLimit");
    assert.match(found.problem, /no rate limit "steady"/);
    assert.match(found.fix, /other/);
  });

  void it("refuses a limit with both or neither of rate and quota, and a quota with a burst", () => {
    for (const spec of [{}, { rate: "1/s", quota: "5/day" }]) {
      const found = problem({ ...limited({}), rateLimits: { steady: spec } });
      assert.equal(found.path, "rateLimits.steady");
      assert.match(found.problem, /exactly one of rate and quota/);
    }
    const burst = problem({ ...limited({}), rateLimits: { steady: { quota: "5/day", burst: 2 } } });
    assert.equal(burst.path, "rateLimits.steady.burst");
  });

  void it("refuses a rate written another way", () => {
    const found = problem({ ...limited({}), rateLimits: { steady: { rate: "10 per second" } } });
    assert.equal(found.path, "rateLimits.steady.rate");
  });
});

void describe("manifest: cors", () => {
  const withCors = (cors: unknown) => withRoutes([{ path: "/a", function: "users", cors }]);

  void it("makes cors: true any origin without credentials, and normalizes a full spec", () => {
    assert.deepEqual(routes(withCors(true))[0]?.cors, {
      origins: "*",
      methods: undefined,
      headers: undefined,
      exposeHeaders: [],
      credentials: false,
      maxAgeSeconds: 5,
    });
    assert.deepEqual(
      routes(
        withCors({
          origins: ["https://App.example.com", "https://*.example.org:8443"],
          methods: ["get", "POST"],
          headers: ["Content-Type"],
          credentials: true,
          maxAge: "10m",
        }),
      )[0]?.cors,
      {
        origins: ["https://app.example.com", "https://*.example.org:8443"],
        methods: ["GET", "POST"],
        headers: ["content-type"],
        exposeHeaders: [],
        credentials: true,
        maxAgeSeconds: 600,
      },
    );
    assert.equal(routes(withCors(false))[0]?.cors, undefined);
  });

  void it("refuses credentials for any origin", () => {
    const found = problem(withCors({ credentials: true }));
    assert.equal(found.path, "routes.0.cors.credentials");
    assert.match(found.problem, /browsers refuse it/);
  });

  void it("refuses an origin with a path, and a header name with a space", () => {
    assert.equal(
      problem(withCors({ origins: ["https://app.example.com/x"] })).path,
      "routes.0.cors.origins",
    );
    assert.match(
      problem(withCors({ headers: ["x custom"] })).problem,
      /not a header name: x custom/,
    );
  });
});
