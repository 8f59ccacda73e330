// `litefaas up --log-format json`: every line the platform prints on stdout, from the banner to
// "stopped", the access log's included, is one JSON object with ts, level and msg.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { eventually, eventuallyValue } from "../kit/eventually.js";
import { FIXTURES, ROOT, runCli } from "../kit/platform.js";

type Line = Record<string, unknown>;

describe("platform log format", () => {
  it("prints only JSON lines with ts, level and msg, and the fields they concern", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "litefaas-logformat-"));
    const child = spawn(
      process.execPath,
      [
        "--no-node-snapshot",
        join(ROOT, "dist/src/cli/main.js"),
        "up",
        "--port",
        "0",
        "--data",
        dataDir,
        "--prewarm",
        "1",
        "--log-format",
        "json",
        "--access-log",
        "-",
        "--deploy",
        join(FIXTURES, "logs"),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } },
    );
    const reap = () => child.kill("SIGKILL");
    process.once("exit", reap);
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const lines = () =>
      stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => {
          try {
            return JSON.parse(l) as Line;
          } catch {
            assert.fail(`not a JSON line: ${l}`);
          }
        });
    try {
      const up = await eventuallyValue("the platform's url", () =>
        Promise.resolve(lines().find((l) => String(l["msg"]).startsWith("litefaas is up at"))),
      );
      const url = String(up["url"]);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      // the lines naming what is served may come in a later chunk than the banner
      const served = await eventuallyValue("the line serving logs/talk", () =>
        Promise.resolve(lines().find((l) => l["function"] === "talk")),
      );
      assert.equal(served["project"], "logs");
      assert.equal(served["version"], 1);
      assert.equal(served["url"], `${url}/fn/logs/talk`);

      const answer = await fetch(`${url}/fn/logs/talk?word=x`, {
        headers: { "x-request-id": "format-1" },
      });
      assert.equal(answer.status, 200);
      await answer.text();
      const access = await eventuallyValue("the access line", () =>
        Promise.resolve(lines().find((l) => l["requestId"] === "format-1")),
      );
      assert.equal(access["component"], "access");
      assert.equal(access["level"], "info");
      assert.equal(access["msg"], "GET /fn/logs/talk 200");
      assert.equal(access["function"], "talk");

      // an admin call's access line is JSON too, refused or not
      const token = (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
      const refused = await runCli(["logs", "logs/talk", "--level", "loud"], {
        LITEFAAS_URL: url,
        LITEFAAS_TOKEN: token,
      });
      assert.equal(refused.code, 1);

      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      await eventually("the last line", () => lines().at(-1)?.["msg"] === "stopped");
      const all = lines();
      for (const line of all) {
        assert.equal(new Date(String(line["ts"])).toISOString(), line["ts"], JSON.stringify(line));
        assert.ok(["info", "warn", "error"].includes(String(line["level"])), JSON.stringify(line));
        assert.ok(typeof line["msg"] === "string" && line["msg"] !== "", JSON.stringify(line));
      }
      const draining = all.find((l) => l["msg"] === "SIGTERM: draining…");
      assert.equal(draining?.["signal"], "SIGTERM");
    } finally {
      child.kill("SIGKILL");
      process.off("exit", reap);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("refuses an unknown format with its fix", async () => {
    const refused = await runCli(["up", "--port", "0", "--log-format", "yaml"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--log-format "yaml" is not a log format/);
    assert.match(refused.stderr, /fix: use --log-format text .* or json/);
  });
});
