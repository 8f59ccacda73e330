// The records port's one conformance suite, run against every backend
// (test/backends/*-records.test.ts). It pins what the recorder, the admin API and the console rely
// on: a record comes back as it went in; a function's records list newest first, filtered and
// paged; retention by count and by age; removal; and functions and projects kept apart.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import {
  billedGbSeconds,
  type InvocationRecordEntry,
  type RecordsPort,
} from "../../src/ports/records.js";

export interface RecordsUnderTest {
  port: RecordsPort;
  cleanup(): Promise<void>;
}

let counter = 0;

export function sampleRecord(
  project: string,
  fn: string,
  overrides: Partial<InvocationRecordEntry> = {},
): InvocationRecordEntry {
  counter++;
  const id = overrides.id ?? `${randomBytes(6).toString("hex")}-${counter}`;
  const durationMs = overrides.durationMs ?? 1.5;
  const memoryMiB = overrides.memoryMiB ?? 128;
  return {
    id,
    requestId: id,
    project,
    function: fn,
    version: 1,
    trigger: "http",
    attempt: 1,
    start: Date.now(),
    durationMs,
    cold: false,
    outcome: "ok",
    status: 200,
    memoryMiB,
    billedGbSeconds: billedGbSeconds(memoryMiB, durationMs),
    worker: "test:1",
    logs: [],
    logsDropped: 0,
    ...overrides,
  };
}

export function recordsConformance(name: string, open: () => Promise<RecordsUnderTest>): void {
  void describe(`records port conformance: ${name}`, () => {
    let under: RecordsUnderTest;
    let port: RecordsPort;
    // fresh names: a backend that keeps state between runs (a NATS server) needs no reset
    const project = `p${randomBytes(4).toString("hex")}`;
    before(async () => {
      under = await open();
      port = under.port;
    });
    after(async () => {
      await port.close();
      await under.cleanup();
    });

    void it("gives a record back as it was appended, found by its id", async () => {
      const record = sampleRecord(project, "echo", {
        cold: true,
        initMs: 3.25,
        outcome: "error",
        status: 500,
        error: { code: "FUNCTION_ERROR", message: "boom: ünïcödé" },
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        memoryPeakBytes: 12_345_678,
        logs: [{ ts: 1_700_000_000_000, level: "warn", message: "a line\nwith two" }],
        logsDropped: 7,
        input: {
          method: "POST",
          url: "http://x/fn/a/b?q=1",
          headers: { "content-type": "application/json" },
          body: '{"a":1}',
          encoding: "utf8",
          size: 7,
          truncated: false,
        },
        output: {
          status: 500,
          headers: {},
          body: "AAEC",
          encoding: "base64",
          size: 3,
          truncated: false,
        },
      });
      await port.append([record]);
      assert.deepEqual(await port.get(record.id), record);
      assert.equal(await port.get(`missing-${randomBytes(4).toString("hex")}`), undefined);
    });

    void it("finds ids holding characters that mean something to subjects, paths and SQL", async () => {
      const ids = ["a.b.c", "x y", "slash/ed", "star*gt>", "quote'\"", "ünï", "=3d", "r~2"];
      const records = ids.map((id) => sampleRecord(project, "odd", { id, requestId: id }));
      await port.append(records);
      for (const record of records) assert.deepEqual(await port.get(record.id), record, record.id);
    });

    void it("lists a function's records newest first, filtered and paged", async () => {
      const t = Date.now();
      const records = [
        sampleRecord(project, "list", { start: t - 5000, outcome: "ok" }),
        sampleRecord(project, "list", { start: t - 4000, outcome: "error", trigger: "message" }),
        sampleRecord(project, "list", { start: t - 3000, outcome: "ok", trigger: "message" }),
        sampleRecord(project, "list", { start: t - 2000, outcome: "error" }),
        sampleRecord(project, "list", { start: t - 1000, outcome: "ok", trigger: "scheduled" }),
      ];
      // another function and the same function name in another project stay out
      await port.append([
        ...records,
        sampleRecord(project, "other", { start: t }),
        sampleRecord(`${project}x`, "list", { start: t }),
      ]);
      const ids = (rs: InvocationRecordEntry[]) => rs.map((r) => r.start - t);
      assert.deepEqual(ids(await port.list(project, "list")), [-1000, -2000, -3000, -4000, -5000]);
      assert.deepEqual(ids(await port.list(project, "list", { limit: 2 })), [-1000, -2000]);
      assert.deepEqual(ids(await port.list(project, "list", { outcome: "error" })), [-2000, -4000]);
      assert.deepEqual(
        ids(await port.list(project, "list", { trigger: "message" })),
        [-3000, -4000],
      );
      assert.deepEqual(
        ids(await port.list(project, "list", { before: t - 2000, limit: 2 })),
        [-3000, -4000],
      );
      assert.deepEqual(
        ids(await port.list(project, "list", { since: t - 3000 })),
        [-1000, -2000, -3000],
      );
      assert.deepEqual(await port.list(project, "nothing-here"), []);
    });

    void it("keeps only the newest records when trimmed to a count", async () => {
      const t = Date.now();
      const records = Array.from({ length: 10 }, (_, i) =>
        sampleRecord(project, "keep", { start: t - 10_000 + i * 1000 }),
      );
      for (const record of records) await port.append([record]);
      await port.trim(project, "keep", { keep: 3, maxAgeMs: 3_600_000 });
      const left = await port.list(project, "keep", { limit: 100 });
      assert.deepEqual(
        left.map((r) => r.id),
        records
          .slice(-3)
          .reverse()
          .map((r) => r.id),
      );
      assert.equal(await port.get(records[0]?.id ?? ""), undefined);
    });

    void it("keeps an appended batch whole while any of its records is kept", async () => {
      const t = Date.now();
      const older = sampleRecord(project, "whole", { start: t - 9000 });
      const batch = [0, 1, 2, 3].map((i) =>
        sampleRecord(project, "whole", { start: t - 4000 + i }),
      );
      await port.append([older]);
      await port.append(batch);
      await port.trim(project, "whole", { keep: 2, maxAgeMs: 3_600_000 });
      // the batch's newest two are kept, so its other two stay; the older batch goes
      assert.deepEqual(
        (await port.list(project, "whole")).map((r) => r.id),
        batch.map((r) => r.id).reverse(),
      );
    });

    void it("drops records older than the age it is trimmed to", async () => {
      const old = [sampleRecord(project, "age"), sampleRecord(project, "age")];
      await port.append(old);
      await delay(1_200);
      const fresh = sampleRecord(project, "age");
      await port.append([fresh]);
      await port.trim(project, "age", { keep: 1000, maxAgeMs: 1_000 });
      assert.deepEqual(
        (await port.list(project, "age")).map((r) => r.id),
        [fresh.id],
      );
      assert.equal(await port.get(old[0]?.id ?? ""), undefined);
    });

    void it("removes one function's records and no other's", async () => {
      const gone = [sampleRecord(project, "gone"), sampleRecord(project, "gone")];
      const stays = sampleRecord(project, "stays");
      await port.append([...gone, stays]);
      await port.remove(project, "gone");
      assert.deepEqual(await port.list(project, "gone"), []);
      assert.equal(await port.get(gone[1]?.id ?? ""), undefined);
      assert.deepEqual(await port.get(stays.id), stays);
    });

    void it("refuses work once closed", async () => {
      const extra = await open();
      await extra.port.close();
      await assert.rejects(
        Promise.resolve().then(() => extra.port.append([sampleRecord(project, "closed")])),
        /closed/,
      );
      await extra.cleanup();
    });
  });
}
