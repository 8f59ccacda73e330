// The usage meter on the real kv backends (SQLite, and NATS JetStream KV when there): meters
// sharing a bucket add up; a write that lands between a meter's read and its write makes it try
// again instead of overwriting; counts a failed store could not take wait for the next flush;
// counts go to the hour they belong to, late ones included; unknown functions get no counters.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openNatsKv } from "../../src/backends/nats-kv/index.js";
import { openSqliteKv } from "../../src/backends/sqlite-kv/index.js";
import { addToStored, HOUR_MS, usageKey, zeroCounts } from "../../src/observe/usage-counts.js";
import { UsageMeter } from "../../src/observe/usage-meter.js";
import { readUsage, type UsageQuery } from "../../src/observe/usage-query.js";
import type { KvBucket, KvPort } from "../../src/ports/kv.js";
import type { InvocationRecordEntry } from "../../src/ports/records.js";
import { natsService } from "../kit/services.js";

const nats = await natsService();

/** 10:00 UTC on a day long enough ago that nothing else writes there. */
const TEN = Date.UTC(2024, 0, 15, 10);

function invocation(
  fn: string,
  start: number,
  outcome: "ok" | "error",
  memoryMiB: number,
  durationMs: number,
): InvocationRecordEntry {
  return {
    id: randomBytes(8).toString("hex"),
    requestId: "r",
    project: "p",
    function: fn,
    version: 1,
    trigger: "http",
    attempt: 1,
    start,
    durationMs,
    cold: false,
    outcome,
    memoryMiB,
    billedGbSeconds: ((memoryMiB / 1024) * Math.ceil(durationMs)) / 1000,
    worker: "test",
    logs: [],
    logsDropped: 0,
  };
}

function meterSuite(
  label: string,
  open: () => Promise<{ port: KvPort; done: () => Promise<void> }>,
) {
  void describe(`usage meter (${label})`, () => {
    let port: KvPort;
    let done: () => Promise<void>;
    let bucketName: string;
    const errors: string[] = [];
    const meter = (kv: KvPort = port, counted = (_p: string, f: string) => f !== "ghost") =>
      new UsageMeter({
        kv,
        bucket: bucketName,
        counted,
        onError: (error, what) => errors.push(`${what}: ${String(error)}`),
        flushMs: HOUR_MS, // flushed by hand
      });
    const read = async (query: Partial<UsageQuery>) =>
      readUsage(await port.bucket(bucketName), {
        project: "p",
        since: TEN - HOUR_MS,
        until: TEN + 3 * HOUR_MS,
        by: "total",
        ...query,
      });

    before(async () => {
      ({ port, done } = await open());
    });
    after(() => done());

    void it("adds up the counts of meters sharing a bucket, flushed at once", async () => {
      bucketName = `usage_${randomBytes(4).toString("hex")}`;
      const meters = [meter(), meter(), meter()];
      for (let round = 0; round < 5; round++) {
        meters.forEach((m, i) => {
          for (let n = 0; n <= i; n++) m.record(invocation("f", TEN + 60_000, "ok", 128, 10.2));
          m.record(invocation("f", TEN + 60_000, "error", 128, 3));
        });
        await Promise.all(meters.map((m) => m.flush()));
      }
      await Promise.all(meters.map((m) => m.close()));
      const { usage, totals } = await read({ fn: "f" });
      // 5 rounds of (1 + 2 + 3) ok and 3 failed
      assert.equal(usage.length, 1);
      assert.equal(totals.invocations, 5 * 9);
      assert.equal(totals.errors, 5 * 3);
      assert.equal(totals.gbSeconds, (5 * (6 * 128 * 11 + 3 * 128 * 3)) / 1_024_000);
      assert.equal(totals.egressBytes, 0);
      assert.deepEqual(errors, []);
    });

    void it("tries again when another process writes between its read and its write", async () => {
      bucketName = `usage_${randomBytes(4).toString("hex")}`;
      const real = await port.bucket(bucketName);
      const key = usageKey("p", "f", TEN / HOUR_MS);
      let reads = 0;
      // the first read returns what was there, and then another process's add lands
      const contended: KvBucket = {
        ...real,
        name: real.name,
        async get(k) {
          const entry = await real.get(k);
          if (k === key && reads++ === 0)
            await addToStored(real, key, { ...zeroCounts(), invocations: 100, egressBytes: 1000 });
          return entry;
        },
      };
      const m = meter({ ...port, bucket: () => Promise.resolve(contended) });
      m.record(invocation("f", TEN, "ok", 64, 1));
      m.egress("p", "f", 5); // egress is counted at the hour it is sent: now
      await m.close();
      assert.ok(reads >= 2, "it read again after the conflict");
      const { totals } = await read({ fn: "f" });
      assert.equal(totals.invocations, 101);
      assert.equal(totals.egressBytes, 1000);
      const now = await readUsage(real, {
        project: "p",
        fn: "f",
        since: Date.now() - HOUR_MS,
        until: Date.now() + 1,
        by: "total",
      });
      assert.equal(now.totals.egressBytes, 5);
      assert.deepEqual(errors, []);
    });

    void it("keeps what a failed store could not take for the next flush", async () => {
      bucketName = `usage_${randomBytes(4).toString("hex")}`;
      const real = await port.bucket(bucketName);
      let failing = true;
      const flaky: KvBucket = {
        ...real,
        name: real.name,
        put: (k, v, o) =>
          failing ? Promise.reject(new Error("the store is away")) : real.put(k, v, o),
      };
      const m = meter({ ...port, bucket: () => Promise.resolve(flaky) });
      m.record(invocation("f", TEN, "ok", 64, 1));
      await m.flush();
      assert.equal(errors.length, 1);
      assert.match(errors[0] ?? "", /usage: storing counts: Error: the store is away/);
      errors.length = 0;
      m.record(invocation("f", TEN, "error", 64, 1));
      failing = false;
      await m.close();
      const { totals } = await read({ fn: "f" });
      assert.equal(totals.invocations, 2);
      assert.equal(totals.errors, 1);
      assert.deepEqual(errors, []);
    });

    void it("counts each invocation in the hour it started, late ones too; unknown names not at all", async () => {
      bucketName = `usage_${randomBytes(4).toString("hex")}`;
      const m = meter();
      m.record(invocation("f", TEN + 10 * 60_000, "ok", 128, 1));
      m.record(invocation("f", TEN + HOUR_MS + 5 * 60_000, "ok", 128, 1)); // the hour turned
      m.record(invocation("f", TEN + 59 * 60_000, "error", 128, 1)); // began before it turned
      m.record(invocation("g", TEN + 2 * HOUR_MS, "ok", 128, 1));
      m.record(invocation("ghost", TEN, "ok", 128, 1));
      m.egress("p", "ghost", 100);
      await m.close();
      const hours = await read({ by: "hour" });
      assert.deepEqual(
        hours.usage.map((r) => [r.function, r.period, r.invocations, r.errors]),
        [
          ["f", new Date(TEN).toISOString(), 2, 1],
          ["f", new Date(TEN + HOUR_MS).toISOString(), 1, 0],
          ["g", new Date(TEN + 2 * HOUR_MS).toISOString(), 1, 0],
        ],
      );
      const days = await read({ by: "day" });
      assert.deepEqual(
        days.usage.map((r) => [r.function, r.period, r.invocations]),
        [
          ["f", new Date(Date.UTC(2024, 0, 15)).toISOString(), 3],
          ["g", new Date(Date.UTC(2024, 0, 15)).toISOString(), 1],
        ],
      );
      // a range that ends as 11:00 begins leaves 11:00 out
      const first = await read({ until: TEN + HOUR_MS, by: "hour" });
      assert.deepEqual(
        first.usage.map((r) => r.period),
        [new Date(TEN).toISOString()],
      );
      assert.deepEqual(errors, []);
    });
  });
}

meterSuite("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-usage-"));
  const port = openSqliteKv(join(dir, "kv.sqlite"));
  return {
    port,
    async done() {
      await port.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

if (nats.skip === false) {
  const url = nats.url;
  meterSuite("nats", async () => {
    const port = await openNatsKv({ servers: url, name: "litefaas-test-usage" });
    const made = new Set<string>();
    const tracked: KvPort = {
      ...port,
      bucket: (name) => {
        made.add(name);
        return port.bucket(name);
      },
    };
    return {
      port: tracked,
      async done() {
        for (const name of made) await port.deleteBucket(name);
        await port.close();
      },
    };
  });
}
