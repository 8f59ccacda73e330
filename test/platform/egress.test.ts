// Outbound fetch from a function: only what its egress list names, and refusals are catchable.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FIXTURES, startPlatform, type Platform } from "../kit/platform.js";

interface Outcome {
  ok: boolean;
  status?: number;
  body?: string;
  cookies?: string[];
  name?: string;
  message?: string;
}

describe("outbound fetch and egress", () => {
  let platform: Platform;
  let server: Server;
  let port = 0;
  const seen: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push(`${req.method ?? ""} ${String(req.headers["x-from"] ?? "")} ${body}`);
        res.setHeader("set-cookie", ["s1=a", "s2=b"]);
        res.end("pong");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    const dir = await mkdtemp(join(tmpdir(), "litefaas-egress-"));
    await cp(join(FIXTURES, "egress"), dir, { recursive: true });
    const manifest = join(dir, "litefaas.yaml");
    await writeFile(
      manifest,
      (await readFile(manifest, "utf8")).replaceAll("EGRESS_PORT", String(port)),
    );
    platform = await startPlatform();
    const deployed = await platform.deploy(dir);
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    await platform.dispose();
    server.close();
  });

  const call = async (fn: string, url: string) =>
    (await (
      await platform.fetch(`/fn/egress/${fn}/?url=${encodeURIComponent(url)}`)
    ).json()) as Outcome;

  it("reaches a host the egress list names, with method, headers and body", async () => {
    const outcome = await call("allowed", `http://127.0.0.1:${port}/hello`);
    assert.deepEqual(outcome, { ok: true, status: 200, body: "pong", cookies: ["s1=a", "s2=b"] });
    assert.ok(seen.includes("POST function ping"));
  });

  it("refuses every host by default, as a catchable TypeError that says how to allow it", async () => {
    const before = seen.length;
    const outcome = await call("denied", `http://127.0.0.1:${port}/hello`);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.name, "TypeError");
    assert.match(outcome.message ?? "", /egress/);
    assert.match(outcome.message ?? "", /litefaas\.yaml/);
    assert.equal(seen.length, before, "the refused request reached the server");
  });

  it("refuses the platform's own address and other ports on loopback even for a function with egress", async () => {
    const self = await call("allowed", `${platform.url}/admin/v1/functions`);
    assert.equal(self.ok, false);
    assert.match(self.message ?? "", /refused/);
    const otherPort = await call("allowed", `http://127.0.0.1:${port + 1}/`);
    assert.equal(otherPort.ok, false);
    assert.match(otherPort.message ?? "", /refused/);
  });

  it("refuses non-HTTP schemes and metadata addresses", async () => {
    for (const url of [
      "file:///etc/passwd",
      "http://169.254.169.254/latest/meta-data/",
      "http://localhost:22/",
    ]) {
      const outcome = await call("allowed", url);
      assert.equal(outcome.ok, false, url);
    }
  });
});
