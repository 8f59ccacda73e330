// The process sandbox, deny by default, through a real `litefaas up`: each way out a function
// might try is tried from inside, and each is contained, answered, and the platform serves on.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { errorCode, FIXTURES, startPlatform, type Platform } from "../kit/platform.js";

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;
const SECRET = `sandbox-secret-${process.pid}`;

interface Attempt {
  ok: boolean;
  value?: unknown;
  error?: string;
}

describe("process sandbox", () => {
  let platform: Platform;
  const probe = async <T>(path: string) =>
    json<T>(await platform.fetch(`/fn/sandbox/probe${path}`));

  before(async () => {
    process.env["LITEFAAS_SANDBOX_TEST_SECRET"] = SECRET;
    platform = await startPlatform({ args: ["--require-sandbox"] });
    const deployed = await platform.deploy("sandbox");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    delete process.env["LITEFAAS_SANDBOX_TEST_SECRET"];
    await platform.dispose();
  });

  it("runs as nobody in /var/task, with its own process tree and only the Lambda environment", async () => {
    const seen = await probe<{
      uid: number;
      env: string[];
      cwd: string;
      root: string[];
      pids: string[];
    }>("/whoami");
    assert.equal(seen.uid, 65534);
    assert.equal(seen.cwd, "/var/task");
    assert.ok(seen.env.includes("AWS_LAMBDA_RUNTIME_API"));
    assert.ok(seen.env.includes("_HANDLER"));
    assert.ok(!seen.env.some((name) => name.startsWith("LITEFAAS_")), seen.env.join(","));
    // the host's root, with only what the runtime needs bound in (/root: the interpreter's prefix)
    const allowed = [
      "bin",
      "dev",
      "etc",
      "lib",
      "lib32",
      "lib64",
      "opt",
      "proc",
      "root",
      "run",
      "sbin",
      "tmp",
      "usr",
      "var",
    ];
    assert.deepEqual(
      seen.root.filter((entry) => !allowed.includes(entry)),
      [],
    );
    assert.ok(seen.pids.length <= 6, `sees only its sandbox's processes: ${seen.pids.join(",")}`);
  });

  it("cannot read the platform's environment through /proc", async () => {
    const environs = await probe<Record<string, Attempt>>("/environ");
    const text = JSON.stringify(environs);
    assert.ok(!text.includes(SECRET), "the platform's secret is not in any /proc/*/environ");
    assert.ok(!text.includes("LITEFAAS_"), "nor any LITEFAAS_ variable");
  });

  it("cannot read the platform's data directory or the admin token", async () => {
    const token = await probe<Attempt>(
      `/read?file=${encodeURIComponent(join(platform.dataDir, "admin-token"))}`,
    );
    assert.equal(token.ok, false);
    assert.match(token.error ?? "", /FileNotFoundError|PermissionError/);
    const shadow = await probe<Attempt>("/read?file=/etc/shadow");
    assert.equal(shadow.ok, false);
  });

  it("cannot reach the admin API on loopback, nor anything outside", async () => {
    const admin = await probe<Attempt>(
      `/connect?url=${encodeURIComponent(`${platform.url}/admin/v1/functions`)}`,
    );
    assert.equal(admin.ok, false);
    assert.match(admin.error ?? "", /refused|unreachable|URLError/i);
    const outside = await probe<Attempt>(`/connect?url=${encodeURIComponent("http://1.1.1.1/")}`);
    assert.equal(outside.ok, false);
    assert.match(outside.error ?? "", /unreachable|URLError/i);
  });

  it("sees its code read-only", async () => {
    const written = await probe<Attempt>("/write-task");
    assert.equal(written.ok, false);
    assert.match(written.error ?? "", /Read-only file system|PermissionError/);
  });

  it("stops a function filling /tmp at its cap, long before 10 GB", async () => {
    const filled = await probe<Attempt>("/fill-tmp");
    assert.equal(filled.ok, false);
    assert.match(filled.error ?? "", /No space left on device/);
  });

  it("holds a fork bomb to the process limit", async () => {
    const bomb = await probe<{ forked: number; error: string | null }>("/fork-bomb");
    assert.ok(bomb.forked < 64, `forked ${bomb.forked}`);
    assert.match(bomb.error ?? "", /BlockingIOError|Resource temporarily unavailable/);
  });

  it("holds a function to its open files limit", async () => {
    const files = await probe<{ opened: number; error: string | null }>("/open-files");
    assert.ok(files.opened < 1024, `opened ${files.opened}`);
    assert.match(files.error ?? "", /Too many open files/);
    assert.equal((await platform.fetch("/fn/sandbox/probe/")).status, 200);
  });

  it("holds a function to its CPU share (limits.cpu: 0.2)", async () => {
    const burn = await json<{ wall: number; cpu: number }>(
      await platform.fetch("/fn/sandbox/capped/burn"),
    );
    assert.ok(burn.wall >= 1, `ran ${burn.wall} s`);
    // a fifth of a core, enforced per 100 ms period: ~0.2 s of CPU in the second, never near 1
    assert.ok(burn.cpu > 0 && burn.cpu < 0.45, `used ${burn.cpu} s of CPU in ${burn.wall} s`);
  });

  it("takes a cold start's process from the prepared ones, and makes it that function's alone", async () => {
    // a prepared process is started once a Python function has started, then waits
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const age = await json<{ startedBeforeImport: number }>(
      await platform.fetch("/fn/sandbox/other/age"),
    );
    assert.ok(
      age.startedBeforeImport > 1,
      `the process started ${age.startedBeforeImport} s before the handler was imported`,
    );
    const env = await json<Record<string, string | null>>(
      await platform.fetch(
        "/fn/sandbox/other/env?names=WHO,AWS_LAMBDA_FUNCTION_NAME,AWS_LAMBDA_FUNCTION_MEMORY_SIZE,_HANDLER",
      ),
    );
    assert.deepEqual(env, {
      WHO: "other",
      AWS_LAMBDA_FUNCTION_NAME: "sandbox-other",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "48",
      _HANDLER: "probe.handler",
    });
    // its own code only, read-only, as a freshly started one sees it
    assert.deepEqual(
      await json<string[]>(await platform.fetch("/fn/sandbox/other/ls")),
      await json<string[]>(await platform.fetch("/fn/sandbox/probe/ls")),
    );
    const write = await json<Attempt>(await platform.fetch("/fn/sandbox/other/write-task"));
    assert.equal(write.ok, false);
    // its memory limit is the function's 48 MiB, not the 128 it was prepared with
    assert.equal((await platform.fetch("/fn/sandbox/probe/alloc?mb=80")).status, 200);
    const over = await platform.fetch("/fn/sandbox/other/alloc?mb=80");
    assert.equal(over.status, 500);
    assert.equal(await errorCode(over), "FUNCTION_MEMORY_LIMIT");
  });

  it("answers a memory bomb with FUNCTION_MEMORY_LIMIT and serves on", async () => {
    const response = await platform.fetch("/fn/sandbox/probe/memory-bomb");
    assert.equal(response.status, 500);
    assert.equal(await errorCode(response), "FUNCTION_MEMORY_LIMIT");
    assert.equal((await platform.fetch("/fn/sandbox/probe/")).status, 200);
  });

  it("answers a busy loop with FUNCTION_TIMEOUT, replaces the process, and serves on", async () => {
    const before = await probe<{ instance: string }>("/");
    const response = await platform.fetch("/fn/sandbox/probe/spin");
    assert.equal(response.status, 504);
    assert.equal(await errorCode(response), "FUNCTION_TIMEOUT");
    const after = await probe<{ instance: string }>("/");
    assert.notEqual(after.instance, before.instance, "a new process serves after the kill");
  });

  it("cannot kill its parent, the sandbox's init or the platform", async () => {
    const result = await probe<{ survived: boolean; tries: Record<string, Attempt> }>(
      `/kill-parent?pid=${platform.pid}`,
    );
    assert.equal(result.survived, true);
    // the platform's pid is not in the sandbox's pid namespace
    assert.equal(result.tries["platform"]?.ok, false);
    assert.match(result.tries["platform"]?.error ?? "", /ProcessLookupError/);
    assert.equal((await platform.fetch("/healthz")).status, 200);
  });

  it("answers a process that exits mid-invocation with 502 FUNCTION_CRASHED, and serves on", async () => {
    const response = await platform.fetch("/fn/sandbox/probe/exit");
    assert.equal(response.status, 502);
    assert.equal(await errorCode(response), "FUNCTION_CRASHED");
    assert.equal((await platform.fetch("/fn/sandbox/probe/")).status, 200);
  });

  it("reaches what its egress list names through the proxy, and nothing else", async () => {
    const outside = createServer((_req, res) => res.end("pong"));
    await new Promise<void>((resolve) => outside.listen(0, "127.0.0.1", resolve));
    const port = (outside.address() as AddressInfo).port;
    try {
      const dir = await mkdtemp(join(tmpdir(), "litefaas-sandbox-egress-"));
      await cp(join(FIXTURES, "sandbox-egress"), dir, { recursive: true });
      const manifest = join(dir, "litefaas.yaml");
      await writeFile(
        manifest,
        (await readFile(manifest, "utf8")).replace("EGRESS_PORT", String(port)),
      );
      const deployed = await platform.deploy(dir);
      assert.equal(deployed.code, 0, deployed.stderr);
      const reach = async (url: string) =>
        json<{ ok: boolean; status?: number; body?: string; error?: string }>(
          await platform.fetch(`/fn/sandbox-egress/reach/?url=${encodeURIComponent(url)}`),
        );
      assert.deepEqual(await reach(`http://127.0.0.1:${port}/hello`), {
        ok: true,
        status: 200,
        body: "pong",
      });
      const admin = await reach(`${platform.url}/admin/v1/functions`);
      assert.equal(admin.ok, false);
      assert.equal(admin.status, 403);
      assert.match(admin.body ?? "", /litefaas egress: .*not in this function's egress list/);
      const tls = await reach("https://example.com/");
      assert.equal(tls.ok, false);
      assert.match(tls.error ?? "", /403|Tunnel connection failed/);
    } finally {
      outside.close();
    }
  });

  it("reuses a warm process between invocations, one at a time", async () => {
    const instances = new Set<string>();
    for (let i = 0; i < 3; i++) instances.add((await probe<{ instance: string }>("/")).instance);
    assert.equal(instances.size, 1);
  });
});
