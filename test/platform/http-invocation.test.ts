// What a function sees and what comes back, through a real `litefaas up`.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { errorCode, startPlatform, type Platform } from "../kit/platform.js";

describe("HTTP invocation", () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform();
    const deployed = await platform.deploy("basic");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(() => platform.dispose());

  it("strips the mount prefix and keeps method, query, headers and the prefix header", async () => {
    const res = await platform.fetch("/fn/basic/echo/a/b?x=1&y=two", {
      headers: { "x-custom": "yes" },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body["method"], "GET");
    assert.equal(body["path"], "/a/b");
    assert.deepEqual(body["query"], { x: "1", y: "two" });
    assert.equal(body["prefix"], "/fn/basic/echo");
    assert.equal(body["custom"], "yes");
    assert.equal(body["bodyBase64"], null);
    assert.match(String(body["url"]), /^http:\/\/127\.0\.0\.1:\d+\/a\/b\?x=1&y=two$/);
  });

  it("serves the function root with and without a trailing slash", async () => {
    for (const path of ["/fn/basic/echo", "/fn/basic/echo/"]) {
      const body = (await (await platform.fetch(path)).json()) as { path: string };
      assert.equal(body.path, "/");
    }
  });

  it("passes binary request bodies through byte for byte", async () => {
    const bytes = new Uint8Array(70_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) % 256;
    const res = await platform.fetch("/fn/basic/echo/upload", { method: "POST", body: bytes });
    const body = (await res.json()) as { bodyBase64: string; bodyLength: number; method: string };
    assert.equal(body.method, "POST");
    assert.equal(body.bodyLength, bytes.length);
    assert.deepEqual(new Uint8Array(Buffer.from(body.bodyBase64, "base64")), bytes);
  });

  it("returns binary responses intact", async () => {
    const res = await platform.fetch("/fn/basic/echo/binary");
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(bytes.length, 256);
    assert.ok(bytes.every((b, i) => b === i));
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
  });

  it("keeps several Set-Cookie headers separate", async () => {
    const res = await platform.fetch("/fn/basic/echo/cookies");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1; Path=/", "b=2; Path=/; HttpOnly"]);
  });

  it("passes status codes through", async () => {
    for (const status of [201, 204, 302, 404, 418, 503]) {
      const res = await platform.fetch(`/fn/basic/echo/status/${status}`, { redirect: "manual" });
      assert.equal(res.status, status);
      await res.arrayBuffer();
    }
  });

  it("streams a response chunk by chunk", async () => {
    const res = await platform.fetch("/fn/basic/echo/stream");
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const chunks: string[] = [];
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(decoder.decode(value));
    }
    assert.equal(chunks.join(""), "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
    assert.ok(chunks.length >= 2, `expected the body in several reads, got ${chunks.length}`);
  });

  it("turns host-side refusals (crypto, fetch) into catchable errors and keeps serving", async () => {
    const res = await platform.fetch("/fn/basic/echo/crypto");
    assert.equal(res.status, 200);
    const body = (await res.json()) as { errors: string[]; digest: number[] };
    assert.equal(body.errors.length, 3);
    for (const name of body.errors) assert.notEqual(name, "no error");
    assert.deepEqual(body.digest, [0xba, 0x78, 0x16, 0xbf]); // SHA-256("abc")
    assert.equal((await platform.fetch("/healthz")).status, 200);
  });

  it("gives the function its manifest env vars and nothing else", async () => {
    const body = (await (await platform.fetch("/fn/basic/echo/env")).json()) as {
      COLOR: string;
      keys: string[];
    };
    assert.equal(body.COLOR, "blue");
    assert.deepEqual(body.keys, ["COLOR"]);
  });

  it("propagates a client's X-Request-Id and makes one up otherwise", async () => {
    const given = await platform.fetch("/fn/basic/echo/", {
      headers: { "x-request-id": "req-123" },
    });
    assert.equal(given.headers.get("x-request-id"), "req-123");
    assert.equal(((await given.json()) as { requestId: string }).requestId, "req-123");
    const made = await platform.fetch("/fn/basic/echo/");
    assert.match(made.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    await made.arrayBuffer();
  });

  it("answers HEAD without a body", async () => {
    const res = await platform.fetch("/fn/basic/echo/", { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  it("runs an AWS Lambda handler with an API Gateway v2 event", async () => {
    const res = await platform.fetch("/fn/basic/lambda/items/7?q=a&q=b", {
      method: "POST",
      headers: { "content-type": "application/json", cookie: "c1=x; c2=y" },
      body: JSON.stringify({ hello: "lambda" }),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("x-handler"), "lambda");
    assert.deepEqual(res.headers.getSetCookie(), ["l1=a", "l2=b"]);
    const { event, requestId, remaining } = (await res.json()) as {
      event: Record<string, unknown> & {
        requestContext: { http: { method: string; sourceIp: string } };
      };
      requestId: string;
      remaining: number;
    };
    assert.equal(event["version"], "2.0");
    assert.equal(event["rawPath"], "/items/7");
    assert.equal(event["rawQueryString"], "q=a&q=b");
    assert.deepEqual(event["queryStringParameters"], { q: "a,b" });
    assert.deepEqual(event["cookies"], ["c1=x", "c2=y"]);
    assert.equal(event["body"], '{"hello":"lambda"}');
    assert.equal(event["isBase64Encoded"], false);
    assert.equal(event.requestContext.http.method, "POST");
    assert.equal(event.requestContext.http.sourceIp, "127.0.0.1");
    assert.equal(requestId, res.headers.get("x-request-id"));
    assert.ok(remaining > 0 && remaining <= 30_000);
  });

  it("maps a Lambda result without statusCode to a JSON 200", async () => {
    const res = await platform.fetch("/fn/basic/lambda/plain");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(await res.json(), { hello: "world" });
  });

  it("answers 404 with a JSON error for an unknown function or path", async () => {
    const unknown = await platform.fetch("/fn/basic/nope/");
    assert.equal(unknown.status, 404);
    assert.equal(await errorCode(unknown), "FUNCTION_NOT_FOUND");
    const outside = await platform.fetch("/elsewhere");
    assert.equal(outside.status, 404);
    assert.equal(await errorCode(outside), "ROUTE_NOT_FOUND");
    const incomplete = await platform.fetch("/fn/basic");
    assert.equal(incomplete.status, 404);
    assert.equal(await errorCode(incomplete), "ROUTE_NOT_FOUND");
  });

  it("refuses a 7 MiB body with 413 and a JSON error, and keeps serving", async () => {
    const res = await platform.fetch("/fn/basic/echo/", {
      method: "POST",
      body: new Uint8Array(7 * 1024 * 1024),
    });
    assert.equal(res.status, 413);
    assert.equal(await errorCode(res), "BODY_TOO_LARGE");
    const atLimit = await platform.fetch("/fn/basic/echo/", {
      method: "POST",
      body: new Uint8Array(6 * 1024 * 1024).fill(7),
    });
    assert.equal(atLimit.status, 200);
    const seen = (await atLimit.json()) as { bodyLength: number; bodySum: number };
    assert.equal(seen.bodyLength, 6 * 1024 * 1024);
    assert.equal(seen.bodySum, 7 * 6 * 1024 * 1024);
  });

  it("answers an exception with 500 JSON and sends the stack to the logs, not the client", async () => {
    const res = await platform.fetch("/fn/basic/echo/throw");
    assert.equal(res.status, 500);
    const text = await res.text();
    const body = JSON.parse(text) as { error: { code: string; requestId: string } };
    assert.equal(body.error.code, "FUNCTION_ERROR");
    assert.equal(body.error.requestId, res.headers.get("x-request-id"));
    assert.doesNotMatch(text, /secret detail/);
    const logs = await platform.cli(["logs", "basic/echo", "--json"]);
    assert.equal(logs.code, 0, logs.stderr);
    const line = logs.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { requestId: string; level: string; message: string })
      .find((l) => l.requestId === body.error.requestId);
    assert.ok(line !== undefined, logs.stdout);
    assert.equal(line.level, "error");
    assert.match(line.message, /boom: secret detail/);
    assert.match(line.message, /echo\.ts|at /);
  });

  it("answers a handler that returns no Response with 500 FUNCTION_ERROR", async () => {
    const res = await platform.fetch("/fn/basic/echo/not-a-response");
    assert.equal(res.status, 500);
    assert.equal(await errorCode(res), "FUNCTION_ERROR");
  });

  it("captures console output per invocation with its request id", async () => {
    const res = await platform.fetch("/fn/basic/echo/log", {
      headers: { "x-request-id": "log-req-1" },
    });
    assert.equal(await res.text(), "logged");
    let lines: Array<{ requestId: string; level: string; message: string }> = [];
    for (let attempt = 0; attempt < 50 && lines.length < 2; attempt++) {
      const logs = await platform.cli(["logs", "basic/echo", "--json"]);
      lines = logs.stdout
        .trim()
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as { requestId: string; level: string; message: string })
        .filter((l) => l.requestId === "log-req-1");
    }
    assert.deepEqual(
      lines.map((l) => [l.level, l.message]),
      [
        ["log", "hello from log-req-1"],
        ["error", "an error line { n: 1 }"],
      ],
    );
  });

  it("streams new log lines to `logs --follow` as they happen", async () => {
    const follow = platform.spawnCli(["logs", "basic/echo", "--follow", "--limit", "1"]);
    try {
      // wait until the follower is connected (it prints the backlog line first)
      for (let i = 0; i < 100 && follow.stdout().length === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      await (
        await platform.fetch("/fn/basic/echo/log", { headers: { "x-request-id": "follow-1" } })
      ).text();
      for (let i = 0; i < 100 && !follow.stdout().includes("hello from follow-1"); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.match(follow.stdout(), /LOG\s+\[follow-1\] v1 hello from follow-1/);
    } finally {
      follow.child.kill();
    }
  });
});
