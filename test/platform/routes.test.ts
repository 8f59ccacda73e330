// Routes declared in the manifest, through a real `litefaas up`: matching, parameters, HTTP's
// method rules, hosts, Lambda's view, conflicts between projects, and changes at deploy.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, FIXTURES, startPlatform, type Platform } from "../kit/platform.js";

interface Seen {
  fn: string;
  method: string;
  path: string;
  query: string;
  route: string | null;
  params: Record<string, string> | null;
  body: string;
}

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

/** A request with a Host header of our choosing (fetch does not let one set it). */
function withHost(
  url: string,
  path: string,
  host: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A copy of a fixture project with its manifest rewritten. */
async function projectFrom(fixture: string, edit: (manifest: string) => string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-routes-"));
  await cp(join(FIXTURES, fixture), dir, { recursive: true });
  const file = join(dir, "litefaas.yaml");
  await writeFile(file, edit(await readFile(file, "utf8")));
  return dir;
}

describe("routes", () => {
  let platform: Platform;
  const made: string[] = [];

  before(async () => {
    platform = await startPlatform();
    const deployed = await platform.deploy("routes");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    await platform.dispose();
    for (const dir of made) await rm(dir, { recursive: true, force: true });
  });

  it("sends a request to the most specific route, with the full path and its parameters", async () => {
    const seen = await json<Seen>(await platform.fetch("/users/42?full=1"));
    assert.deepEqual(seen, {
      fn: "users",
      method: "GET",
      path: "/users/42",
      query: "?full=1",
      route: "GET /users/:id",
      params: { id: "42" },
      body: "",
    });
    // a literal segment beats a parameter; a wildcard takes the rest, decoded
    assert.equal((await json<Seen>(await platform.fetch("/users/me"))).fn, "files");
    const file = await json<Seen>(await platform.fetch("/files/a%20b/c.txt"));
    assert.equal(file.fn, "files");
    assert.deepEqual(file.params, { "*": "a b/c.txt" });
  });

  it("passes a POST body through a route listing several methods", async () => {
    const seen = await json<Seen>(
      await platform.fetch("/users/7", { method: "POST", body: "hello" }),
    );
    assert.equal(seen.fn, "users");
    assert.equal(seen.method, "POST");
    assert.equal(seen.body, "hello");
    assert.equal(seen.route, "POST,PUT /users/:id");
  });

  it("queues an async invocation through a route, the route's parameters kept", async () => {
    const accepted = await platform.fetch("/users/8?async=1", { method: "PUT", body: "later" });
    assert.equal(accepted.status, 202);
    const { statusUrl } = await json<{ statusUrl: string }>(accepted);
    const record = await eventuallyValue("the async invocation to finish", async () => {
      const r = await json<{ status: string; result?: { body?: string } }>(
        await platform.fetch(statusUrl),
      );
      return r.status === "succeeded" ? r : undefined;
    });
    const seen = JSON.parse(record.result?.body ?? "{}") as Seen;
    assert.deepEqual(
      { fn: seen.fn, method: seen.method, query: seen.query, params: seen.params, body: seen.body },
      { fn: "users", method: "PUT", query: "", params: { id: "8" }, body: "later" },
    );
  });

  it("never passes on a client's own route headers", async () => {
    const seen = await json<Seen>(
      await platform.fetch("/users/42", {
        headers: { "x-litefaas-params": '{"id":"admin"}', "x-litefaas-route": "ANY /forged" },
      }),
    );
    assert.deepEqual(seen.params, { id: "42" });
    assert.equal(seen.route, "GET /users/:id");
    // nor on a /fn/ request, where no route applies
    const direct = await json<Seen>(
      await platform.fetch("/fn/routes/users/x", { headers: { "x-litefaas-params": '{"a":1}' } }),
    );
    assert.equal(direct.params, null);
  });

  it("answers HEAD from the GET route without a body, OPTIONS with Allow, and 405 otherwise", async () => {
    const get = await platform.fetch("/users/42");
    const getBody = await get.text();
    const head = await platform.fetch("/users/42", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("x-answered-by"), "users");
    assert.equal(head.headers.get("content-length"), String(Buffer.byteLength(getBody)));
    assert.equal(await head.text(), "");

    const options = await platform.fetch("/users/42", { method: "OPTIONS" });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get("allow"), "GET, HEAD, OPTIONS, POST, PUT");

    const del = await platform.fetch("/users/42", { method: "DELETE" });
    assert.equal(del.status, 405);
    assert.equal(await errorCode(del), "METHOD_NOT_ALLOWED");
    assert.equal(del.headers.get("allow"), "GET, HEAD, OPTIONS, POST, PUT");
  });

  it("routes by host, exact host first, ignoring the port", async () => {
    const api = await withHost(platform.url, "/users/5", "API.example.test:8443");
    assert.equal(api.status, 200);
    assert.equal((JSON.parse(api.body) as Seen).fn, "api");
    const other = await withHost(platform.url, "/users/5", "other.example.test");
    assert.equal((JSON.parse(other.body) as Seen).fn, "users");
  });

  it("gives a Lambda handler API Gateway's routeKey and pathParameters", async () => {
    const event = await json<Record<string, unknown>>(await platform.fetch("/lambda/9/a/b"));
    assert.deepEqual(event, {
      routeKey: "GET /lambda/{id}/{proxy+}",
      contextRouteKey: "GET /lambda/{id}/{proxy+}",
      pathParameters: { id: "9", proxy: "a/b" },
      rawPath: "/lambda/9/a/b",
      sawGatewayHeaders: [],
    });
  });

  it("answers a CORS preflight itself, for allowed origins only", async () => {
    const preflight = (origin: string) =>
      platform.fetch("/cors/doc", {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "PUT",
          "access-control-request-headers": "Content-Type, X-Custom",
        },
      });
    const allowed = await preflight("https://app.example.com");
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.equal(allowed.headers.get("access-control-allow-methods"), "PUT");
    assert.equal(allowed.headers.get("access-control-allow-headers"), "content-type, x-custom");
    assert.equal(allowed.headers.get("access-control-allow-credentials"), "true");
    assert.equal(allowed.headers.get("access-control-max-age"), "600");
    assert.equal(
      (await preflight("https://a.b.example.org")).headers.get("access-control-allow-origin"),
      "https://a.b.example.org",
    );
    for (const origin of [
      "https://evil.example",
      "https://example.org",
      "http://app.example.com",
    ]) {
      const refused = await preflight(origin);
      assert.equal(refused.status, 204, origin);
      assert.equal(refused.headers.get("access-control-allow-origin"), null, origin);
    }
  });

  it("adds CORS headers to answers for allowed origins, replacing the function's own", async () => {
    const res = await platform.fetch("/cors/doc", {
      headers: { origin: "https://app.example.com" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    assert.equal(res.headers.get("access-control-expose-headers"), "x-answered-by");
    assert.match(res.headers.get("vary") ?? "", /Origin/);
    const other = await platform.fetch("/cors/doc", {
      headers: { origin: "https://evil.example" },
    });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const open = await platform.fetch("/open", { headers: { origin: "https://anywhere.example" } });
    assert.equal(open.headers.get("access-control-allow-origin"), "*");
    // a route without cors says nothing to browsers
    const plain = await platform.fetch("/users/1", {
      headers: { origin: "https://app.example.com" },
    });
    assert.equal(plain.headers.get("access-control-allow-origin"), null);
  });

  it("answers 404 ROUTE_NOT_FOUND where no route matches", async () => {
    const res = await platform.fetch("/nothing/here");
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), "ROUTE_NOT_FOUND");
  });

  it("refuses a route another project holds, naming the holder, and leaves both as they were", async () => {
    const rival = await projectFrom("routes", (m) =>
      m
        .replace("project: routes", "project: rival")
        .replace(
          /routes:\n[\s\S]*$/,
          "routes:\n  - { method: GET, path: /users/:name, function: users }\n",
        ),
    );
    made.push(rival);
    const deployed = await platform.cli(["deploy", rival]);
    assert.notEqual(deployed.code, 0);
    assert.match(deployed.stderr, /ROUTE_CONFLICT/);
    assert.match(deployed.stderr, /held by project routes \(function users\)/);
    assert.equal((await json<Seen>(await platform.fetch("/users/1"))).fn, "users");
    const ls = await platform.cli(["ls", "--json"]);
    assert.doesNotMatch(ls.stdout, /"project": ?"rival"/);
  });

  it("keeps a project's routes from another of its manifests, and refuses a tie with them", async () => {
    const extra = await projectFrom("routes", () =>
      [
        "project: routes",
        "functions:",
        "  extra:",
        "    main: whoami.ts",
        "    env: { NAME: extra }",
        "routes:",
        "  - { method: GET, path: /extra, function: extra }",
        "  - { method: GET, path: /users/:who, function: extra }",
        "",
      ].join("\n"),
    );
    made.push(extra);
    const refused = await platform.cli(["deploy", extra]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /held by project routes \(function users\)/);

    await writeFile(
      join(extra, "litefaas.yaml"),
      (await readFile(join(extra, "litefaas.yaml"), "utf8")).replace(/ {2}- .*:who.*\n/, ""),
    );
    const deployed = await platform.cli(["deploy", extra]);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.equal((await json<Seen>(await platform.fetch("/extra"))).fn, "extra");
    assert.equal((await json<Seen>(await platform.fetch("/users/1"))).fn, "users");
    const removed = await platform.cli(["rm", "routes/extra"]);
    assert.equal(removed.code, 0, removed.stderr);
  });

  it("applies a redeploy's routes at once, and drops a removed function's routes", async () => {
    const changed = await projectFrom("routes", (m) =>
      m
        .replace("path: /files/*, function: files", "path: /documents/*, function: files")
        .replace("project: routes", "project: routes"),
    );
    made.push(changed);
    const deployed = await platform.cli(["deploy", changed]);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.equal((await platform.fetch("/files/x")).status, 404);
    assert.equal((await json<Seen>(await platform.fetch("/documents/x"))).fn, "files");

    const listed = await platform.cli(["routes", "routes", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const table = JSON.parse(listed.stdout) as {
      routes: Array<{ path: string; function: string }>;
    };
    assert.deepEqual(
      table.routes.map((r) => `${r.path} ${r.function}`),
      [
        "/users/:id users",
        "/users/:id users",
        "/users/me files",
        "/documents/* files",
        "/users/:id api",
        "/lambda/:id/* legacy",
        "/cors/* files",
        "/open files",
      ],
    );

    const removed = await platform.cli(["rm", "routes/legacy"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await platform.fetch("/lambda/9/a")).status, 404);
    const after = JSON.parse((await platform.cli(["routes", "--json"])).stdout) as {
      routes: Array<{ function: string }>;
    };
    assert.equal(
      after.routes.some((r) => r.function === "legacy"),
      false,
    );
  });

  it("keeps the routes across a restart", async () => {
    await platform.stop();
    platform = await platform.restart();
    assert.equal((await json<Seen>(await platform.fetch("/documents/y"))).fn, "files");
    assert.equal((await json<Seen>(await platform.fetch("/users/3"))).fn, "users");
  });
});
