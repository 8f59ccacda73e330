// Log filters on the store: the tail and followers get exactly the lines that match (a least
// level, one request, a piece of text in any case), and a project's followers get every function's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lineMatcher } from "../../src/observe/log-filter.js";
import { LogStore, type LogLevel, type LogLine } from "../../src/observe/logs.js";

const LEVELS: LogLevel[] = ["debug", "info", "log", "warn", "error"];

function line(fn: string, requestId: string, level: LogLevel, message: string): LogLine {
  return { ts: Date.now(), project: "p", function: fn, version: 1, requestId, level, message };
}

/** Every level once for each request, the message naming level and word. */
function talk(store: LogStore, fn: string, requestId: string, word: string): void {
  for (const level of LEVELS) store.append(line(fn, requestId, level, `${level} ${word}`));
}

const messages = (lines: LogLine[]) => lines.map((l) => `${l.requestId} ${l.message}`);

void describe("log filters", () => {
  void it("keeps a level and those above it, with info and log as one", () => {
    const at = (least: LogLevel) => {
      const matches = lineMatcher({ level: least });
      assert.ok(matches !== undefined);
      return LEVELS.filter((level) => matches(line("f", "r", level, "")));
    };
    assert.deepEqual(at("debug"), LEVELS);
    assert.deepEqual(at("info"), ["info", "log", "warn", "error"]);
    assert.deepEqual(at("log"), ["info", "log", "warn", "error"]);
    assert.deepEqual(at("warn"), ["warn", "error"]);
    assert.deepEqual(at("error"), ["error"]);
    assert.equal(lineMatcher({}), undefined, "no filter, no test");
  });

  void it("tails exactly the lines that match, the last `limit` of them", async () => {
    const store = await LogStore.open(undefined);
    talk(store, "f", "a", "Apple");
    talk(store, "f", "b", "banana");
    talk(store, "g", "c", "apple"); // another function's: never in f's tail
    assert.deepEqual(messages(await store.tail("p", "f", 100, { requestId: "a" })), [
      "a debug Apple",
      "a info Apple",
      "a log Apple",
      "a warn Apple",
      "a error Apple",
    ]);
    assert.deepEqual(messages(await store.tail("p", "f", 100, { level: "warn" })), [
      "a warn Apple",
      "a error Apple",
      "b warn banana",
      "b error banana",
    ]);
    assert.deepEqual(messages(await store.tail("p", "f", 100, { text: "APPLE", level: "log" })), [
      "a info Apple",
      "a log Apple",
      "a warn Apple",
      "a error Apple",
    ]);
    assert.deepEqual(messages(await store.tail("p", "f", 2, { text: "an" })), [
      "b warn banana",
      "b error banana",
    ]);
    assert.deepEqual(await store.tail("p", "f", 100, { requestId: "c" }), []);
  });

  void it("follows a function or a whole project", async () => {
    const store = await LogStore.open(undefined);
    const ofF: LogLine[] = [];
    const ofProject: LogLine[] = [];
    const stopF = store.follow("p", "f", (l) => ofF.push(l));
    const stopProject = store.followProject("p", (l) => ofProject.push(l));
    talk(store, "f", "a", "x");
    talk(store, "g", "b", "y");
    store.append({ ...line("f", "c", "log", "elsewhere"), project: "q" });
    assert.deepEqual(messages(ofF), messages(await store.tail("p", "f")));
    assert.deepEqual(
      ofProject.map((l) => `${l.function} ${l.message}`),
      [...LEVELS.map((l) => `f ${l} x`), ...LEVELS.map((l) => `g ${l} y`)],
    );
    stopF();
    stopProject();
    talk(store, "f", "d", "z");
    assert.equal(ofF.length, LEVELS.length, "a follower that stopped gets nothing more");
    assert.equal(ofProject.length, 2 * LEVELS.length);
  });
});
