// Cluster names for tests on the machine's shared NATS: each platform (or pair of platforms that
// must share state) gets a name of its own, so tests running side by side never see each other's
// functions, routes, keys or events, and its streams and buckets are removed afterwards.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

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
    const own = [`${cluster.toUpperCase()}_QUEUE`, `${cluster.toUpperCase()}_QUEUE_DLQ`];
    const prefixes = [`KV_${cluster}_`, `OBJ_${cluster}_`];
    for await (const name of jsm.streams.names()) {
      if (own.includes(name) || prefixes.some((p) => name.startsWith(p)))
        await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}
