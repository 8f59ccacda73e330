// Which functions' records get trimmed when (observe/record-retention.ts): a function that got
// `keep` records is trimmed after the next store, but such trims come at most once a second, so
// a busy function is not read back on every flush. The store here only counts what it is asked
// to trim; the stores themselves have their own suites (records conformance).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { RecordRetention } from "../../src/ports/records.js";
import type { FunctionVersion } from "../../src/runtimes/types.js";
import { RecordRetentionKeeper } from "../../src/observe/record-retention.js";

function version(name: string, keep: number): FunctionVersion {
  return {
    project: "p",
    name,
    version: 1,
    artifact: "",
    config: { records: { keep, maxAgeMs: 3_600_000, payloads: false, maxPayloadBytes: 0 } },
  } as unknown as FunctionVersion;
}

describe("record retention", () => {
  it("trims a function once it got keep records, at most once a second", async () => {
    const trims: Array<{ fn: string; retention: RecordRetention }> = [];
    const keeper = new RecordRetentionKeeper(
      {
        trim: (_project, fn, retention) => {
          trims.push({ fn, retention });
          return Promise.resolve();
        },
      },
      (error) => assert.fail(String(error)),
      undefined,
    );
    try {
      const busy = version("busy", 3);
      const quiet = version("quiet", 100);
      keeper.added(busy, 2);
      keeper.added(quiet, 5);
      await keeper.trimFull();
      assert.equal(trims.length, 0, "nobody has keep records yet");

      keeper.added(busy, 1);
      await keeper.trimFull();
      assert.deepEqual(trims, [{ fn: "busy", retention: { keep: 3, maxAgeMs: 3_600_000 } }]);

      // full again at once: waits for the second to pass, counting on
      keeper.added(busy, 3);
      await keeper.trimFull();
      assert.equal(trims.length, 1, "a second trim within the second");
      await delay(1_100);
      keeper.added(busy, 1);
      await keeper.trimFull();
      assert.deepEqual(
        trims.map((t) => t.fn),
        ["busy", "busy"],
        "the quiet function, never full, is left to the periodic trim",
      );
    } finally {
      keeper.stop();
    }
  });
});
