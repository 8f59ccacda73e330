// The manifest's trigger fields: subjects, schedule and the delivery policy, normalized, and
// every mistake reported with where it is and how to fix it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LitefaasError } from "../../src/shared/errors.js";
import { parseManifest } from "../../src/shared/manifest/load.js";
import type { ManifestProblem } from "../../src/shared/manifest/types.js";

const FILE = "/p/litefaas.yaml";
const manifest = (...lines: string[]) =>
  ["project: demo", "functions:", "  f:", "    main: f.ts", ...lines, ""].join("\n");

function problems(text: string): ManifestProblem[] {
  try {
    parseManifest(text, FILE);
  } catch (error) {
    assert.ok(error instanceof LitefaasError);
    assert.equal(error.code, "INVALID_MANIFEST");
    return error.details as ManifestProblem[];
  }
  return assert.fail("the manifest was accepted");
}

void describe("manifest: triggers", () => {
  void it("takes subjects, a schedule and a delivery policy as written", () => {
    const f = parseManifest(
      manifest(
        '    subjects: ["orders.created", "orders.*.paid", "audit.>"]',
        "    schedule: { cron: '0 3 * * *', timezone: Europe/Paris, catchUp: false }",
        "    concurrency: 1",
        "    retry: { attempts: 5, backoff: fixed, initial: 250ms, max: 1m }",
        "    maxEventAge: 1h",
        "    deadLetter: false",
        "    onSuccess: { publish: orders.handled }",
        "    onFailure: { publish: orders.failed }",
      ),
      FILE,
    ).functions["f"];
    assert.deepEqual(f?.subjects, ["orders.created", "orders.*.paid", "audit.>"]);
    assert.deepEqual(f?.schedule, { cron: "0 3 * * *", timezone: "Europe/Paris", catchUp: false });
    assert.deepEqual(f?.delivery, {
      concurrency: 1,
      attempts: 5,
      backoff: "fixed",
      initialDelayMs: 250,
      maxDelayMs: 60_000,
      maxEventAgeMs: 3_600_000,
      deadLetter: false,
      onSuccess: "orders.handled",
      onFailure: "orders.failed",
    });
  });

  void it("a schedule as a plain string is UTC with catch-up", () => {
    const f = parseManifest(manifest('    schedule: "*/5 * * * *"'), FILE).functions["f"];
    assert.deepEqual(f?.schedule, { cron: "*/5 * * * *", timezone: "UTC", catchUp: true });
  });

  void it("refuses a malformed subject, naming the rule", () => {
    for (const subject of ["orders..created", "orders.>.x", "a b", "", "orders.*x"]) {
      const found = problems(manifest(`    subjects: [${JSON.stringify(subject)}]`));
      assert.equal(found[0]?.path, "functions.f.subjects.0", subject);
      assert.match(found[0]?.fix ?? "", /tokens separated by/);
    }
  });

  void it("refuses overlapping subjects of one function: an event would arrive twice", () => {
    const [problem, ...rest] = problems(manifest('    subjects: ["orders.*", "orders.created"]'));
    assert.equal(rest.length, 0);
    assert.equal(problem?.path, "functions.f.subjects.1");
    assert.match(problem?.problem ?? "", /overlaps "orders\.\*"/);
  });

  void it("refuses a cron expression or time zone that cannot fire, saying how to write one", () => {
    for (const line of [
      '    schedule: "every day"',
      '    schedule: "61 * * * *"',
      "    schedule: { cron: '0 3 * * *', timezone: Mars/Olympus }",
    ]) {
      const [problem] = problems(manifest(line));
      assert.equal(problem?.path, "functions.f.schedule", line);
      assert.match(problem?.fix ?? "", /cron expression of 5 fields/);
    }
  });

  void it("refuses a retry policy out of range and a max shorter than initial", () => {
    assert.equal(
      problems(manifest("    retry: { attempts: 0 }"))[0]?.path,
      "functions.f.retry.attempts",
    );
    assert.equal(
      problems(manifest("    retry: { backoff: linear }"))[0]?.path,
      "functions.f.retry.backoff",
    );
    const [shorter] = problems(manifest("    retry: { initial: 10s, max: 1s }"));
    assert.equal(shorter?.path, "functions.f.retry.max");
    assert.match(shorter?.fix ?? "", /at least retry.initial/);
    assert.equal(problems(manifest("    maxEventAge: 500ms"))[0]?.path, "functions.f.maxEventAge");
    assert.equal(problems(manifest("    concurrency: 0"))[0]?.path, "functions.f.concurrency");
  });

  void it("refuses a destination with a wildcard", () => {
    const [problem] = problems(manifest("    onFailure: { publish: 'orders.*' }"));
    assert.equal(problem?.path, "functions.f.onFailure.publish");
  });
});
