// Clusters for tests on NATS: each platform (or set of platforms that must share state) gets a
// cluster name of its own, so tests running side by side never see each other's functions,
// routes, keys or events, and its streams and buckets are removed afterwards; and a kit that
// starts a cluster of separate processes: control, gateways and workers.
import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startPlatform, type Platform } from "./platform.js";

let made = 0;

/** A fresh cluster name (at most 32 of a-z0-9). */
export function testCluster(): string {
  made++;
  return `t${Date.now().toString(36)}${process.pid.toString(36)}${made.toString(36)}`;
}

/** Deletes every stream of `cluster` on the server: its queue, dead letters, buckets and blobs. */
export async function removeCluster(url: string, cluster: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const own = ["QUEUE", "QUEUE_DLQ", "RECORDS"].map((s) => `${cluster.toUpperCase()}_${s}`);
    const prefixes = [`KV_${cluster}_`, `OBJ_${cluster}_`];
    for await (const name of jsm.streams.names()) {
      if (own.includes(name) || prefixes.some((p) => name.startsWith(p)))
        await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

export interface TestCluster {
  name: string;
  /** The admin token every process of it takes. */
  token: string;
  control: Platform;
  gateways: Platform[];
  workers: Platform[];
  /** Another process of the cluster, e.g. `start("worker", ["--capacity", "1"])`. */
  start(role: string, extraArgs?: string[], nats?: string): Promise<Platform>;
  /** Stops every process started through it and removes the cluster's streams. */
  dispose(): Promise<void>;
}

/**
 * A cluster of separate `litefaas up` processes on loopback: one control, `gateways` gateways
 * and `workers` workers (worker i connecting to `workerNats(i)`, the cluster's NATS by default).
 */
export async function startCluster(options: {
  nats: string;
  gateways?: number;
  workers?: number;
  workerNats?: (i: number) => string;
}): Promise<TestCluster> {
  const name = testCluster();
  const token = `lf_${randomBytes(24).toString("base64url")}`;
  const started: Platform[] = [];
  const start = async (role: string, extraArgs: string[] = [], nats = options.nats) => {
    const platform = await startPlatform({
      args: ["--nats", nats, "--cluster", name, "--role", role, ...extraArgs],
      env: { LITEFAAS_ADMIN_TOKEN: token },
    });
    started.push(platform);
    return platform;
  };
  const [control, gateways, workers] = await Promise.all([
    start("control"),
    Promise.all(Array.from({ length: options.gateways ?? 1 }, () => start("gateway"))),
    Promise.all(
      Array.from({ length: options.workers ?? 1 }, (_, i) =>
        start("worker", [], options.workerNats?.(i) ?? options.nats),
      ),
    ),
  ]);
  return {
    name,
    token,
    control,
    gateways,
    workers,
    start,
    async dispose() {
      await Promise.all(started.map((p) => p.dispose()));
      await removeCluster(options.nats, name);
    },
  };
}
