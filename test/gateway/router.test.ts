// The route table: which route answers a method, host and path, with which parameters, and the
// path and host patterns it is built from.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Router, type ProjectRoute, type RouteMatch } from "../../src/gateway/router.js";
import {
  findTie,
  parseHost,
  parsePath,
  routeIdentity,
  type RouteConfig,
} from "../../src/shared/routes.js";

const route = (
  path: string,
  fn: string,
  options: { methods?: string[]; host?: string; project?: string } = {},
): ProjectRoute => ({
  project: options.project ?? "shop",
  methods: options.methods,
  host: options.host,
  path,
  function: fn,
});

/** The route a request goes to; fails the test when it gets a 405 or nothing. */
function routed(
  router: Router,
  method: string,
  host: string | undefined,
  path: string,
): Extract<RouteMatch, { kind: "route" }> {
  const match = router.match(method, host, path);
  if (match?.kind !== "route")
    return assert.fail(`${method} ${host ?? ""}${path}: ${JSON.stringify(match)}`);
  return match;
}

/** Function name and parameters, the two things a request's answer depends on. */
function answer(router: Router, method: string, host: string | undefined, path: string) {
  const match = routed(router, method, host, path);
  return { fn: match.route.function, params: match.params };
}

void describe("router: path specificity", () => {
  // declared least specific first, so only the specificity order can pick the winners
  const router = new Router([
    route("/users/*", "wildcard"),
    route("/users/:id", "param"),
    route("/users/me", "literal"),
  ]);

  void it("prefers a literal segment over a parameter over a wildcard", () => {
    assert.deepEqual(answer(router, "GET", undefined, "/users/me"), { fn: "literal", params: {} });
    assert.deepEqual(answer(router, "GET", undefined, "/users/42"), {
      fn: "param",
      params: { id: "42" },
    });
  });

  void it("gives the wildcard every remaining segment", () => {
    assert.deepEqual(answer(router, "GET", undefined, "/users/42/posts"), {
      fn: "wildcard",
      params: { "*": "42/posts" },
    });
  });

  void it("lets a wildcard match an empty rest", () => {
    assert.deepEqual(answer(router, "GET", undefined, "/users"), {
      fn: "wildcard",
      params: { "*": "" },
    });
  });

  void it("decides by the leftmost segment that differs", () => {
    const r = new Router([route("/:x/b", "param-first"), route("/a/:y", "literal-first")]);
    assert.deepEqual(answer(r, "GET", undefined, "/a/b"), {
      fn: "literal-first",
      params: { y: "b" },
    });
    assert.deepEqual(answer(r, "GET", undefined, "/z/b"), {
      fn: "param-first",
      params: { x: "z" },
    });
  });

  void it("names a wildcard's parameter after it", () => {
    const r = new Router([route("/v2/*rest", "v2")]);
    assert.deepEqual(answer(r, "GET", undefined, "/v2/a/b/c"), {
      fn: "v2",
      params: { rest: "a/b/c" },
    });
  });

  void it("matches the root path only to a root route or a wildcard", () => {
    const r = new Router([route("/*", "catch-all"), route("/", "root")]);
    assert.deepEqual(answer(r, "GET", undefined, "/"), { fn: "root", params: {} });
    assert.deepEqual(answer(r, "GET", undefined, "/x"), {
      fn: "catch-all",
      params: { "*": "x" },
    });
  });
});

void describe("router: hosts", () => {
  const router = new Router([
    route("/x", "none"),
    route("/x", "wildcard", { host: "*.example.com" }),
    route("/x", "exact", { host: "api.example.com" }),
  ]);

  void it("prefers an exact host over a wildcard host over no host", () => {
    assert.equal(answer(router, "GET", "api.example.com", "/x").fn, "exact");
    assert.equal(answer(router, "GET", "www.example.com", "/x").fn, "wildcard");
    assert.equal(answer(router, "GET", "other.org", "/x").fn, "none");
    assert.equal(answer(router, "GET", undefined, "/x").fn, "none");
  });

  void it("matches a wildcard host to subdomains at any depth, not to the domain itself", () => {
    const r = new Router([route("/x", "sub", { host: "*.example.com" })]);
    assert.equal(answer(r, "GET", "a.example.com", "/x").fn, "sub");
    assert.equal(answer(r, "GET", "a.b.example.com", "/x").fn, "sub");
    assert.equal(r.match("GET", "example.com", "/x"), undefined);
    // a suffix match must stop at a dot
    assert.equal(r.match("GET", "badexample.com", "/x"), undefined);
  });

  void it("ignores the Host header's port and case", () => {
    assert.equal(answer(router, "GET", "API.Example.COM:8080", "/x").fn, "exact");
    assert.equal(answer(router, "GET", "WWW.EXAMPLE.COM:443", "/x").fn, "wildcard");
  });

  void it("matches an IPv6 literal Host only to a host-less route", () => {
    assert.equal(answer(router, "GET", "[::1]:8080", "/x").fn, "none");
    const hosted = new Router([route("/x", "exact", { host: "api.example.com" })]);
    assert.equal(hosted.match("GET", "[::1]:8080", "/x"), undefined);
  });
});

void describe("router: methods", () => {
  void it("falls through a route without the method to a less specific one with it", () => {
    const r = new Router([
      route("/users/*", "any"),
      route("/users/:id", "get", { methods: ["GET"] }),
    ]);
    assert.deepEqual(answer(r, "GET", undefined, "/users/5"), { fn: "get", params: { id: "5" } });
    assert.deepEqual(answer(r, "POST", undefined, "/users/5"), {
      fn: "any",
      params: { "*": "5" },
    });
  });

  void it("on one path, prefers the route naming the method over the ANY route", () => {
    // ANY declared first: only the specificity order puts the GET route ahead
    const r = new Router([
      route("/users/*", "any"),
      route("/users/*", "get", { methods: ["GET"] }),
    ]);
    assert.equal(answer(r, "GET", undefined, "/users/5").fn, "get");
    assert.equal(answer(r, "POST", undefined, "/users/5").fn, "any");
  });

  void it("answers a method no route has with the methods allowed", () => {
    const r = new Router([
      route("/users", "create", { methods: ["POST"] }),
      route("/users", "list", { methods: ["GET"] }),
    ]);
    assert.deepEqual(r.match("DELETE", undefined, "/users"), {
      kind: "methods",
      allow: ["GET", "HEAD", "OPTIONS", "POST"],
    });
  });

  void it("adds HEAD to the allowed methods only when GET is among them", () => {
    const r = new Router([route("/users", "create", { methods: ["POST", "PUT"] })]);
    assert.deepEqual(r.match("DELETE", undefined, "/users"), {
      kind: "methods",
      allow: ["OPTIONS", "POST", "PUT"],
    });
  });

  void it("serves HEAD with the GET route, invoked as GET", () => {
    const r = new Router([route("/users/:id", "get", { methods: ["GET"] })]);
    const match = routed(r, "HEAD", undefined, "/users/7");
    assert.equal(match.route.function, "get");
    assert.equal(match.method, "GET");
    assert.deepEqual(match.params, { id: "7" });
  });

  void it("invokes a route that lists HEAD itself with HEAD", () => {
    const r = new Router([route("/users/:id", "get", { methods: ["GET", "HEAD"] })]);
    const match = routed(r, "HEAD", undefined, "/users/7");
    assert.equal(match.route.function, "get");
    assert.equal(match.method, "HEAD");
  });

  void it("prefers a route taking HEAD itself over the GET route of the same path, in any order", () => {
    for (const routes of [
      [route("/x", "get", { methods: ["GET"] }), route("/x", "head", { methods: ["HEAD"] })],
      [route("/x", "head", { methods: ["HEAD"] }), route("/x", "get", { methods: ["GET"] })],
    ]) {
      const match = routed(new Router(routes), "HEAD", undefined, "/x");
      assert.equal(match.route.function, "head");
      assert.equal(match.method, "HEAD");
    }
  });

  void it("serves HEAD with a GET route before a less specific ANY route", () => {
    const r = new Router([route("/x/*", "any"), route("/x/:id", "get", { methods: ["GET"] })]);
    const match = routed(r, "HEAD", undefined, "/x/1");
    assert.equal(match.route.function, "get");
    assert.equal(match.method, "GET");
  });

  void it("keeps the request's method for an ANY route", () => {
    const r = new Router([route("/users", "any")]);
    assert.equal(routed(r, "PATCH", undefined, "/users").method, "PATCH");
    assert.equal(routed(r, "HEAD", undefined, "/users").method, "HEAD");
  });

  void it("answers OPTIONS with the allowed methods when no route takes OPTIONS", () => {
    const r = new Router([route("/users", "list", { methods: ["GET"] })]);
    assert.deepEqual(r.match("OPTIONS", undefined, "/users"), {
      kind: "methods",
      allow: ["GET", "HEAD", "OPTIONS"],
    });
    const withOptions = new Router([
      route("/users", "list", { methods: ["GET"] }),
      route("/users", "preflight", { methods: ["OPTIONS"] }),
    ]);
    assert.equal(answer(withOptions, "OPTIONS", undefined, "/users").fn, "preflight");
  });

  void it("does not offer the methods of routes on other hosts", () => {
    const r = new Router([route("/users", "list", { methods: ["GET"], host: "api.example.com" })]);
    assert.equal(r.match("DELETE", "www.example.com", "/users"), undefined);
  });
});

void describe("router: path forms", () => {
  void it("ignores a trailing slash on the request", () => {
    const r = new Router([route("/users", "list")]);
    assert.equal(answer(r, "GET", undefined, "/users/").fn, "list");
  });

  void it("ignores a trailing slash on the route", () => {
    const r = new Router([route("/users/", "list")]);
    assert.equal(answer(r, "GET", undefined, "/users").fn, "list");
  });

  void it("percent-decodes parameters", () => {
    const r = new Router([route("/files/:name", "file"), route("/raw/*", "raw")]);
    assert.deepEqual(answer(r, "GET", undefined, "/files/a%20b").params, { name: "a b" });
    assert.deepEqual(answer(r, "GET", undefined, "/raw/x%2Fy/z%C3%A9").params, { "*": "x/y/zé" });
  });

  void it("decodes a wildcard's segments one by one, keeping only an invalid one as sent", () => {
    const r = new Router([route("/files/*", "files")]);
    assert.deepEqual(answer(r, "GET", undefined, "/files/a%20b/%zz").params, { "*": "a b/%zz" });
  });

  void it("passes a parameter that is not valid percent-encoding as sent", () => {
    const r = new Router([route("/files/:name", "file")]);
    assert.deepEqual(answer(r, "GET", undefined, "/files/%zz").params, { name: "%zz" });
    assert.deepEqual(answer(r, "GET", undefined, "/files/100%").params, { name: "100%" });
  });

  void it("matches a non-ASCII literal to its percent-encoded form", () => {
    const r = new Router([route("/café", "cafe")]);
    assert.equal(answer(r, "GET", undefined, "/caf%C3%A9").fn, "cafe");
    assert.equal(answer(r, "GET", undefined, "/caf%c3%a9").fn, "cafe");
    assert.equal(r.match("GET", undefined, "/cafe"), undefined);
  });
});

void describe("router: keys and misses", () => {
  void it("keys a route by its methods and path", () => {
    const r = new Router([route("/users/:id", "get", { methods: ["GET"] })]);
    assert.equal(routed(r, "GET", undefined, "/users/1").key, "GET /users/:id");
  });

  void it("keys an ANY route with a host as ANY host/path", () => {
    const r = new Router([route("/v2/*", "v2", { host: "api.example.com" })]);
    assert.equal(routed(r, "DELETE", "api.example.com", "/v2/x").key, "ANY api.example.com/v2/*");
  });

  void it("returns the route with its project", () => {
    const r = new Router([route("/a", "f", { project: "blog" })]);
    assert.equal(routed(r, "GET", undefined, "/a").route.project, "blog");
  });

  void it("finds nothing without routes", () => {
    const r = new Router([]);
    assert.equal(r.size, 0);
    assert.equal(r.match("GET", undefined, "/"), undefined);
  });

  void it("finds nothing at a path no route declares", () => {
    const r = new Router([route("/users/:id", "get"), route("/orders", "orders")]);
    assert.equal(r.match("GET", undefined, "/products"), undefined);
    assert.equal(r.match("GET", undefined, "/users"), undefined);
    assert.equal(r.match("GET", undefined, "/users/1/extra"), undefined);
    assert.equal(r.match("GET", undefined, "/orders/1"), undefined);
  });

  void it("skips a stored route that does not parse", () => {
    const r = new Router([route("no-slash", "bad"), route("/ok", "ok")]);
    assert.equal(r.size, 1);
    assert.equal(answer(r, "GET", undefined, "/ok").fn, "ok");
  });
});

void describe("routes: path patterns", () => {
  /** The error parsePath gives; fails the test when the path parses. */
  function pathError(path: string): string {
    const result = parsePath(path);
    if (typeof result !== "string") return assert.fail(`${path} parsed: ${JSON.stringify(result)}`);
    return result;
  }

  void it("parses literals, parameters and a wildcard", () => {
    assert.deepEqual(parsePath("/users/:id/*rest"), [
      { kind: "literal", value: "users" },
      { kind: "param", name: "id" },
      { kind: "rest", name: "rest" },
    ]);
    assert.deepEqual(parsePath("/files/*"), [
      { kind: "literal", value: "files" },
      { kind: "rest", name: "*" },
    ]);
    assert.deepEqual(parsePath("/"), []);
  });

  void it("refuses a path without a leading slash", () => {
    assert.match(pathError("users"), /starts with \//);
  });

  void it("refuses empty segments", () => {
    assert.match(pathError("//"), /empty segments/);
    assert.match(pathError("/a//b"), /empty segments/);
  });

  void it("refuses a wildcard before the end", () => {
    assert.match(pathError("/files/*/meta"), /wildcard comes last/);
    assert.match(pathError("/files/*rest/meta"), /wildcard comes last/);
  });

  void it("refuses a parameter name used twice", () => {
    assert.match(pathError("/a/:id/b/:id"), /parameter "id" appears twice/);
    assert.match(pathError("/a/:id/*id"), /parameter "id" appears twice/);
  });

  void it("refuses a malformed parameter name", () => {
    for (const path of ["/a/:", "/a/:1x", "/a/:x-y", "/a/*x.y", "/a/:*", "/a/**"]) {
      assert.match(pathError(path), /letters, digits and _/, path);
    }
  });

  void it("refuses the platform's own paths", () => {
    for (const path of ["/fn/x", "/admin/x", "/invocations/x", "/healthz", "/fn", "/admin"]) {
      assert.match(pathError(path), /platform's own paths/, path);
    }
    assert.notEqual(typeof parsePath("/fnord"), "string");
    assert.notEqual(typeof parsePath("/healthzone"), "string");
    assert.notEqual(typeof parsePath("/metricsboard"), "string");
    for (const path of ["/console", "/metrics/x"]) {
      assert.match(pathError(path), /platform's own paths/, path);
    }
  });
});

void describe("routes: host patterns", () => {
  /** The error parseHost gives; fails the test when the host parses. */
  function hostError(host: string): string {
    const result = parseHost(host);
    if (typeof result !== "string") return assert.fail(`${host} parsed: ${JSON.stringify(result)}`);
    return result;
  }

  void it("parses no host, an exact host in lower case and a wildcard", () => {
    assert.deepEqual(parseHost(undefined), { kind: "any" });
    assert.deepEqual(parseHost("API.Example.com"), { kind: "exact", name: "api.example.com" });
    assert.deepEqual(parseHost("*.example.com"), { kind: "wildcard", suffix: ".example.com" });
  });

  void it("refuses a host with a port", () => {
    assert.match(hostError("api.example.com:8080"), /no port/);
  });

  void it("refuses a host with a scheme", () => {
    assert.match(hostError("https://api.example.com"), /no scheme/);
  });

  void it("refuses a wildcard that is not a leading label", () => {
    assert.match(hostError("*"), /not a host name/);
    assert.match(hostError("api.*.com"), /not a host name/);
  });
});

void describe("routes: identity and ties", () => {
  const config = (
    path: string,
    fn: string,
    methods?: string[],
    host?: string,
  ): RouteConfig & { fn: string } => ({ path, function: fn, methods, host, fn });

  void it("gives routes differing only in parameter names one identity", () => {
    assert.equal(
      routeIdentity({ path: "/users/:id", host: undefined }),
      routeIdentity({ path: "/users/:name", host: undefined }),
    );
    assert.equal(
      routeIdentity({ path: "/files/*", host: undefined }),
      routeIdentity({ path: "/files/*rest/", host: undefined }),
    );
  });

  void it("gives different literals or hosts different identities", () => {
    assert.notEqual(
      routeIdentity({ path: "/users/:id", host: undefined }),
      routeIdentity({ path: "/orders/:id", host: undefined }),
    );
    assert.notEqual(
      routeIdentity({ path: "/users/:id", host: "api.example.com" }),
      routeIdentity({ path: "/users/:id", host: undefined }),
    );
    assert.notEqual(
      routeIdentity({ path: "/users/:id", host: undefined }),
      routeIdentity({ path: "/users/*", host: undefined }),
    );
    assert.equal(routeIdentity({ path: "no-slash", host: undefined }), undefined);
  });

  void it("ties routes of one identity whose methods overlap", () => {
    const tie = findTie([
      config("/orders", "orders"),
      config("/users/:id", "a", ["GET", "PUT"]),
      config("/users/:name", "b", ["PUT", "DELETE"]),
    ]);
    assert.deepEqual(
      tie?.map((r) => r.fn),
      ["a", "b"],
    );
  });

  void it("does not tie routes of one identity with disjoint methods", () => {
    assert.equal(
      findTie([config("/users/:id", "a", ["GET"]), config("/users/:id", "b", ["POST", "PUT"])]),
      undefined,
    );
  });

  void it("ties a route for any method with every route of its identity", () => {
    assert.deepEqual(
      findTie([config("/users/:id", "a", ["GET"]), config("/users/:id", "b")])?.map((r) => r.fn),
      ["a", "b"],
    );
    assert.deepEqual(
      findTie([config("/users/:id", "a"), config("/users/:id", "b", ["DELETE"])])?.map((r) => r.fn),
      ["a", "b"],
    );
  });

  void it("gives a literal one identity whether written decoded or percent-encoded", () => {
    assert.equal(
      routeIdentity({ path: "/café", host: undefined }),
      routeIdentity({ path: "/caf%C3%A9", host: undefined }),
    );
    assert.notEqual(findTie([route("/café", "a"), route("/caf%C3%A9", "b")]), undefined);
  });

  void it("does not tie routes of different identities", () => {
    assert.equal(
      findTie([
        config("/users/:id", "a"),
        config("/orders/:id", "b"),
        config("/users/:id", "c", undefined, "api.example.com"),
      ]),
      undefined,
    );
  });
});
