// Invocation records end to end, on the embedded backends and on NATS: every trigger leaves a
// record (HTTP, events with their retries, async, replays) with its timing, cold/warm flag,
// outcome, billed units and log lines; payloads when asked; filters; retention; replay against
// the live or an older version; and the refusals.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { InvocationRecordEntry } from "../../src/ports/records.js";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, FIXTURES, startPlatform, type Platform } from "../kit/platform.js";
import { natsService } from "../kit/services.js";

const nats = await natsService();

function recordsSuite(label: string, args: string[]): void {
  void describe(`invocation records (${label})`, () => {
    let platform: Platform;
    let project: string;
    const admin = () => ({ authorization: `Bearer ${platform.token}` });
    const record = (id: string) =>
      eventuallyValue(`the record of ${id}`, async () => {
        const r = await platform.fetch(`/admin/v1/records/${encodeURIComponent(id)}`, {
          headers: admin(),
        });
        return r.status === 200 ? ((await r.json()) as InvocationRecordEntry) : undefined;
      });
    const list = async (fn: string, query = "") => {
      const r = await platform.fetch(`/admin/v1/functions/records/${fn}/records?${query}`, {
        headers: admin(),
      });
      assert.equal(r.status, 200, await r.clone().text());
      return ((await r.json()) as { records: InvocationRecordEntry[] }).records;
    };
    const call = async (path: string, init?: RequestInit) => {
      const r = await platform.fetch(`/fn/records/${path}`, init);
      const id = r.headers.get("x-request-id");
      assert.ok(id !== null);
      return { response: r, id, text: await r.text() };
    };

    before(async () => {
      platform = await startPlatform({ args });
      project = await mkdtemp(join(tmpdir(), "litefaas-records-"));
      await cp(join(FIXTURES, "records"), project, { recursive: true });
      const deployed = await platform.cli(["deploy", project]);
      assert.equal(deployed.code, 0, deployed.stderr);
    });
    after(() => platform.dispose());

    void it("records an HTTP invocation: cold then warm, timing, billing, logs and payloads", async () => {
      const first = await call("echo/hi", {
        method: "POST",
        body: "hello",
        headers: { authorization: "Bearer not-for-records", "x-custom": "kept" },
      });
      assert.equal(first.response.status, 200);
      const cold = await record(first.id);
      assert.equal(cold.id, first.id);
      assert.equal(cold.trigger, "http");
      assert.equal(cold.version, 1);
      assert.equal(cold.cold, true);
      assert.ok(cold.initMs !== undefined && cold.initMs > 0, `initMs ${cold.initMs}`);
      assert.equal(cold.outcome, "ok");
      assert.equal(cold.status, 200);
      assert.ok(cold.durationMs > 0);
      assert.equal(cold.memoryMiB, 64);
      assert.equal(cold.billedGbSeconds, ((64 / 1024) * Math.ceil(cold.durationMs)) / 1000);
      assert.deepEqual(
        cold.logs.map((l) => [l.level, l.message]),
        [["log", "echo POST /hi hello"]],
      );
      assert.equal(cold.input?.method, "POST");
      assert.equal(cold.input?.body, "hello");
      assert.equal(cold.input?.headers["x-custom"], "kept");
      assert.equal(cold.input?.headers["authorization"], undefined, "credentials are not kept");
      assert.equal(cold.output?.status, 200);
      assert.equal(cold.output?.headers["x-echo"], "yes");
      assert.deepEqual(JSON.parse(cold.output?.body ?? ""), {
        generation: "1",
        method: "POST",
        body: "hello",
      });

      const second = await call("echo/again");
      const warm = await record(second.id);
      assert.equal(warm.cold, false);
      assert.equal(warm.initMs, undefined);
      // the heap is measured after the first invocation, off the request path
      assert.ok(
        warm.memoryPeakBytes !== undefined && warm.memoryPeakBytes > 0,
        `memory ${warm.memoryPeakBytes}`,
      );
    });

    void it("records failures with their code, and a streamed answer until its last byte", async () => {
      const thrown = await call("echo/x?fail=1");
      assert.equal(thrown.response.status, 500);
      const failed = await record(thrown.id);
      assert.equal(failed.outcome, "error");
      assert.equal(failed.status, 500);
      assert.equal(failed.error?.code, "FUNCTION_ERROR");
      // a failure has no response, but its instance's peak is known all the same
      assert.ok(
        failed.memoryPeakBytes !== undefined && failed.memoryPeakBytes > 0,
        `memory ${failed.memoryPeakBytes}`,
      );
      // the stack is among the invocation's own log lines
      assert.ok(
        failed.logs.some((l) => /^Uncaught Error: asked to fail/.test(l.message)),
        JSON.stringify(failed.logs),
      );

      const unavailable = await call("echo/x?status=503");
      assert.equal(unavailable.response.status, 503);
      const answered = await record(unavailable.id);
      assert.equal(answered.outcome, "error");
      assert.equal(answered.error?.code, "FUNCTION_ERROR_STATUS");

      const streamed = await call("echo/x?stream=5");
      assert.equal(streamed.text, "piece 0\npiece 1\npiece 2\npiece 3\npiece 4\n");
      const r = await record(streamed.id);
      // five pieces 20 ms apart: the record lasts until the last one was sent
      assert.ok(r.durationMs >= 80, `duration ${r.durationMs}`);
      assert.equal(r.output?.body, streamed.text);
    });

    void it("keeps 50 log lines in a record and counts the rest", async () => {
      const chatty = await call("echo/x?logs=70");
      const r = await record(chatty.id);
      assert.equal(r.logs.length, 50);
      assert.equal(r.logs[1]?.message, "line 0");
      assert.equal(r.logsDropped, 21); // the echo line and 70 more: 71 in all
    });

    void it("records events, each retry under its own id, and async invocations", async () => {
      const published = await platform.cli([
        "events",
        "publish",
        "records",
        "rec.fails",
        '{"fail":true}',
      ]);
      assert.equal(published.code, 0, published.stderr);
      const tries = await eventuallyValue("two tries of the failing event", async () => {
        const found = await list("echo", "trigger=message");
        const failing = found.filter((r) => r.logs.some((l) => l.message.includes("rec.fails")));
        return failing.length >= 2 ? failing : undefined;
      });
      const [second, first] = tries;
      assert.ok(first !== undefined && second !== undefined);
      assert.equal(first.attempt, 1);
      assert.equal(second.attempt, 2);
      assert.equal(second.requestId, first.requestId);
      assert.equal(second.id, `${first.requestId}~2`);
      assert.equal(first.outcome, "error");
      assert.equal(first.input?.subject, "rec.fails");
      assert.deepEqual(JSON.parse(first.input?.body ?? ""), { fail: true });
      assert.equal(first.status, undefined, "events have no HTTP status");

      const queued = await platform.fetch("/fn/records/echo/later", {
        method: "POST",
        body: "queued",
        headers: { "x-litefaas-invocation": "async" },
      });
      assert.equal(queued.status, 202);
      const { id } = (await queued.json()) as { id: string };
      const ran = await record(id);
      assert.equal(ran.trigger, "async");
      assert.equal(ran.input?.body, "queued");
      assert.equal(ran.outcome, "ok");
    });

    void it("lists a function's records newest first, filtered", async () => {
      const errors = await list("echo", "outcome=error");
      assert.ok(errors.length >= 2);
      assert.ok(errors.every((r) => r.outcome === "error"));
      const all = await list("echo", "limit=3");
      assert.equal(all.length, 3);
      for (let i = 1; i < all.length; i++)
        assert.ok((all[i - 1]?.start ?? 0) >= (all[i]?.start ?? 0), "newest first");
      assert.deepEqual(await list("echo", `since=${Date.now() + 60_000}`), []);

      const cli = await platform.cli(["invocations", "ls", "records/echo", "--status", "error"]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /FUNCTION_ERROR/);
      assert.doesNotMatch(cli.stdout, / 200 ok/);
    });

    void it("replays a recorded request on the live version or an older one", async () => {
      const original = await call("echo/replay-me", { method: "PUT", body: "again" });
      await record(original.id);
      const file = join(project, "litefaas.yaml");
      await writeFile(
        file,
        (await readFile(file, "utf8")).replace('GENERATION: "1"', 'GENERATION: "2"'),
      );
      const redeployed = await platform.cli(["deploy", project]);
      assert.equal(redeployed.code, 0, redeployed.stderr);

      const live = await platform.cli(["invocations", "replay", original.id, "--json"]);
      assert.equal(live.code, 0, live.stderr);
      const replayed = JSON.parse(live.stdout) as { id: string; version: number; body: string };
      assert.equal(replayed.version, 2);
      assert.deepEqual(JSON.parse(replayed.body), {
        generation: "2",
        method: "PUT",
        body: "again",
      });
      const r = await record(replayed.id);
      assert.equal(r.trigger, "replay");
      assert.equal(r.version, 2);
      assert.equal(r.input?.body, "again");

      const old = await platform.cli(["invocations", "replay", original.id, "--version", "1"]);
      assert.equal(old.code, 0, old.stderr);
      assert.match(old.stdout, /"generation":"1"/);

      const shown = await platform.cli(["invocations", "show", original.id]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /trigger: +http/);
      assert.match(shown.stdout, /echo PUT \/replay-me again/);
    });

    void it("keeps only the newest records of a function with records.keep", async () => {
      // a pause between calls puts each record in a batch of its own (batches go whole)
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push((await call("plain")).id);
        await delay(250);
      }
      const kept = await eventuallyValue("plain trimmed to its newest records", async () => {
        const found = await list("plain", "limit=100");
        const present = new Set(found.map((r) => r.id));
        return present.has(ids[0] ?? "") || present.has(ids[1] ?? "") ? undefined : found;
      });
      assert.deepEqual(
        kept.slice(0, 3).map((r) => r.id),
        ids.slice(-3).reverse(),
      );
      assert.ok(kept.length < 7);
    });

    void it("refuses what it cannot do, saying why and how to fix it", async () => {
      const plain = await call("plain");
      await record(plain.id);
      const noInput = await platform.cli(["invocations", "replay", plain.id]);
      assert.equal(noInput.code, 1);
      assert.match(noInput.stderr, /recorded without its input/);
      assert.match(noInput.stderr, /records: \{ payloads: true \}/);

      const missing = await platform.fetch("/admin/v1/records/no-such-id", { headers: admin() });
      assert.equal(missing.status, 404);
      assert.equal(await errorCode(missing), "NOT_FOUND");
      const bad = await platform.fetch("/admin/v1/functions/records/echo/records?outcome=maybe", {
        headers: admin(),
      });
      assert.equal(bad.status, 400);
      assert.equal(await errorCode(bad), "INVALID_REQUEST");
      const since = await platform.cli(["invocations", "ls", "records/echo", "--since", "soon"]);
      assert.equal(since.code, 1);
      assert.match(since.stderr, /since "soon" is not a time/);
      // a name that would be a wildcard in a NATS subject reads nothing
      const wild = await platform.fetch("/admin/v1/functions/*/echo/records", { headers: admin() });
      assert.equal(wild.status, 400);
      assert.equal(await errorCode(wild), "INVALID_REQUEST");
      const anonymous = await platform.fetch("/admin/v1/functions/records/echo/records");
      assert.equal(anonymous.status, 401);
      const echo = await call("echo/x");
      await record(echo.id);
      const noVersion = await platform.cli(["invocations", "replay", echo.id, "--version", "9"]);
      assert.equal(noVersion.code, 1);
      assert.match(noVersion.stderr, /records\/echo has no version 9/);
    });
  });
}

recordsSuite("embedded", []);
if (nats.skip === false) recordsSuite("nats", ["--nats", nats.url]);
