// Faults in a cluster of separate processes (control, two gateways, two workers) on a NATS server
// of the test's own, which it can restart: a gateway killed, a worker drained with SIGTERM, a
// redeploy under load, the NATS server restarted, and a worker cut off from NATS and let back.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { eventuallyValue } from "../kit/eventually.js";
import { OwnServer, ownServerCheck } from "../kit/nats-server.js";
import { startCluster, type TestCluster } from "../kit/cluster.js";
import { errorCode, type Platform } from "../kit/platform.js";
import { describeWith, natsService } from "../kit/services.js";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.js";

const nats = ownServerCheck(await natsService(), "cluster faults need a NATS server of their own");

const FUNCTION = (version: string) => `export default {
  async fetch(request) {
    const url = new URL(request.url);
    const ms = Number(url.searchParams.get("ms") ?? "0");
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    return new Response("${version}");
  },
};
`;

describeWith(nats, "cluster faults", () => {
  const project = `f${Date.now().toString(36)}`;
  let server: OwnServer;
  let proxy: TcpProxy;
  let dir: string;
  let cluster: TestCluster;
  let control: Platform;
  let gateways: [Platform, Platform];
  let steady: Platform;
  const path = (query = "") => `/fn/${project}/hello${query}`;
  const deploy = async (version: string) => {
    await writeFile(join(dir, "hello.js"), FUNCTION(version));
    const deployed = await control.deploy(dir);
    assert.equal(deployed.code, 0, deployed.stderr);
  };
  const serves = (gateway: Platform, body: string) =>
    eventuallyValue(`the gateway to serve "${body}"`, async () => {
      const response = await gateway.fetch(path()).catch(() => undefined);
      return response?.status === 200 && (await response.text()) === body ? true : undefined;
    });

  before(async () => {
    server = await OwnServer.start();
    proxy = await startTcpProxy(server.port);
    dir = await mkdtemp(join(tmpdir(), "litefaas-faults-"));
    await writeFile(
      join(dir, "litefaas.yaml"),
      `project: ${project}\nfunctions:\n  hello:\n    main: hello.js\n    limits: { timeout: 30s }\n`,
    );
    // the second worker reaches NATS through the proxy, which the partition test cuts
    cluster = await startCluster({
      nats: server.url,
      gateways: 2,
      workers: 2,
      workerNats: (i) => (i === 1 ? `nats://127.0.0.1:${proxy.port}` : server.url),
    });
    control = cluster.control;
    const [a, b] = cluster.gateways as [Platform, Platform];
    gateways = [a, b];
    steady = cluster.workers[0] as Platform; // the other is the one behind the proxy
    await deploy("v1");
    await serves(b, "v1");
  });
  after(async () => {
    // the processes restarted along the way, then everything the kit started
    await Promise.all([...gateways, steady].map((p) => p.dispose()));
    await cluster.dispose();
    await proxy.close();
    await server.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves every request through a redeploy under load, then the new version everywhere", async () => {
    let stop = false;
    const failures: string[] = [];
    let served = 0;
    const load = async (gateway: Platform) => {
      while (!stop) {
        const response = await gateway.fetch(path());
        const text = await response.text();
        if (response.status !== 200) failures.push(`${response.status} ${text}`);
        else served++;
      }
    };
    const loops = [load(gateways[0]), load(gateways[1]), load(gateways[0])];
    await deploy("v2");
    await Promise.all(gateways.map((g) => serves(g, "v2")));
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, []);
    assert.ok(served > 0);
  });

  it("lets the other gateway serve on when one is killed", async () => {
    const [doomed, other] = gateways;
    await doomed.stop("SIGKILL");
    const response = await other.fetch(path());
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "v2");
    gateways = [await doomed.restart(), other];
    await serves(gateways[0], "v2");
  });

  it("keeps a worker cut off from NATS out of the work, and takes it back once it reconnects", async () => {
    proxy.cut();
    // the server dropped the cut-off worker's subscription with its connection: all to the other
    for (let i = 0; i < 10; i++) {
      const response = await gateways[1].fetch(path());
      assert.equal(response.status, 200, await response.clone().text());
    }
    proxy.restore();
    // with the steady worker stopped, only the cut-off one can answer: once it has reconnected
    await steady.stop("SIGTERM");
    await eventuallyValue("the reconnected worker to serve", async () => {
      const response = await gateways[1].fetch(path());
      return response.status === 200 ? true : undefined;
    });
  });

  it("finishes what a worker took when it is drained with SIGTERM", async () => {
    steady = await steady.restart();
    await serves(gateways[1], "v2");
    // slow calls on both workers; one of them is then drained
    const slow = Array.from({ length: 4 }, () => gateways[1].fetch(path("?ms=1500")));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const exit = steady.stop("SIGTERM");
    const answers = await Promise.all(slow);
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200],
    );
    assert.equal(await exit, 0, "drained and exited 0");
    const after = await gateways[1].fetch(path());
    assert.equal(after.status, 200);
  });

  it("loses no async invocation when a worker running them is killed", async () => {
    steady = await steady.restart();
    await serves(gateways[1], "v2");
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const accepted = await gateways[0].fetch(path(`?ms=2000&async=1&n=${i}`), { method: "POST" });
      assert.equal(accepted.status, 202, await accepted.clone().text());
      ids.push(((await accepted.json()) as { id: string }).id);
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
    await steady.stop("SIGKILL");
    // what the killed worker held comes back to the other after the queue's ack wait
    for (const id of ids) {
      const record = await eventuallyValue(`invocation ${id} to succeed`, async () => {
        const response = await gateways[0].fetch(`/invocations/${id}`);
        const body = (await response.json()) as { status: string; result?: { body: string } };
        return body.status === "succeeded" ? body : undefined;
      });
      assert.equal(record.result?.body, "v2");
    }
  });

  it("reconnects every process by itself after the NATS server restarts", async () => {
    await server.stop();
    // while it is down an invocation fails with an answer, not a hang
    const during = await gateways[0].fetch(path());
    assert.ok([502, 503].includes(during.status), `${during.status}`);
    assert.ok(["WORKER_LOST", "NO_WORKERS"].includes(await errorCode(during)));
    await server.start();
    await serves(gateways[0], "v2");
    await serves(gateways[1], "v2");
    // and the control process too: a deploy goes through and reaches the gateways
    await deploy("v3");
    await serves(gateways[0], "v3");
  });
});
