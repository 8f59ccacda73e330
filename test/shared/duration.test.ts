// Durations as written in the manifest and on the command line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DURATION_PATTERN, formatDuration, parseDuration } from "../../src/shared/duration.js";

void describe("parseDuration", () => {
  void it("reads whole and fractional amounts of ms, s, m, h and d", () => {
    const cases: Array<[string, number]> = [
      ["0ms", 0],
      ["1ms", 1],
      ["250ms", 250],
      ["500ms", 500],
      ["1s", 1000],
      ["1.5s", 1500],
      ["0.25s", 250],
      ["30s", 30_000],
      ["2m", 120_000],
      ["1.5m", 90_000],
      ["15m", 900_000],
      ["7d", 7 * 86_400_000],
      ["0.5d", 43_200_000],
      ["1h", 3_600_000],
      ["0.5h", 1_800_000],
      ["007s", 7000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  });

  void it("rounds to whole milliseconds", () => {
    assert.equal(parseDuration("1.0004s"), 1000);
    assert.equal(parseDuration("1.0006s"), 1001);
    assert.equal(parseDuration("2.4ms"), 2);
    assert.ok(Number.isInteger(parseDuration("0.333333s")));
  });

  void it("ignores surrounding whitespace", () => {
    assert.equal(parseDuration(" 2m "), 120_000);
    assert.equal(parseDuration("\t10s\n"), 10_000);
  });

  void it("returns undefined for anything that is not a duration", () => {
    const bad = [
      "",
      "fast",
      "10",
      "1.5",
      "s",
      "ms",
      "-1s",
      "+1s",
      "1 s",
      "1S",
      "1sec",
      "1D",
      "1w",
      "1e3ms",
      ".5s",
      "5.s",
      "1m30s",
      "Infinity",
      "NaN",
    ];
    for (const text of bad) assert.equal(parseDuration(text), undefined, JSON.stringify(text));
  });
});

void describe("DURATION_PATTERN", () => {
  void it("accepts exactly what parseDuration reads (trimmed)", () => {
    const pattern = new RegExp(DURATION_PATTERN);
    for (const text of [
      "0ms",
      "1.5s",
      "2m",
      "1h",
      "007s",
      "fast",
      "10",
      "-1s",
      "1 s",
      "1d",
      "1e3ms",
      ".5s",
      "1m30s",
    ]) {
      assert.equal(pattern.test(text), parseDuration(text) !== undefined, text);
    }
  });
});

void describe("formatDuration", () => {
  void it("uses the largest unit up to minutes", () => {
    const cases: Array<[number, string]> = [
      [0, "0ms"],
      [999, "999ms"],
      [1000, "1s"],
      [1500, "1.5s"],
      [59_999, "59.999s"],
      [60_000, "1m"],
      [90_000, "1.5m"],
      [900_000, "15m"],
      [3_600_000, "60m"],
    ];
    for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
  });

  void it("round-trips through parseDuration", () => {
    const values = [
      0, 1, 7, 999, 1000, 1001, 12_345, 59_999, 60_000, 61_000, 70_000, 1_234_567, 900_000,
      3_600_000, 86_400_000,
    ];
    for (const ms of values)
      assert.equal(parseDuration(formatDuration(ms)), ms, `${ms} → ${formatDuration(ms)}`);
  });
});
