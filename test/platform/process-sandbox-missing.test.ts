// A machine without bubblewrap and socat: the platform says at start which protections are off,
// still runs process functions with what it has, and with --require-sandbox refuses them instead.
// The platform is started with a PATH that holds python3 and nothing else.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startPlatform, type Platform } from "../kit/platform.js";

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

describe("process functions where the sandbox's tools are missing", () => {
  let bin: string;
  const platforms: Platform[] = [];

  before(async () => {
    bin = await mkdtemp(join(tmpdir(), "litefaas-bin-"));
    const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], {
      encoding: "utf8",
    }).trim();
    await symlink(python, join(bin, "python3"));
  });
  after(async () => {
    for (const platform of platforms) await platform.dispose();
    await rm(bin, { recursive: true, force: true });
  });

  const start = async (args: string[]) => {
    const platform = await startPlatform({ args, env: { PATH: bin } });
    platforms.push(platform);
    return platform;
  };

  it("says which protections are off, and runs the function with what it has", async () => {
    const platform = await start([]);
    const said = platform.output();
    assert.match(
      said,
      /process functions run without: .*bwrap not found \(apt-get install bubblewrap\)/,
    );
    assert.match(said, /network isolation: needs bwrap and socat/);
    assert.doesNotMatch(said, /--require-sandbox: they will not start/);
    const deployed = await platform.deploy("sandbox");
    assert.equal(deployed.code, 0, deployed.stderr);
    const seen = await json<{ uid: number; cwd: string }>(
      await platform.fetch("/fn/sandbox/probe/whoami"),
    );
    // no namespaces: it runs as the platform's own user, in its code's folder on the host
    assert.equal(seen.uid, process.getuid?.());
    assert.notEqual(seen.cwd, "/var/task");
  });

  it("refuses to run process functions with --require-sandbox, saying what is missing", async () => {
    const platform = await start(["--require-sandbox"]);
    assert.match(platform.output(), /\(--require-sandbox: they will not start\)/);
    const deployed = await platform.deploy("sandbox");
    assert.notEqual(deployed.code, 0);
    assert.match(deployed.stderr, /FUNCTION_INIT_FAILED/);
    assert.match(deployed.stderr, /the sandbox is incomplete here: .*bwrap not found/);
    assert.match(deployed.stderr, /install what is missing, or start without --require-sandbox/);
    const missing = await platform.fetch("/fn/sandbox/probe/whoami");
    assert.equal(missing.status, 404, "the refused deploy left nothing behind");
  });
});
