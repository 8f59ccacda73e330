// The gateway against difficult clients and slow functions, through a real `litefaas up`: slow
// or oversized request heads and bodies, a route's own timeout, server-sent events chunk by
// chunk, a client that goes away mid-stream, and the access log.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { eventually, eventuallyValue } from "../kit/eventually.js";
import { errorCode, startPlatform, type Platform } from "../kit/platform.js";

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

/** What the server sent on a raw connection until it closed it, and whether it did. */
interface RawExchange {
  text: string;
  closed: boolean;
  /** Bytes of `trickle` the client had sent when the server answered. */
  sentWhenAnswered: number;
}

/**
 * Opens a connection, writes `head` at once, then `trickle` a byte every `everyMs`; stops at the
 * first answer or after the trickle, then waits briefly for the close.
 */
async function rawExchange(
  url: string,
  head: string,
  trickle = "",
  everyMs = 100,
): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  let text = "";
  let closed = false;
  let sent = 0;
  let sentWhenAnswered = -1;
  socket.on("data", (chunk: Buffer) => {
    if (sentWhenAnswered === -1) sentWhenAnswered = sent;
    text += chunk.toString();
  });
  socket.on("close", () => (closed = true));
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  if (head !== "") socket.write(head);
  for (const byte of trickle) {
    if (closed || text !== "") break;
    socket.write(byte);
    sent++;
    await delay(everyMs);
  }
  await eventually("an answer", () => text !== "" || closed, 30_000);
  await eventually("the connection closed", () => closed, 10_000).catch(() => undefined);
  socket.destroy();
  return { text, closed, sentWhenAnswered };
}

function bodyOf(raw: string): { error: { code: string; fix?: string } } {
  return JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as {
    error: { code: string; fix?: string };
  };
}

describe("gateway edges", () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform({
      args: ["--header-timeout", "500ms", "--body-timeout", "1s", "--max-header-size", "4096"],
    });
    const deployed = await platform.deploy("edges");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => platform.dispose());

  it("answers a head sent a byte at a time (slowloris) with 408 and closes the connection", async () => {
    const trickle = "GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow: " + "x".repeat(80) + "\r\n\r\n";
    const result = await rawExchange(platform.url, "", trickle);
    assert.match(result.text, /^HTTP\/1\.1 408 /);
    assert.equal(bodyOf(result.text).error.code, "REQUEST_TIMEOUT");
    assert.match(result.text, /connection: close/i);
    assert.ok(result.closed, "the server closed the connection");
    assert.ok(
      result.sentWhenAnswered < trickle.length,
      `answered after ${result.sentWhenAnswered} of ${trickle.length} bytes, before the head was complete`,
    );
  });

  it("closes a connection that never sends a request", async () => {
    const result = await rawExchange(platform.url, "");
    assert.equal(bodyOf(result.text).error.code, "REQUEST_TIMEOUT");
    assert.ok(result.closed);
  });

  it("answers a body that never completes with 408, without invoking the function", async () => {
    const result = await rawExchange(
      platform.url,
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + "y".repeat(10),
    );
    assert.match(result.text, /^HTTP\/1\.1 408 /);
    assert.equal(bodyOf(result.text).error.code, "REQUEST_TIMEOUT");
    assert.ok(result.closed);
    // the gateway keeps serving complete requests
    const echo = await platform.fetch("/echo", { method: "POST", body: "y".repeat(1000) });
    assert.deepEqual(await json(echo), { method: "POST", bytes: 1000 });
  });

  it("refuses a head over --max-header-size with 431 HEADERS_TOO_LARGE and serves one under it", async () => {
    const big = await rawExchange(
      platform.url,
      `GET /echo HTTP/1.1\r\nHost: a\r\nCookie: ${"c".repeat(5000)}\r\n\r\n`,
    );
    assert.match(big.text, /^HTTP\/1\.1 431 /);
    const body = bodyOf(big.text);
    assert.equal(body.error.code, "HEADERS_TOO_LARGE");
    assert.match(body.error.fix ?? "", /headers/);
    const fits = await platform.fetch("/echo", { headers: { cookie: "c".repeat(3000) } });
    assert.equal(fits.status, 200);
  });

  it("answers bytes that are not HTTP with 400 INVALID_REQUEST", async () => {
    const result = await rawExchange(platform.url, "HELLO THERE\r\n\r\n");
    assert.match(result.text, /^HTTP\/1\.1 400 /);
    assert.equal(bodyOf(result.text).error.code, "INVALID_REQUEST");
  });

  it("gives up on a route's answer at the route's timeout with 504, aborting the function's signal", async () => {
    const response = await platform.fetch("/slow?ms=20000&id=late");
    assert.equal(response.status, 504);
    assert.equal(await errorCode(response), "GATEWAY_TIMEOUT");
    const seen = await eventuallyValue("the function saw its signal abort", async () => {
      const state = await json<{ aborted: string | null }>(await platform.fetch("/state/late"));
      return state.aborted ?? undefined;
    });
    assert.equal(seen, "gateway timeout");
    // the route's timeout is the gateway's, not the function's: under it, or at /fn/, it answers
    const quick = await platform.fetch("/slow?ms=10&id=quick");
    assert.deepEqual(await json(quick), { slept: true });
    const direct = await platform.fetch("/fn/edges/edge/slow?ms=600&id=direct");
    assert.deepEqual(await json(direct), { slept: true });
  });

  it("streams server-sent events through a route chunk by chunk", async () => {
    const started = performance.now();
    const response = await platform.fetch("/sse?n=5");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    assert.equal(response.headers.get("content-length"), null);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const arrivals: Array<{ at: number; text: string }> = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push({ at: performance.now() - started, text: decoder.decode(value) });
    }
    const text = arrivals.map((a) => a.text).join("");
    assert.deepEqual(
      [...text.matchAll(/data: (event \d)/g)].map((m) => m[1]),
      ["event 0", "event 1", "event 2", "event 3", "event 4"],
    );
    // the function sleeps 100 ms between events: unbuffered, they arrive in separate reads,
    // the first one long before the last
    assert.ok(arrivals.length >= 3, `${arrivals.length} reads`);
    const first = arrivals[0]?.at ?? 0;
    const last = arrivals[arrivals.length - 1]?.at ?? 0;
    assert.ok(last - first >= 300, `events spread over ${Math.round(last - first)} ms`);
  });

  it("aborts the function's request signal when the client goes away mid-stream", async () => {
    const controller = new AbortController();
    const response = await platform.fetch("/sse?n=1000&id=gone", { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    const seen = await eventuallyValue("the function saw the disconnect", async () => {
      const state = await json<{ aborted: string | null }>(await platform.fetch("/state/gone"));
      return state.aborted ?? undefined;
    });
    assert.equal(seen, "client disconnected");
  });

  it("writes one JSON access log line per request, with the key's id but never the key", async () => {
    const created = await platform.cli(["keys", "create", "edges", "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout) as { id: string; key: string };
    const ok = await platform.fetch("/keyed?secret=s3cret", {
      headers: { "x-api-key": key.key, "x-request-id": "access-log-ok", "user-agent": "edge-test" },
    });
    assert.equal(ok.status, 200);
    const refused = await platform.fetch("/keyed", {
      headers: { "x-request-id": "access-log-no" },
    });
    assert.equal(refused.status, 401);
    const file = join(platform.dataDir, "access.log");
    const lines = await eventuallyValue("both requests in the access log", async () => {
      const entries = (await readFile(file, "utf8").catch(() => ""))
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const mine = entries.filter((e) => String(e["requestId"]).startsWith("access-log-"));
      return mine.length === 2 ? mine : undefined;
    });
    const okLine = lines.find((l) => l["requestId"] === "access-log-ok");
    assert.ok(okLine !== undefined);
    assert.equal(okLine["method"], "GET");
    assert.equal(okLine["path"], "/keyed");
    assert.equal(okLine["route"], "edges ANY /keyed");
    assert.equal(okLine["project"], "edges");
    assert.equal(okLine["function"], "edge");
    assert.equal(okLine["status"], 200);
    assert.equal(okLine["keyId"], key.id);
    assert.equal(okLine["client"], "127.0.0.1");
    assert.equal(okLine["userAgent"], "edge-test");
    assert.equal(okLine["bytes"], JSON.stringify({ method: "GET", bytes: 0 }).length);
    assert.equal(typeof okLine["durationMs"], "number");
    const noLine = lines.find((l) => l["requestId"] === "access-log-no");
    assert.equal(noLine?.["status"], 401);
    assert.equal(noLine["error"], "AUTH_REQUIRED");
    const whole = await readFile(file, "utf8");
    assert.ok(!whole.includes(key.key), "the key itself is never logged");
    assert.ok(!whole.includes("s3cret"), "queries are not logged");
  });
});
