// litefaas up: run the all-in-one node in this process until SIGTERM/SIGINT, then drain.
import { readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConfig } from "../../node/config.js";
import { startNode } from "../../node/index.js";
import type { Flags } from "../main.js";

/** The examples shipped with the package: every directory of examples/ with a manifest. */
function exampleDirs(): string[] {
  const root = join(dirname(fileURLToPath(import.meta.url)), "../../../../examples");
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, "litefaas.yaml")))
    .map((d) => join(root, d.name))
    .sort();
}

export async function upCommand(flags: Flags): Promise<number> {
  const config = buildConfig(
    {
      host: flags.host,
      port: flags.port,
      data: flags.data,
      deploy: [...(flags.examples ? exampleDirs() : []), ...(flags.deploy ?? [])],
      prewarm: flags.prewarm,
      perInstance: flags["per-instance"],
      drainMs: flags["drain-ms"],
      nats: flags.nats,
      postgres: flags.postgres,
      cluster: flags.cluster,
      role: flags.role,
      capacity: flags.capacity,
      replicas: flags.replicas,
      trustedProxies: flags["trusted-proxies"],
      headerTimeout: flags["header-timeout"],
      bodyTimeout: flags["body-timeout"],
      requestTimeout: flags["request-timeout"],
      maxHeaderSize: flags["max-header-size"],
      accessLog: flags["access-log"],
      requireSandbox: flags["require-sandbox"],
      metricsOpen: flags["metrics-open"],
      otlp: flags.otlp,
    },
    process.env,
  );
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const node = await startNode(config, say);
  say(`litefaas is up at ${node.url}  (data: ${config.dataDir})`);
  for (const result of node.deployed) {
    for (const fn of result.functions)
      say(`  ${node.url}/fn/${result.project}/${fn.name}  (v${fn.version})`);
  }
  say(`health: ${node.url}/healthz · admin API: ${node.url}/admin/v1 · stop with Ctrl-C`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      say(`${signal}: draining…`);
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await node.close();
  say("stopped");
  return 0;
}
