// Pure parts of the triggers: retry delays as the policy says, cron ticks in their time zone, and
// which subject patterns can meet.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { subjectMatches, subjectsOverlap } from "../../src/ports/queue.js";
import { nextTick } from "../../src/shared/cron.js";
import type { DeliveryPolicy } from "../../src/shared/manifest/types.js";
import { retryDelay } from "../../src/triggers/backoff.js";

const policy = (overrides: Partial<DeliveryPolicy>): DeliveryPolicy => ({
  concurrency: 1,
  attempts: 10,
  backoff: "exponential",
  initialDelayMs: 100,
  maxDelayMs: 1000,
  maxEventAgeMs: 60_000,
  deadLetter: true,
  onSuccess: undefined,
  onFailure: undefined,
  ...overrides,
});

void describe("retry delays", () => {
  void it("double from initial up to max when exponential", () => {
    const delays = [1, 2, 3, 4, 5, 6].map((a) => retryDelay(policy({}), a));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  });
  void it("stay at initial when fixed", () => {
    assert.deepEqual(
      [1, 5].map((a) => retryDelay(policy({ backoff: "fixed" }), a)),
      [100, 100],
    );
  });
  void it("do not overflow after many attempts", () => {
    assert.equal(retryDelay(policy({ maxDelayMs: 60_000 }), 100), 60_000);
  });
});

void describe("cron ticks", () => {
  void it("are the next matching time after the given one, in UTC by default", () => {
    const after = Date.UTC(2026, 0, 1, 2, 59, 30);
    assert.equal(nextTick("0 3 * * *", "UTC", after), Date.UTC(2026, 0, 1, 3, 0, 0));
    assert.equal(
      nextTick("0 3 * * *", "UTC", Date.UTC(2026, 0, 1, 3, 0, 0)),
      Date.UTC(2026, 0, 2, 3, 0, 0),
    );
  });
  void it("follow the time zone, summer time included", () => {
    // 03:00 in Paris is 01:00 UTC in winter and 02:00 UTC in summer
    assert.equal(
      nextTick("0 3 * * *", "Europe/Paris", Date.UTC(2026, 0, 10)),
      Date.UTC(2026, 0, 10, 2, 0, 0),
    );
    assert.equal(
      nextTick("0 3 * * *", "Europe/Paris", Date.UTC(2026, 6, 10)),
      Date.UTC(2026, 6, 10, 1, 0, 0),
    );
  });
  void it("take seconds as a sixth, leading field", () => {
    const after = Date.UTC(2026, 0, 1, 0, 0, 1, 500);
    assert.equal(nextTick("*/5 * * * * *", "UTC", after), Date.UTC(2026, 0, 1, 0, 0, 5));
  });
});

void describe("subject patterns", () => {
  void it("match as NATS does", () => {
    assert.equal(subjectMatches("orders.*", "orders.created"), true);
    assert.equal(subjectMatches("orders.*", "orders.created.eu"), false);
    assert.equal(subjectMatches("orders.>", "orders.created.eu"), true);
    assert.equal(subjectMatches("orders.>", "orders"), false);
    assert.equal(subjectMatches("orders.*.paid", "orders.7.paid"), true);
  });
  void it("overlap when one subject could match both", () => {
    assert.equal(subjectsOverlap("orders.*", "orders.created"), true);
    assert.equal(subjectsOverlap("orders.>", "orders.a.b"), true);
    assert.equal(subjectsOverlap("*.paid", "orders.*"), true);
    assert.equal(subjectsOverlap("orders.created", "orders.paid"), false);
    assert.equal(subjectsOverlap("orders.*", "orders.a.b"), false);
    assert.equal(subjectsOverlap("a.>", "a"), false);
    assert.equal(subjectsOverlap(">", "x.y"), true);
  });
});
