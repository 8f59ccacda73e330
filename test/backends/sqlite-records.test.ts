// The records port's conformance suite on SQLite, plus what only this backend promises: records
// are in a file and survive closing and reopening it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openSqliteRecords } from "../../src/backends/sqlite-records/index.js";
import { recordsConformance, sampleRecord } from "../ports/records-conformance.js";

recordsConformance("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-sqlite-records-"));
  return {
    port: openSqliteRecords(join(dir, "records.sqlite")),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

void describe("sqlite records backend", () => {
  void it("keeps records across closing and reopening the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-sqlite-records-durable-"));
    try {
      const file = join(dir, "records.sqlite");
      const record = sampleRecord("p", "f", { logs: [{ ts: 1, level: "log", message: "kept" }] });
      const first = openSqliteRecords(file);
      await first.append([record]);
      await first.close();
      const second = openSqliteRecords(file);
      assert.deepEqual(await second.get(record.id), record);
      assert.deepEqual(await second.list("p", "f"), [record]);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
