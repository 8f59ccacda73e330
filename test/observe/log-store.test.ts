// The log store's bound: a function that logs faster than its file is written loses lines from
// the file only, and a counted line in their place says so; followers and the tail keep them all.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LogStore, type LogLine } from "../../src/observe/logs.js";
import { eventually } from "../kit/eventually.js";

void describe("log store", () => {
  void it("says how many lines its file dropped when a function outran the disk", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-logstore-"));
    const reported: Array<[string, string, number]> = [];
    const store = await LogStore.open(dir, (p, f, n) => reported.push([p, f, n]));
    try {
      const followed: LogLine[] = [];
      store.follow("p", "chatty", (line) => followed.push(line));
      const total = 1000;
      const big = "x".repeat(15 * 1024);
      // in one turn: nothing reaches the disk meanwhile, so the backlog passes its 8 MiB bound
      for (let i = 0; i < total; i++)
        store.append({
          ts: Date.now(),
          project: "p",
          function: "chatty",
          version: 1,
          requestId: `r${i}`,
          level: "log",
          message: `${i} ${big}`,
        });
      assert.equal(followed.length, total, "followers get every line");
      await eventually("the dropped-lines line", () => reported.length === 1);
      const [, , count] = reported[0] ?? ["", "", 0];
      assert.ok(count > 0 && count < total, `dropped ${count}`);
      await store.close();
      const lines = (await readFile(join(dir, "p--chatty.ndjson"), "utf8"))
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as LogLine);
      const last = lines.at(-1);
      assert.equal(last?.level, "warn");
      assert.equal(
        last?.message,
        `${count} log lines dropped from the log file: p/chatty logged faster than it could be written`,
      );
      // what the file kept is the first lines in order, then the notice: nothing lost silently
      assert.equal(lines.length - 1 + count, total);
      assert.deepEqual(
        lines.slice(0, -1).map((l) => l.requestId),
        Array.from({ length: total - count }, (_, i) => `r${i}`),
      );
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
