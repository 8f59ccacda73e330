// SIGTERM drains in-flight work; idle instances are disposed (scale to zero) and come back.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, startPlatform } from "../kit/platform.js";

interface FunctionInfo {
  instances: number;
  inflight: number;
}

describe("drain and scale to zero", () => {
  it("finishes in-flight requests on SIGTERM, refuses new ones, and exits 0", async () => {
    const platform = await startPlatform();
    try {
      assert.equal((await platform.deploy("basic")).code, 0);
      const slow = platform
        .fetch("/fn/basic/slow/?ms=1200")
        .then(async (r) => [r.status, await r.text()] as const);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stopped = platform.stop("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await platform.fetch("/fn/basic/echo/").then(
        (r) => r.status,
        () => "connection refused",
      );
      assert.ok(
        refused === 503 || refused === "connection refused",
        `new request got ${String(refused)}`,
      );
      assert.deepEqual(await slow, [200, "version one after 1200ms"]);
      assert.equal(await stopped, 0);
      assert.match(platform.output(), /SIGTERM: draining/);
    } finally {
      await platform.dispose();
    }
  });

  it("disposes idle instances after idleTimeout and cold-starts on the next request", async () => {
    const platform = await startPlatform();
    try {
      const dir = await mkdtemp(join(tmpdir(), "litefaas-idle-"));
      await cp(join(FIXTURES, "basic"), dir, { recursive: true });
      const manifest = join(dir, "litefaas.yaml");
      await writeFile(
        manifest,
        (await readFile(manifest, "utf8")).replace("  echo:\n", "  echo:\n    idleTimeout: 1s\n"),
      );
      assert.equal((await platform.deploy(dir)).code, 0);
      const info = async () =>
        (await (
          await platform.fetch("/admin/v1/functions/basic/echo", {
            headers: { authorization: `Bearer ${platform.token}` },
          })
        ).json()) as FunctionInfo;
      assert.equal((await info()).instances, 0, "nothing runs before the first request");
      assert.equal((await platform.fetch("/fn/basic/echo/")).status, 200);
      assert.equal((await info()).instances, 1);
      let instances = 1;
      for (let i = 0; i < 100 && instances > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        instances = (await info()).instances;
      }
      assert.equal(instances, 0, "the idle instance was not disposed");
      assert.equal((await platform.fetch("/fn/basic/echo/")).status, 200);
      assert.equal((await info()).instances, 1);
    } finally {
      await platform.dispose();
    }
  });
});

describe("concurrency limit", () => {
  it("answers 429 THROTTLED with Retry-After beyond limits.concurrency, and serves again after", async () => {
    const platform = await startPlatform();
    try {
      const dir = await mkdtemp(join(tmpdir(), "litefaas-throttle-"));
      await cp(join(FIXTURES, "basic"), dir, { recursive: true });
      const manifest = join(dir, "litefaas.yaml");
      await writeFile(
        manifest,
        (await readFile(manifest, "utf8")).replace(
          "      timeout: 20s\n",
          "      timeout: 20s\n      concurrency: 2\n",
        ),
      );
      assert.equal((await platform.deploy(dir)).code, 0);
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => platform.fetch("/fn/basic/slow/?ms=800")),
      );
      const statuses = responses.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
      const throttled = responses.find((r) => r.status === 429);
      assert.equal(throttled?.headers.get("retry-after"), "1");
      assert.equal(
        ((await throttled?.json()) as { error: { code: string } }).error.code,
        "THROTTLED",
      );
      assert.equal((await platform.fetch("/fn/basic/slow/?ms=0")).status, 200);
    } finally {
      await platform.dispose();
    }
  });
});
