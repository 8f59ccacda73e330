// Gateways, workers and control as separate processes on the machine's NATS: a deploy made
// through control serves through the gateway from the workers; bodies far over NATS's 1 MiB
// message limit travel both ways; streamed answers arrive as they are produced; logs from the
// workers reach control; no workers, or every worker busy, is a 503 with Retry-After; a worker
// killed under load costs only what it was running (a POST: 502), and the rest serves on.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { startCluster, type TestCluster } from "../kit/cluster.js";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, startPlatform, type Platform } from "../kit/platform.js";
import { connect } from "../kit/websocket-client.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();

const ECHO = `export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/big")) {
      const n = Number(url.searchParams.get("mib")) * 1024 * 1024;
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = i % 251;
      return new Response(bytes);
    }
    if (url.pathname.endsWith("/stream")) {
      let i = 0;
      return new Response(new ReadableStream({
        async pull(controller) {
          if (i === 4) { controller.close(); return; }
          controller.enqueue(new TextEncoder().encode("piece " + i++ + " at " + Date.now() + "\\n"));
          await new Promise((r) => setTimeout(r, 300));
        },
      }));
    }
    if (url.pathname.endsWith("/slow")) {
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms"))));
      return new Response("slept");
    }
    const body = new Uint8Array(await request.arrayBuffer());
    const digest = await crypto.subtle.digest("SHA-256", body);
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    console.log("echoed " + body.length + " bytes");
    return Response.json({ method: request.method, length: body.length, sha256: hex });
  },
};
`;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describeWith(nats, "roles: gateway, workers and control as separate processes", () => {
  const project = `r${Date.now().toString(36)}`;
  let dir: string;
  let cluster: TestCluster;
  let control: Platform;
  let gateway: Platform;
  let workers: Platform[];
  /** A gateway with control and no worker anywhere in its cluster. */
  let alone: Platform;
  const fn = (path: string) => `/fn/${project}/echo${path}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "litefaas-roles-"));
    await writeFile(
      join(dir, "litefaas.yaml"),
      `project: ${project}\nfunctions:\n  echo:\n    main: echo.js\n    limits: { timeout: 30s }\n`,
    );
    await writeFile(join(dir, "echo.js"), ECHO);
    [cluster, alone] = await Promise.all([
      startCluster({ nats: nats.url, gateways: 1, workers: 2 }),
      startPlatform({ args: ["--nats", nats.url, "--role", "gateway,control"] }),
    ]);
    ({ control, workers } = cluster);
    gateway = cluster.gateways[0] as Platform;
    const deployed = await control.deploy(dir);
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    await Promise.all([cluster.dispose(), alone.dispose()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("answers only for its roles, and says where to go for the rest", async () => {
    const admin = await gateway.fetch("/admin/v1/functions", {
      headers: { authorization: `Bearer ${cluster.token}` },
    });
    assert.equal(admin.status, 404);
    assert.match(await admin.text(), /no control role/);
    const traffic = await control.fetch(fn("/"));
    assert.equal(traffic.status, 404);
    assert.equal(await errorCode(traffic), "ROUTE_NOT_FOUND");
    const atWorker = await workers[0]?.fetch(fn("/"));
    assert.equal(atWorker?.status, 404);
    assert.equal((await workers[0]?.fetch("/healthz"))?.status, 200);
    // the console lives with the admin API it calls
    const consoleAtGateway = await gateway.fetch("/console/");
    assert.equal(consoleAtGateway.status, 404);
    assert.match(await consoleAtGateway.text(), /no control role/);
    assert.equal((await control.fetch("/console/")).status, 200);
  });

  it("serves what control deployed through the gateway, from the workers", async () => {
    const answer = await eventuallyValue("the function through the gateway", async () => {
      const response = await gateway.fetch(fn("/"), { method: "POST", body: "hello" });
      return response.status === 200 ? ((await response.json()) as { sha256: string }) : undefined;
    });
    assert.equal(answer.sha256, sha256(new TextEncoder().encode("hello")));
  });

  it("carries a 6 MiB request body and a 3 MiB answer past NATS's 1 MiB message limit", async () => {
    const body = randomBytes(6 * 1024 * 1024 - 100);
    const response = await gateway.fetch(fn("/"), { method: "PUT", body });
    assert.equal(response.status, 200, await response.clone().text());
    const echoed = (await response.json()) as { method: string; length: number; sha256: string };
    assert.deepEqual(echoed, { method: "PUT", length: body.length, sha256: sha256(body) });

    const big = await gateway.fetch(fn("/big?mib=3"));
    assert.equal(big.status, 200);
    const bytes = new Uint8Array(await big.arrayBuffer());
    assert.equal(bytes.length, 3 * 1024 * 1024);
    assert.ok(
      bytes.every((b, i) => b === i % 251),
      "every byte as the function wrote it",
    );
  });

  it("streams an answer piece by piece as the function produces it", async () => {
    const response = await gateway.fetch(fn("/stream"));
    assert.equal(response.status, 200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const arrivals: Array<{ at: number; text: string }> = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push({ at: Date.now(), text: new TextDecoder().decode(value) });
    }
    const text = arrivals.map((a) => a.text).join("");
    const produced = [...text.matchAll(/piece (\d) at (\d+)/g)].map((m) => Number(m[2]));
    assert.equal(produced.length, 4, text);
    // the first piece reached the client before the function had produced the last one
    assert.ok((arrivals[0]?.at ?? Infinity) < (produced[3] ?? 0), JSON.stringify(arrivals));
  });

  it("shows the workers' log lines through control", async () => {
    await gateway.fetch(fn("/"), { method: "POST", body: "log me" });
    await eventuallyValue("the worker's line through control", async () => {
      const logs = await control.cli(["logs", `${project}/echo`]);
      return logs.stdout.includes("echoed 6 bytes") ? true : undefined;
    });
  });

  it("shows through control the record of an invocation a worker ran", async () => {
    const answer = await gateway.fetch(fn("/"), { method: "POST", body: "record me" });
    assert.equal(answer.status, 200);
    const id = answer.headers.get("x-request-id") ?? "";
    const shown = await eventuallyValue("the worker's record through control", async () => {
      const r = await control.cli(["invocations", "show", id, "--json"]);
      return r.code === 0
        ? (JSON.parse(r.stdout) as { worker: string; logs: unknown[] })
        : undefined;
    });
    const workerPids = workers.map((w) => String(w.pid));
    assert.ok(workerPids.includes(shown.worker.split(":").at(-1) ?? ""), shown.worker);
    assert.deepEqual(
      shown.logs.map((l) => (l as { message: string }).message),
      ["echoed 9 bytes"],
    );
    const listed = await control.cli(["invocations", "ls", `${project}/echo`, "--json"]);
    assert.ok(
      (JSON.parse(listed.stdout) as { records: Array<{ id: string }> }).records.some(
        (r) => r.id === id,
      ),
    );
  });

  it("carries a WebSocket between the client at the gateway and the function on a worker", async () => {
    const deployed = await control.deploy("sockets");
    assert.equal(deployed.code, 0, deployed.stderr);
    const ws = gateway.url.replace("http://", "ws://");
    const client = await eventuallyValue("the WebSocket to open", () =>
      connect(`${ws}/fn/sockets/chat/room`).catch(() => undefined),
    );
    assert.equal(await client.next(), "hello /room");
    client.ws.send("hi");
    assert.equal(await client.next(), "echo: hi");
    client.ws.send(Buffer.from([0, 1, 255]));
    assert.deepEqual([...((await client.next()) as Buffer)], [0, 1, 255]);
    // the function closes: the client sees its code and reason
    client.ws.send("close");
    assert.deepEqual(await client.closed, { code: 4000, reason: "asked to" });
    // the client closes: the function on the worker hears it
    const second = await connect(`${ws}/fn/sockets/chat/other`);
    assert.equal(await second.next(), "hello /other");
    second.ws.close(4321, "bye");
    await second.closed;
    const state = await eventuallyValue("the function to record the client's close", async () => {
      const response = await gateway.fetch("/fn/sockets/chat/state");
      const body = (await response.json()) as { closed: { code?: number } | null };
      return body.closed?.code === 4321 ? body : undefined;
    });
    assert.equal(state.closed?.code, 4321);
  });

  it("answers 503 NO_WORKERS with Retry-After when the cluster has no worker", async () => {
    const deployed = await alone.deploy(dir);
    assert.equal(deployed.code, 0, deployed.stderr);
    const response = await alone.fetch(fn("/"));
    assert.equal(response.status, 503);
    assert.equal(await errorCode(response), "NO_WORKERS");
    assert.equal(response.headers.get("retry-after"), "1");
  });

  it("fails what a killed worker was running (a POST: 502; with an Idempotency-Key it runs again) and serves on", async () => {
    const [doomed] = workers as [Platform, Platform];
    // one slow POST per worker at least: the queue group spreads six of them over both
    const slow = Array.from({ length: 6 }, () =>
      gateway.fetch(fn("/slow?ms=3000"), { method: "POST", body: "x" }),
    );
    // the same with an Idempotency-Key: safe to run again, so run again on the other worker
    const keyed = Array.from({ length: 6 }, (_, i) =>
      gateway.fetch(fn("/slow?ms=3000"), {
        method: "POST",
        body: "x",
        headers: { "idempotency-key": `k${i}` },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 700));
    await doomed.stop("SIGKILL");
    const answers = await Promise.all(slow);
    const codes = await Promise.all(
      answers.map(async (r) => (r.status === 200 ? "ok" : await errorCode(r))),
    );
    assert.ok(codes.includes("WORKER_LOST"), codes.join(" "));
    assert.ok(codes.includes("ok"), codes.join(" "));
    assert.ok(
      answers.every((r) => r.status === 200 || r.status === 502),
      codes.join(" "),
    );
    assert.deepEqual(
      (await Promise.all(keyed)).map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    // from now on everything is served, by the one left
    for (let i = 0; i < 20; i++) {
      const response = await gateway.fetch(fn("/"), { method: "POST", body: String(i) });
      assert.equal(response.status, 200, await response.clone().text());
    }
  });

  it("answers 503 CLUSTER_BUSY with Retry-After when every worker is at its capacity", async () => {
    // one worker left, which takes one invocation at a time (the kit stops it with the cluster)
    await cluster.start("worker", ["--capacity", "1"]);
    await workers[1]?.stop("SIGKILL");
    const first = gateway.fetch(fn("/slow?ms=5000"), { method: "POST", body: "a" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = await gateway.fetch(fn("/slow?ms=10"), { method: "POST", body: "b" });
    assert.equal(second.status, 503, await second.clone().text());
    assert.equal(await errorCode(second), "CLUSTER_BUSY");
    assert.equal(second.headers.get("retry-after"), "1");
    assert.equal((await first).status, 200);
  });
});
