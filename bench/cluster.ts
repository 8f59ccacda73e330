// Hello world through separate processes over NATS, beside one process with every role:
//   all-in-one     `up --role all` (the gateway invokes in process)
//   1 worker       `up --role gateway` + `up --role worker` (+ a control process to deploy)
//   2 workers      the same with a second worker
// For each: wrk -t1 -c50 throughput and latency, wrk -c1 latency (the NATS hop's cost is the
// difference of the p50s), and the CPU each process spent per request. On a 2-core machine the
// processes share two cores, so throughput cannot show scaling; CPU per request can.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deployTo, spawnUp } from "./servers.js";
import { HELLO, cpuMs, removeCluster, stopChild } from "./util.js";
import { wrk, type WrkResult } from "./wrk.js";

interface Proc {
  role: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface ClusterSetup {
  setup: string;
  loaded: WrkResult;
  single: WrkResult;
  /** CPU ms per request of each process under load, by role. */
  cpuPerRequestMs: Record<string, number>;
  /** From the deploy call's start to the gateway serving the new version (ms), five deploys. */
  deployToServedMs: number[];
}

export interface ClusterFigures {
  setups: ClusterSetup[];
  /** p50 at one connection through gateway + worker, less the all-in-one's. */
  hopP50Ms: number;
}

async function start(role: string, cluster: string, natsUrl: string, token: string): Promise<Proc> {
  const { child, base, data } = await spawnUp(
    ["--nats", natsUrl, "--cluster", cluster, "--role", role, "--access-log", "off"],
    { LITEFAAS_ADMIN_TOKEN: token },
  );
  return {
    role,
    url: base,
    pid: child.pid ?? 0,
    stop: async () => {
      await stopChild(child);
      await rm(data, { recursive: true, force: true });
    },
  };
}

function localNatsServer(): number | undefined {
  try {
    const pid = Number(
      execFileSync("pgrep", ["-x", "nats-server"], { encoding: "utf8" }).split("\n")[0],
    );
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // not on this machine
  }
}

async function deployHello(control: Proc, token: string, code = HELLO): Promise<void> {
  const project = await mkdtemp(join(tmpdir(), "litefaas-bench-hello-"));
  try {
    await writeFile(
      join(project, "litefaas.yaml"),
      "project: bench\nfunctions:\n  hello:\n    main: hello.js\n",
    );
    await writeFile(join(project, "hello.js"), code);
    await deployTo(control.url, token, project);
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}

async function measure(
  setup: string,
  roles: string[],
  natsUrl: string,
  duration: string,
  connections: number,
): Promise<ClusterSetup> {
  const cluster = `bench-${setup.replace(/\W+/g, "-")}-${Date.now().toString(36)}`;
  const token = `lf_${randomBytes(24).toString("base64url")}`;
  const procs: Proc[] = [];
  try {
    for (const role of roles) procs.push(await start(role, cluster, natsUrl, token));
    const control = procs.find((p) => p.role === "all" || p.role.includes("control"));
    const entry = procs.find((p) => p.role === "all" || p.role === "gateway");
    if (control === undefined || entry === undefined) throw new Error("no control or gateway");
    await deployHello(control, token);
    const url = `${entry.url}/fn/bench/hello/`;
    // the workers hear of the deploy over NATS: wait until the gateway is served
    for (let i = 0; i < 100 && (await fetch(url).catch(() => undefined))?.status !== 200; i++)
      await new Promise((r) => setTimeout(r, 50));
    await wrk(url, "2s", connections); // warm-up: JIT, pools, instances on every worker
    const measured = procs.filter((p) => p.role !== "control");
    // the NATS server's share too, when it runs on this machine
    const natsPid = localNatsServer();
    const before = measured.map((p) => cpuMs(p.pid));
    const natsBefore = natsPid === undefined ? 0 : cpuMs(natsPid);
    const loaded = await wrk(url, duration, connections);
    const requests = loaded.rps * Number.parseFloat(duration);
    const cpuPerRequestMs: Record<string, number> = {};
    measured.forEach((p, i) => {
      const key = measured.filter((q) => q.role === p.role).length > 1 ? `${p.role} ${i}` : p.role;
      cpuPerRequestMs[key] = (cpuMs(p.pid) - (before[i] ?? 0)) / requests;
    });
    if (natsPid !== undefined)
      cpuPerRequestMs["nats-server"] = (cpuMs(natsPid) - natsBefore) / requests;
    const single = await wrk(url, duration, 1);
    // a deploy through control, until the gateway answers with the new version
    const deployToServedMs: number[] = [];
    for (let v = 2; v <= 6; v++) {
      const text = `version ${v}`;
      const started = performance.now();
      await deployHello(control, token, HELLO.replace("Hello, world!", text));
      while ((await (await fetch(url)).text()) !== text) await new Promise((r) => setTimeout(r, 2));
      deployToServedMs.push(performance.now() - started);
    }
    return { setup, loaded, single, cpuPerRequestMs, deployToServedMs };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await removeCluster(natsUrl, cluster);
  }
}

export async function clusterFigures(
  natsUrl: string,
  duration: string,
  connections: number,
): Promise<ClusterFigures> {
  const setups = [
    await measure("all-in-one", ["all"], natsUrl, duration, connections),
    await measure("1 worker", ["control", "gateway", "worker"], natsUrl, duration, connections),
    await measure(
      "2 workers",
      ["control", "gateway", "worker", "worker"],
      natsUrl,
      duration,
      connections,
    ),
  ];
  const [all, one] = setups;
  return {
    setups,
    hopP50Ms: (one?.single.p50Ms ?? NaN) - (all?.single.p50Ms ?? NaN),
  };
}
