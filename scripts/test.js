// Runs every compiled test file with Node's test runner. Node needs --no-node-snapshot for
// isolated-vm. Suites that need NATS or PostgreSQL say loudly when they skip (CI makes them required).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = "dist/test";
const filter = process.argv.slice(2);
const files = readdirSync(root, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".test.js"))
  .map((f) => join(root, f))
  .filter((f) => filter.length === 0 || filter.some((pattern) => f.includes(pattern)))
  .sort();

if (files.length === 0) {
  console.error(`no test files matched ${filter.join(" ")}`);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ["--no-node-snapshot", "--test", "--test-concurrency=2", "--test-timeout=600000", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
