// Limits and isolation: infinite loops, memory bombs and escape attempts are contained, and the
// platform and other functions keep serving.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { InvocationRecordEntry } from "../../src/ports/records.js";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, startPlatform, type Platform } from "../kit/platform.js";

describe("limits and isolation", () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform();
    const deployed = await platform.deploy("limits");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(() => platform.dispose());

  it("answers an infinite loop with 504 at the timeout and replaces the instance", async () => {
    assert.equal(await (await platform.fetch("/fn/limits/loop/")).text(), "alive");
    const started = Date.now();
    const res = await platform.fetch("/fn/limits/loop/spin");
    const elapsed = Date.now() - started;
    assert.equal(res.status, 504);
    assert.equal(await errorCode(res), "FUNCTION_TIMEOUT");
    assert.ok(elapsed >= 500, `answered after ${elapsed} ms, before the 500 ms timeout`);
    // the stuck isolate was disposed: a new one serves
    assert.equal(await (await platform.fetch("/fn/limits/loop/")).text(), "alive");
    const other = await platform.fetch("/fn/limits/ok/");
    assert.equal(await other.text(), "ok");
  });

  it("answers a memory bomb with 500 and keeps the platform and other functions alive", async () => {
    const res = await platform.fetch("/fn/limits/bomb/explode");
    assert.equal(res.status, 500);
    assert.equal(await errorCode(res), "FUNCTION_MEMORY_LIMIT");
    // its record says it failed so, and that it used at least its 32 MiB
    const id = res.headers.get("x-request-id") ?? "";
    const record = await eventuallyValue(`the record of ${id}`, async () => {
      const r = await platform.fetch(`/admin/v1/records/${encodeURIComponent(id)}`, {
        headers: { authorization: `Bearer ${platform.token}` },
      });
      return r.status === 200 ? ((await r.json()) as InvocationRecordEntry) : undefined;
    });
    assert.equal(record.error?.code, "FUNCTION_MEMORY_LIMIT");
    assert.ok(
      (record.memoryPeakBytes ?? 0) >= 32 * 1024 * 1024,
      `peak ${record.memoryPeakBytes} under the 32 MiB limit it hit`,
    );
    assert.equal(await (await platform.fetch("/fn/limits/ok/")).text(), "ok");
    assert.equal(await (await platform.fetch("/fn/limits/bomb/")).text(), "alive");
    assert.equal((await platform.fetch("/healthz")).status, 200);
  });

  it("keeps serving other requests while a loop spins", async () => {
    const spinning = platform.fetch("/fn/limits/loop/spin");
    const results = await Promise.all(
      Array.from({ length: 10 }, () => platform.fetch("/fn/limits/ok/").then((r) => r.text())),
    );
    assert.deepEqual(results, Array(10).fill("ok"));
    assert.equal((await spinning).status, 504);
  });

  it("blocks every known way out of the isolate", async () => {
    const res = await platform.fetch("/fn/limits/escape/");
    assert.equal(res.status, 200);
    const results = (await res.json()) as Record<string, string>;
    assert.ok(Object.keys(results).length >= 8);
    for (const [probe, outcome] of Object.entries(results)) {
      assert.match(outcome, /^blocked/, `${probe}: ${outcome}`);
    }
  });
});
