// WebSockets through a real `litefaas up`: a function accepts the server half of a
// WebSocketPair and answers 101; messages flow both ways, closing either side closes the other,
// and the upgrade request passes the gateway's routing, authentication and limits first.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { eventuallyValue } from "../kit/eventually.js";
import { startPlatform, type Platform } from "../kit/platform.js";
import { connect } from "../kit/websocket-client.js";

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

async function refusal(url: string, headers?: Record<string, string>) {
  const error = await connect(url, headers === undefined ? {} : { headers }).then(
    () => assert.fail("the WebSocket opened"),
    (e: unknown) => e as { status?: number; body?: string },
  );
  let code: string | undefined;
  try {
    code = (JSON.parse(error.body ?? "") as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined; // the function's own answer, not the gateway's JSON error
  }
  return { status: error.status, code };
}

describe("WebSockets", () => {
  let platform: Platform;
  let wsUrl: string;
  const state = async () =>
    json<{ closed: { code: number; reason: string; wasClean: boolean } | null; messages: number }>(
      await platform.fetch("/state"),
    );
  const closedAs = (code: number) =>
    eventuallyValue(`the function's close event with ${code}`, async () => {
      const seen = (await state()).closed;
      return seen?.code === code ? seen : undefined;
    });

  before(async () => {
    platform = await startPlatform();
    const deployed = await platform.deploy("sockets");
    assert.equal(deployed.code, 0, deployed.stderr);
    wsUrl = platform.url.replace(/^http/, "ws");
  });
  after(async () => platform.dispose());

  it("carries text and binary messages both ways, a greeting first, and KV from a handler", async () => {
    const client = await connect(`${wsUrl}/chat`);
    assert.equal(await client.next(), "hello /chat");
    client.ws.send("hi");
    assert.equal(await client.next(), "echo: hi");
    client.ws.send(Buffer.from([0, 1, 2, 255]));
    const echoed = await client.next();
    assert.ok(Buffer.isBuffer(echoed), "binary comes back binary");
    assert.deepEqual([...echoed], [0, 1, 2, 255]);
    const before = (await state()).messages;
    client.ws.send("count");
    assert.equal(await client.next(), `count ${before + 1}`);
    client.ws.close(1000, "done");
    assert.equal((await client.closed).code, 1000);
  });

  it("takes the subprotocol and headers the function's 101 answer names", async () => {
    const client = await connect(`${wsUrl}/chat`, { protocols: ["chat.v1", "chat.v2"] });
    assert.equal(client.ws.protocol, "chat.v2");
    assert.equal(client.headers["x-chat"], "yes");
    assert.match(String(client.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
    client.ws.close();
  });

  it("serves WebSockets at /fn/ URLs too", async () => {
    const client = await connect(`${wsUrl}/fn/sockets/chat/room`);
    assert.equal(await client.next(), "hello /room");
    client.ws.close();
  });

  it("closes the client with the function's code and reason when the function closes", async () => {
    const client = await connect(`${wsUrl}/chat`);
    await client.next();
    client.ws.send("close");
    assert.deepEqual(await client.closed, { code: 4000, reason: "asked to" });
    const seen = await closedAs(4000);
    assert.equal(seen.wasClean, true);
  });

  it("tells the function when the client closes, with its code and reason", async () => {
    const client = await connect(`${wsUrl}/chat`);
    await client.next();
    client.ws.close(4100, "bye now");
    await client.closed;
    const seen = await closedAs(4100);
    assert.deepEqual(seen, { code: 4100, reason: "bye now", wasClean: true });
  });

  it("tells the function 1006 when the client vanishes without a close frame", async () => {
    const client = await connect(`${wsUrl}/chat`);
    await client.next();
    client.ws.terminate();
    const seen = await closedAs(1006);
    assert.equal(seen.wasClean, false);
  });

  it("closes with 1011 when a message listener spins past the function's timeout, and serves on", async () => {
    const client = await connect(`${wsUrl}/chat`);
    await client.next();
    client.ws.send("spin");
    const closed = await client.closed;
    assert.equal(closed.code, 1011);
    assert.match(closed.reason, /timeout/);
    const again = await connect(`${wsUrl}/chat`);
    again.ws.send("after");
    assert.equal(await again.next(), "hello /chat");
    assert.equal(await again.next(), "echo: after");
    again.ws.close();
  });

  it("passes the function's other answers to the client: 403 refused, 426 for plain HTTP", async () => {
    assert.deepEqual(await refusal(`${wsUrl}/chat?refuse=1`), { status: 403, code: undefined });
    const plain = await platform.fetch("/chat");
    assert.equal(plain.status, 426);
  });

  it("refuses an upgrade without a key where the route needs one, before the function", async () => {
    assert.deepEqual(await refusal(`${wsUrl}/private`), { status: 401, code: "AUTH_REQUIRED" });
    const created = await platform.cli(["keys", "create", "sockets", "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const client = await connect(`${wsUrl}/private`, { headers: { "x-api-key": key } });
    assert.equal(await client.next(), "hello /private");
    client.ws.close();
  });

  it("holds upgrades to the route's rate limit", async () => {
    const first = await connect(`${wsUrl}/limited`);
    const second = await connect(`${wsUrl}/limited`);
    assert.deepEqual(await refusal(`${wsUrl}/limited`), { status: 429, code: "RATE_LIMITED" });
    first.ws.close();
    second.ws.close();
  });

  it("refuses a malformed handshake with 400 INVALID_REQUEST", async () => {
    // fetch() may not send Upgrade: a plain HTTP request does
    const { status, text } = await new Promise<{ status: number; text: string }>(
      (resolve, reject) => {
        const req = request(`${platform.url}/chat`, {
          headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13" },
        });
        req.on("response", (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.end();
      },
    );
    assert.equal(status, 400);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "INVALID_REQUEST");
    assert.match(body.error.message, /Sec-WebSocket-Key/);
  });

  it("answers 500 FUNCTION_BAD_RESPONSE when a function accepts a WebSocket on plain HTTP", async () => {
    const response = await platform.fetch("/chat?force=1");
    assert.equal(response.status, 500);
    assert.equal(
      (await json<{ error: { code: string } }>(response)).error.code,
      "FUNCTION_BAD_RESPONSE",
    );
  });

  it("logs a WebSocket when it closes, with 101, its close code and the bytes sent", async () => {
    const client = await connect(`${wsUrl}/chat`, { headers: { "x-request-id": "ws-logged" } });
    await client.next();
    client.ws.close(4200);
    await client.closed;
    const line = await eventuallyValue("the WebSocket's access log line", async () => {
      const lines = (await readFile(join(platform.dataDir, "access.log"), "utf8")).split("\n");
      const found = lines.find((l) => l.includes('"ws-logged"'));
      return found === undefined ? undefined : (JSON.parse(found) as Record<string, unknown>);
    });
    assert.equal(line["status"], 101);
    assert.equal(line["closeCode"], 4200);
    assert.equal(line["bytes"], Buffer.byteLength("hello /chat"));
    assert.equal(line["route"], "sockets GET /chat");
  });

  it("closes open WebSockets with 1001 when the platform shuts down", async () => {
    const client = await connect(`${wsUrl}/chat`);
    await client.next();
    const exit = platform.stop("SIGTERM");
    assert.equal((await client.closed).code, 1001);
    assert.equal(await exit, 0);
  });
});
