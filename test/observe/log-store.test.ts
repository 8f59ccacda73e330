// The log store's bounds: a function that logs faster than its file is written loses lines from
// the file only, and a counted line in their place says so; followers and the tail keep them all.
// A function's file is rotated at its cap, so its disk use stays under twice the cap, and a
// restarted store reads its history back across the rotation.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { LogStore, type LogLine } from "../../src/observe/logs.js";
import { eventually } from "../kit/eventually.js";
import { assertNewestInOrder, rotatedRequestIds } from "../kit/rotated-log.js";

/** Line `i` of function `fn` in project p, request r<i>. */
function lineOf(fn: string, i: number, message: string): LogLine {
  return {
    ts: Date.now(),
    project: "p",
    function: fn,
    version: 1,
    requestId: `r${i}`,
    level: "log",
    message,
  };
}

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
      for (let i = 0; i < total; i++) store.append(lineOf("chatty", i, `${i} ${big}`));
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
        store.append(lineOf("rolling", i, `${i} ${pad}`));
        if (i % 10 === 9) await turn();
      }
      await store.close();
      const names = (await readdir(dir)).sort();
      assert.deepEqual(names, ["p--rolling.ndjson", "p--rolling.ndjson.1"], "one file before");
      const kept = await rotatedRequestIds(dir, "p--rolling.ndjson", cap);
      assert.ok(kept.length > cap / 1000, `kept ${kept.length} lines`);
      // the newest lines, in order, none missing between the two files
      assertNewestInOrder(kept, total);

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

  void it("looks past the lines in memory, through both files, for a filtered tail", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-logsearch-"));
    const cap = 3 * 1024 * 1024;
    const line = (i: number): LogLine => ({
      ts: 1_700_000_000_000 + i,
      project: "p",
      function: "busy",
      version: 1,
      requestId: `r${i}`,
      level: i % 500 === 0 ? "error" : "log",
      // several bytes a character, so 1 MiB reads begin inside characters
      message: `${i}${i % 100 === 0 ? " Needle" : ""} ${"é€".repeat(300)}`,
    });
    const total = 3000; // ~4.5 MiB: the rotated file holds the oldest two thirds
    const store = await LogStore.open(dir, undefined, cap);
    for (let i = 0; i < total; i++) {
      store.append(line(i));
      if (i % 50 === 49) await turn();
    }
    await store.close();
    assert.deepEqual((await readdir(dir)).sort(), ["p--busy.ndjson", "p--busy.ndjson.1"]);
    // a restarted store holds the last 1000 lines in memory; the rest are only on disk
    const again = await LogStore.open(dir, undefined, cap);
    try {
      const ids = (lines: LogLine[]) => lines.map((l) => l.requestId);
      const inMemory = await again.tail("p", "busy", 1000);
      assert.equal(inMemory[0]?.requestId, "r2000");

      const one = await again.tail("p", "busy", 100, { requestId: "r5" });
      assert.deepEqual(one, [line(5)], "a line of the rotated file, whole");

      const needles = await again.tail("p", "busy", 100, { text: "needle" });
      assert.deepEqual(
        ids(needles),
        Array.from({ length: 30 }, (_, k) => `r${k * 100}`),
        "disk first, then memory, oldest first",
      );

      const errors = await again.tail("p", "busy", 3, { level: "error" });
      assert.deepEqual(ids(errors), ["r1500", "r2000", "r2500"], "the last three, across both");

      const none = await again.tail("p", "busy", 100, { requestId: "r-none" });
      assert.deepEqual(none, []);
    } finally {
      await again.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
