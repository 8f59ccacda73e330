// The log store's bounds: a function that logs faster than its file is written loses lines from
// the file only, and a counted line in their place says so; followers and the tail keep them all.
// A function's file is rotated at its cap, so its disk use stays under twice the cap, and a
// restarted store reads its history back across the rotation.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
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

  void it("rotates a function's file at its cap, keeps one before it, and reads both back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-logrotate-"));
    const cap = 64 * 1024;
    const store = await LogStore.open(dir, undefined, cap);
    try {
      const pad = "y".repeat(900);
      const total = 400; // ~400 KiB: six caps' worth
      for (let i = 0; i < total; i++) {
        store.append({
          ts: Date.now(),
          project: "p",
          function: "rolling",
          version: 1,
          requestId: `r${i}`,
          level: "log",
          message: `${i} ${pad}`,
        });
        if (i % 10 === 9) await turn();
      }
      await store.close();
      const names = (await readdir(dir)).sort();
      assert.deepEqual(names, ["p--rolling.ndjson", "p--rolling.ndjson.1"], "one file before");
      const read = async (name: string) => {
        assert.ok((await stat(join(dir, name))).size <= cap, `${name} within the cap`);
        return (await readFile(join(dir, name), "utf8"))
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => (JSON.parse(l) as LogLine).requestId);
      };
      const kept = [...(await read("p--rolling.ndjson.1")), ...(await read("p--rolling.ndjson"))];
      // the newest lines, in order, none missing between the two files
      const first = total - kept.length;
      assert.ok(kept.length > cap / 1000, `kept ${kept.length} lines`);
      assert.deepEqual(
        kept,
        Array.from({ length: kept.length }, (_, i) => `r${first + i}`),
      );

      // a new store (a restart) finds the history in both files
      const again = await LogStore.open(dir, undefined, cap);
      const tail = await again.tail("p", "rolling", 1000);
      assert.deepEqual(
        tail.map((l) => l.requestId),
        kept,
      );
      await again.close();
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
