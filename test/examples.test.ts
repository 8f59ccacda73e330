// The shipped examples, deployed the way `npm start` deploys them (`up --examples`).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { WebSocket } from "ws";
import { startPlatform, type Platform } from "./kit/platform.js";

describe("examples", () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform({ args: ["--examples"] });
  });
  after(() => platform.dispose());

  it("prints the URL of every example function at start", () => {
    for (const fn of [
      "hello",
      "users",
      "ticker",
      "legacy",
      "orders",
      "fulfil",
      "hourly",
      "board",
    ]) {
      assert.match(platform.output(), new RegExp(`${platform.url}/fn/examples/${fn} `));
    }
  });

  it("hello: greets with the env var and the query", async () => {
    const res = await platform.fetch("/fn/examples/hello/?name=Ada");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await res.text(), "Hello, Ada!\n");
  });

  it("json-api: an unmodified hono app with route parameters, JSON bodies and errors", async () => {
    const one = await platform.fetch("/fn/examples/users/users/1");
    assert.deepEqual(await one.json(), { id: 1, name: "Ada" });
    const missing = await platform.fetch("/fn/examples/users/users/99");
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: "no such user" });
    const created = await platform.fetch("/fn/examples/users/users", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Grace" }),
    });
    assert.equal(created.status, 201);
    const grace = (await created.json()) as { id: number; name: string };
    assert.equal(grace.name, "Grace");
    const fetched = await platform.fetch(`/fn/examples/users/users/${grace.id}`);
    assert.deepEqual(await fetched.json(), grace);
    const invalid = await platform.fetch("/fn/examples/users/users", {
      method: "POST",
      body: "{}",
    });
    assert.equal(invalid.status, 400);
    const unknownRoute = await platform.fetch("/fn/examples/users/nope");
    assert.equal(unknownRoute.status, 404);
    // the same app at its public route, which the examples deployed after it left in place
    const routed = await platform.fetch(`/users/${grace.id}`);
    assert.deepEqual(await routed.json(), grace);
    assert.equal((await platform.fetch("/users", { method: "POST", body: "{}" })).status, 400);
  });

  it("orders: an order published as an event is fulfilled by its consumer", async () => {
    const res = await platform.fetch("/fn/examples/orders/", {
      method: "POST",
      body: JSON.stringify({ item: "tea" }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const giveUpAt = Date.now() + 60_000;
    for (;;) {
      const fulfilled = (await (await platform.fetch("/fn/examples/fulfil/")).json()) as Record<
        string,
        { item: string; attempt: number }
      >;
      if (fulfilled[id] !== undefined) {
        assert.deepEqual([fulfilled[id].item, fulfilled[id].attempt], ["tea", 1]);
        break;
      }
      assert.ok(Date.now() < giveUpAt, "gave up waiting for the order to be fulfilled");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const bad = await platform.fetch("/fn/examples/orders/", { method: "POST", body: "{}" });
    assert.equal(bad.status, 400);
  });

  it("streaming: server-sent events arrive as separate chunks, with both cookies", async () => {
    const res = await platform.fetch("/fn/examples/ticker/?count=3");
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    assert.deepEqual(res.headers.getSetCookie(), [
      "seen=1; Path=/; HttpOnly",
      "theme=dark; Path=/",
    ]);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const arrivals: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(decoder.decode(value));
    }
    const text = arrivals.join("");
    assert.deepEqual(
      [...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]),
      ["1", "2", "3"],
    );
    assert.match(text, /event: done\ndata: bye\n\n$/);
    assert.ok(
      arrivals.length >= 3,
      `events arrived in ${arrivals.length} chunk(s): the body was buffered`,
    );
  });

  it("lambda: an unmodified AWS Lambda handler", async () => {
    const res = await platform.fetch("/fn/examples/legacy/some/path?name=bob", {
      headers: { "x-request-id": "lambda-1" },
    });
    assert.deepEqual(await res.json(), {
      message: "hi bob",
      method: "GET",
      path: "/some/path",
      requestId: "lambda-1",
    });
  });

  it("gateway: public reads with CORS, scoped API-key writes, a WebSocket of new messages", async () => {
    const read = await platform.fetch("/board/messages", {
      headers: { origin: "https://anywhere.example" },
    });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get("access-control-allow-origin"), "*");
    assert.equal(read.headers.get("ratelimit-limit"), "40");
    const post = (headers: Record<string, string>) =>
      platform.fetch("/board/messages", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ text: "hello board" }),
      });
    assert.equal((await post({})).status, 401);
    const key = async (...flags: string[]) => {
      const made = await platform.cli(["keys", "create", "examples", ...flags, "--json"]);
      assert.equal(made.code, 0, made.stderr);
      return (JSON.parse(made.stdout) as { key: string }).key;
    };
    assert.equal((await post({ "x-api-key": await key() })).status, 403);
    const live = new WebSocket(`${platform.url.replace(/^http/, "ws")}/board/live`);
    const broadcast = new Promise<string>((resolve) =>
      live.on("message", (data: Buffer) => resolve(data.toString())),
    );
    await new Promise((resolve, reject) => {
      live.on("open", resolve);
      live.on("error", reject);
    });
    const written = await post({
      "x-api-key": await key("--name", "ada", "--scopes", "board:write"),
    });
    assert.equal(written.status, 201);
    assert.equal(written.headers.get("ratelimit-limit"), "5");
    const message = (await written.json()) as { text: string; by: string };
    assert.deepEqual([message.text, message.by], ["hello board", "ada"]);
    assert.deepEqual(JSON.parse(await broadcast), message);
    live.close();
    const after = (await (await platform.fetch("/board/messages")).json()) as Array<{
      text: string;
    }>;
    assert.equal(after.at(-1)?.text, "hello board");
  });
});
