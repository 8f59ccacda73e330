// One NATS connection per process, shared by every NATS backend (kv, blobs, and later queue and
// bus): each backend takes a NatsConnection; whoever opened it closes it.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { coalesceWrites } from "./turn-writes.js";

export interface NatsConnectOptions {
  /** One URL, several separated by commas, or a list: nats://host:4222,nats://other:4222 */
  servers: string | string[];
  /** Shown by the server (connz) so operators can tell litefaas processes apart. */
  name?: string;
}

/**
 * Connects, and checks that JetStream is enabled, so a misconfigured server fails at start with a
 * clear message instead of at the first kv write. After the first connection the client keeps
 * reconnecting forever: a cluster that comes back must not need a litefaas restart.
 */
export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const servers = (Array.isArray(options.servers) ? options.servers : options.servers.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name ?? "litefaas",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 250,
      // a dead server is noticed within ~30 s even when the TCP connection hangs silently
      pingInterval: 10_000,
      maxPingOut: 3,
      timeout: 5_000,
      // an Error with a stack per request costs ~19% of CPU at queue throughput
      noAsyncTraces: true,
    });
  } catch (error) {
    throw new Error(
      `cannot connect to NATS at ${servers.join(", ")}: ${String(error)}; ` +
        "start a nats-server with JetStream (-js) there, or pass the right --nats URL",
      { cause: error },
    );
  }
  coalesceWrites(nc);
  try {
    await jetstreamManager(nc);
  } catch (error) {
    await nc.close();
    throw new Error(
      `NATS at ${servers.join(", ")} does not offer JetStream: ${String(error)}; ` +
        "start nats-server with -js (or jetstream {} in its configuration)",
      { cause: error },
    );
  }
  return nc;
}

export interface ServerVersion {
  major: number;
  minor: number;
  patch: number;
}

/** The version of the server this connection is on now (it can change on reconnect). */
export function serverVersion(nc: NatsConnection): ServerVersion {
  const [major = 0, minor = 0, patch = 0] = (nc.info?.version ?? "0.0.0")
    .split("-")[0]
    ?.split(".")
    .map((part) => Number.parseInt(part, 10) || 0) ?? [0, 0, 0];
  return { major, minor, patch };
}

export function serverAtLeast(nc: NatsConnection, major: number, minor: number): boolean {
  const v = serverVersion(nc);
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** The largest message (headers + payload) the server accepts; 1 MiB unless configured. */
export function maxPayload(nc: NatsConnection): number {
  return nc.info?.max_payload ?? 1024 * 1024;
}
