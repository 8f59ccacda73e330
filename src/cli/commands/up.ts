// litefaas up: run the all-in-one node in this process until SIGTERM/SIGINT, then drain.
import { readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConfig } from "../../node/config.js";
import { startNode } from "../../node/index.js";
import { createPlatformLog } from "../../observe/platform-log.js";
import { asLitefaasError } from "../../shared/errors.js";
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
      logFormat: flags["log-format"],
      logFileMax: flags["log-file-max"],
      requireSandbox: flags["require-sandbox"],
      metricsOpen: flags["metrics-open"],
      otlp: flags.otlp,
    },
    process.env,
  );
  const log = createPlatformLog(config.logFormat);
  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    node = await startNode(config, log);
  } catch (error) {
    if (log.format === "json") {
      // a collector reading stdout sees why the platform did not start, as its last line
      const e = asLitefaasError(error);
      log.error("litefaas could not start", {
        error,
        ...(e.fix === undefined ? {} : { fix: e.fix }),
      });
      return e.kind === "user" ? 1 : 2;
    }
    throw error;
  }
  const { url } = node;
  log.info(`litefaas is up at ${url}  (data: ${config.dataDir})`, { url, data: config.dataDir });
  for (const result of node.deployed) {
    for (const fn of result.functions) {
      const at = `${url}/fn/${result.project}/${fn.name}`;
      // indented under the banner for people; a JSON line stands alone
      log.info(`${log.format === "text" ? "  " : ""}${at}  (v${fn.version})`, {
        project: result.project,
        function: fn.name,
        version: fn.version,
        url: at,
      });
    }
  }
  log.info(
    `console: ${url}/console/ · health: ${url}/healthz · admin API: ${url}/admin/v1 · stop with Ctrl-C`,
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: draining…`, { signal });
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await node.close();
  log.info("stopped");
  return 0;
}
