// The README lists every error code the platform can answer with, as the catalog defines it.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { catalog } from "../../src/shared/errors.js";
import { ROOT } from "../kit/platform.js";

describe("error catalog", () => {
  it("is listed whole and exactly in the README", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("<!-- error codes: start -->");
    const end = readme.indexOf("<!-- error codes: end -->");
    assert.ok(start !== -1 && end > start, "the README marks its list of error codes");
    const listed = readme
      .slice(start, end)
      .split("\n")
      .map((line) => /^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*(\w+)\s*\|\s*(.+?)\s*\|$/.exec(line))
      .filter((m) => m !== null)
      .map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
    const defined = Object.entries(catalog).map(
      ([code, e]) => `${code} ${e.status} ${e.kind} ${e.title}`,
    );
    assert.deepEqual(
      listed,
      defined,
      "README rows: | `CODE` | status | whose | what |, in catalog order",
    );
  });
});
