// KV from inside a function, on each backend: throughput of sequential get/put in one invocation,
// and what one binding call adds over the backend's own client call.
//   overhead(p50) = [request with one kv.get] − [request with none] − [raw backend get]
// Requests are timed one at a time over a keep-alive connection, so the difference is the cost
// of the call through the isolate boundary and the host half, plus the backend round trip.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectNats } from "../src/backends/nats/connection.js";
import { natsKv } from "../src/backends/nats-kv/index.js";
import { openSqliteKv } from "../src/backends/sqlite-kv/index.js";
import type { KvPort } from "../src/ports/kv.js";
import { startLitefaas } from "./servers.js";
import { percentile, removeCluster } from "./util.js";

const FUNCTION = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/noop") return new Response("ok");
    if (url.pathname === "/get") return new Response(String(await env.kv.get("k")));
    if (url.pathname === "/put") { await env.kv.put("k", "v"); return new Response("ok"); }
    const n = Number(url.searchParams.get("n") ?? "1000");
    const op = url.searchParams.get("op");
    await env.kv.put("k", "v");
    const started = Date.now();
    for (let i = 0; i < n; i++) {
      if (op === "put") await env.kv.put("k" + (i % 100), "value " + i);
      else await env.kv.get("k");
    }
    return Response.json({ n, ms: Date.now() - started });
  },
};
`;

export interface BindingFigures {
  backend: string;
  getOpsPerSec: number;
  putOpsPerSec: number;
  requestNoopP50: number;
  requestGetP50: number;
  requestGetP99: number;
  rawGetP50: number;
  rawGetP99: number;
  overheadP50Us: number;
}

function timedGet(agent: Agent, url: string): Promise<{ ms: number; body: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(url, { agent }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function sample(agent: Agent, url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await timedGet(agent, url)).ms);
  return out.sort((a, b) => a - b);
}

async function rawGets(port: KvPort, n: number): Promise<number[]> {
  const bucket = await port.bucket(`bench_raw_${Date.now().toString(36)}`);
  await bucket.put("k", new TextEncoder().encode("v"));
  for (let i = 0; i < 200; i++) await bucket.get("k");
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint();
    await bucket.get("k");
    out.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  await port.deleteBucket(bucket.name);
  return out.sort((a, b) => a - b);
}

export async function bindingFigures(
  backend: "sqlite" | "nats",
  natsUrl: string,
): Promise<BindingFigures> {
  const project = await mkdtemp(join(tmpdir(), "litefaas-bench-kv-"));
  const name = `kvb${Date.now().toString(36)}`;
  await writeFile(
    join(project, "litefaas.yaml"),
    `project: ${name}\nfunctions:\n  kv:\n    main: kv.js\n`,
  );
  await writeFile(join(project, "kv.js"), FUNCTION);
  // on NATS, a cluster of the run's own: fresh buckets, removed afterwards
  const cluster = `bench-${name}`;
  const platform = await startLitefaas(
    backend === "nats" ? ["--nats", natsUrl, "--cluster", cluster] : [],
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const base = `${platform.base}/fn/${name}/kv`;
  try {
    await platform.deploy(project);
    await sample(agent, `${base}/put`, 50);
    const loop = async (op: string) => {
      const { body } = await timedGet(agent, `${base}/loop?op=${op}&n=2000`);
      const { n, ms } = JSON.parse(body) as { n: number; ms: number };
      return (n / Math.max(ms, 1)) * 1000;
    };
    const getOpsPerSec = await loop("get");
    const putOpsPerSec = await loop("put");
    // alternate the two kinds of request so drift in the machine's load hits both alike
    await sample(agent, `${base}/noop`, 300);
    await sample(agent, `${base}/get`, 300);
    const noop: number[] = [];
    const withGet: number[] = [];
    for (let i = 0; i < 2000; i++) {
      noop.push((await timedGet(agent, `${base}/noop`)).ms);
      withGet.push((await timedGet(agent, `${base}/get`)).ms);
    }
    noop.sort((a, b) => a - b);
    withGet.sort((a, b) => a - b);
    let raw: number[];
    if (backend === "nats") {
      const nc = await connectNats({ servers: natsUrl });
      raw = await rawGets(natsKv(nc, { sweepIntervalMs: 0 }), 2000);
      await nc.drain();
    } else {
      const dir = await mkdtemp(join(tmpdir(), "litefaas-bench-rawkv-"));
      const port = openSqliteKv(join(dir, "kv.sqlite"));
      raw = await rawGets(port, 2000);
      await port.close();
      await rm(dir, { recursive: true, force: true });
    }
    const p50 = (xs: number[]) => percentile(xs, 50);
    return {
      backend,
      getOpsPerSec,
      putOpsPerSec,
      requestNoopP50: p50(noop),
      requestGetP50: p50(withGet),
      requestGetP99: percentile(withGet, 99),
      rawGetP50: p50(raw),
      rawGetP99: percentile(raw, 99),
      overheadP50Us: (p50(withGet) - p50(noop) - p50(raw)) * 1000,
    };
  } finally {
    agent.destroy();
    await platform.stop();
    if (backend === "nats") await removeCluster(natsUrl, cluster);
    await rm(project, { recursive: true, force: true });
  }
}
