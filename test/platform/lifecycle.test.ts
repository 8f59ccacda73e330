// Deploy, restart, versions, rollback, remove, the admin token and bad deploys, through the CLI.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cp, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI, FIXTURES, errorCode, runCli, startPlatform, type Platform } from "../kit/platform.js";

async function copyFixture(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `litefaas-fixture-${name}-`));
  await cp(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

async function setSlowVersion(dir: string, version: string) {
  const file = join(dir, "litefaas.yaml");
  const text = await readFile(file, "utf8");
  await writeFile(file, text.replace(/VERSION: \w+/, `VERSION: ${version}`));
}

describe("platform lifecycle", () => {
  let platform: Platform;
  let project: string;

  before(async () => {
    platform = await startPlatform();
    project = await copyFixture("basic");
  });
  after(() => platform.dispose());

  it("exits non-zero, saying why, when it cannot start (its port is taken)", async () => {
    const port = new URL(platform.url).port;
    const data = await mkdtemp(join(tmpdir(), "litefaas-taken-"));
    const child = spawn(
      process.execPath,
      ["--no-node-snapshot", CLI, "up", "--port", port, "--data", data],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    // a backstop only: what it had opened before failing must not keep it running
    const backstop = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    clearTimeout(backstop);
    assert.equal(signal, null, `it did not exit by itself:\n${output}`);
    assert.notEqual(code, 0);
    assert.match(output, /EADDRINUSE|in use/i);
  });

  it("keeps the admin token in <data>/admin-token with mode 0600", async () => {
    const info = await stat(join(platform.dataDir, "admin-token"));
    assert.equal(info.mode & 0o777, 0o600);
    assert.match(platform.token, /^lf_[A-Za-z0-9_-]{32}$/);
  });

  it("refuses the admin API without the right token (401 JSON)", async () => {
    const none = await platform.fetch("/admin/v1/functions");
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="litefaas-admin"');
    assert.equal(await errorCode(none), "UNAUTHORIZED");
    const wrong = await platform.fetch("/admin/v1/functions", {
      headers: { authorization: "Bearer lf_wrong" },
    });
    assert.equal(wrong.status, 401);
    assert.equal(await errorCode(wrong), "UNAUTHORIZED");
    const cli = await platform.cli(["ls"], { LITEFAAS_TOKEN: "lf_wrong" });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /admin API needs a valid bearer token/);
    assert.match(cli.stderr, /fix: /);
  });

  it("deploys a project and reports each function's version and URL", async () => {
    const result = await platform.cli(["deploy", project, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as {
      project: string;
      functions: Array<{ name: string; version: number; status: string; url: string }>;
    };
    assert.equal(answer.project, "basic");
    assert.deepEqual(
      answer.functions.map((f) => [f.name, f.version, f.status]),
      [
        ["echo", 1, "created"],
        ["lambda", 1, "created"],
        ["slow", 1, "created"],
      ],
    );
    assert.equal(answer.functions[0]?.url, `${platform.url}/fn/basic/echo`);
    const again = JSON.parse((await platform.cli(["deploy", project, "--json"])).stdout) as {
      functions: Array<{ status: string; version: number }>;
    };
    assert.deepEqual(
      again.functions.map((f) => [f.version, f.status]),
      [
        [1, "unchanged"],
        [1, "unchanged"],
        [1, "unchanged"],
      ],
    );
  });

  it("invokes a function from the CLI and exits non-zero on an error status", async () => {
    const ok = await platform.cli(["invoke", "basic/slow", "--path", "/?ms=1"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), "version one after 1ms");
    const posted = await platform.cli([
      "invoke",
      "basic/echo",
      "--path",
      "/p",
      "--data",
      "hi",
      "--json",
    ]);
    const answer = JSON.parse(posted.stdout) as { status: number; body: string };
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as { method: string; bodyLength: number }).bodyLength, 2);
    const failed = await platform.cli(["invoke", "basic/echo", "--path", "/status/500"]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /HTTP 500/);
  });

  it("swaps to a new version without dropping a request in flight on the old one", async () => {
    const inflight = platform.fetch("/fn/basic/slow/?ms=1500").then((r) => r.text());
    await new Promise((resolve) => setTimeout(resolve, 300));
    await setSlowVersion(project, "two");
    const deployed = await platform.cli(["deploy", project, "--json"]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const fresh = await (await platform.fetch("/fn/basic/slow/?ms=0")).text();
    assert.equal(fresh, "version two after 0ms");
    assert.equal(await inflight, "version one after 1500ms");
  });

  it("lists versions and rolls back, to the previous one or a chosen one", async () => {
    const versions = JSON.parse(
      (await platform.cli(["versions", "basic/slow", "--json"])).stdout,
    ) as { live: number; versions: Array<{ version: number; live: boolean }> };
    assert.equal(versions.live, 2);
    assert.deepEqual(
      versions.versions.map((v) => [v.version, v.live]),
      [
        [1, false],
        [2, true],
      ],
    );
    const back = await platform.cli(["rollback", "basic/slow"]);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /now serves v1/);
    assert.equal(await (await platform.fetch("/fn/basic/slow/")).text(), "version one after 0ms");
    const forward = await platform.cli(["rollback", "basic/slow", "--to", "2"]);
    assert.equal(forward.code, 0, forward.stderr);
    assert.equal(await (await platform.fetch("/fn/basic/slow/")).text(), "version two after 0ms");
    const missing = await platform.cli(["rollback", "basic/slow", "--to", "9"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no version 9/);
  });

  it("keeps functions, versions and the live version across SIGTERM and SIGKILL restarts", async () => {
    const code = await platform.stop("SIGTERM");
    assert.equal(code, 0);
    platform = await platform.restart();
    assert.equal(await (await platform.fetch("/fn/basic/slow/")).text(), "version two after 0ms");
    await platform.stop("SIGKILL");
    platform = await platform.restart();
    assert.equal(await (await platform.fetch("/fn/basic/slow/")).text(), "version two after 0ms");
    const listed = JSON.parse((await platform.cli(["ls", "--json"])).stdout) as {
      functions: Array<{ project: string; name: string; live: number }>;
    };
    assert.deepEqual(
      listed.functions.map((f) => `${f.project}/${f.name}@${f.live}`),
      ["basic/echo@1", "basic/lambda@1", "basic/slow@2"],
    );
  });

  it("removes a function: its URL answers 404 and ls no longer shows it", async () => {
    const removed = await platform.cli(["rm", "basic/lambda"]);
    assert.equal(removed.code, 0, removed.stderr);
    const res = await platform.fetch("/fn/basic/lambda/");
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), "FUNCTION_NOT_FOUND");
    const again = await platform.cli(["rm", "basic/lambda"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no function basic\/lambda/);
  });

  it("refuses an invalid manifest naming file, path, line, problem and fix", async () => {
    const result = await platform.cli(["deploy", join(FIXTURES, "broken-manifest")]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /litefaas\.yaml:1 project: value does not match/);
    assert.match(result.stderr, /functions\.hello\.limits\.timeout: value does not match/);
    assert.match(
      result.stderr,
      /litefaas\.yaml:7 functions\.hello\.memroy: unknown field "memroy"/,
    );
    assert.match(result.stderr, /fix: /);
  });

  it("refuses a syntax error with file:line, and the server never sees it", async () => {
    const result = await platform.cli(["deploy", join(FIXTURES, "broken-syntax")]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /function "bad" does not build/);
    assert.match(result.stderr, /bad\.ts:3:\d+/);
    assert.equal((await platform.fetch("/fn/broken/bad/")).status, 404);
  });

  it("refuses code without a handler at deploy time, leaving nothing deployed", async () => {
    const result = await platform.cli(["deploy", join(FIXTURES, "no-handler")]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /exports no handler/);
    assert.equal((await platform.fetch("/fn/nohandler/empty/")).status, 404);
  });

  it("refuses an invalid manifest sent straight to the admin API", async () => {
    const res = await platform.fetch("/admin/v1/deploy", {
      method: "POST",
      headers: { authorization: `Bearer ${platform.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        manifest: "project: x\nfunctions: {}\n",
        file: "litefaas.yaml",
        bundles: {},
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), "INVALID_MANIFEST");
  });

  it("says what to do when the CLI cannot reach the platform", async () => {
    const result = await runCli(["ls"], {
      LITEFAAS_URL: "http://127.0.0.1:9",
      LITEFAAS_TOKEN: "x",
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /cannot reach litefaas at http:\/\/127\.0\.0\.1:9/);
    assert.match(result.stderr, /fix: start it with `litefaas up`/);
  });
});
