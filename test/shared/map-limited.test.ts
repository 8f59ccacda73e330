// Work a few items at a time: never more than the limit at once, answers in the items' order
// whatever order they finish in, and a failure is the whole call's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { mapLimited } from "../../src/shared/map-limited.js";

describe("mapLimited", () => {
  it("keeps at most the limit at work and answers in order", async () => {
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const out = await mapLimited(items, 3, async (item, index) => {
      running++;
      most = Math.max(most, running);
      await delay((item * 7) % 5); // finishing out of order
      running--;
      return `${item}@${index}`;
    });
    assert.equal(most, 3);
    assert.deepEqual(
      out,
      items.map((i) => `${i}@${i}`),
    );
  });

  it("works through fewer items than the limit, and none", async () => {
    assert.deepEqual(await mapLimited([1, 2], 8, (n) => Promise.resolve(n * 2)), [2, 4]);
    assert.deepEqual(await mapLimited([], 8, () => Promise.resolve(0)), []);
  });

  it("fails with the first failure", async () => {
    await assert.rejects(
      mapLimited([1, 2, 3], 2, (n) =>
        n === 2 ? Promise.reject(new Error("two failed")) : Promise.resolve(n),
      ),
      /two failed/,
    );
  });
});
