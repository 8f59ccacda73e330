// Node configuration: a pure, validated function of its inputs (flags and environment).
import { resolve } from "node:path";
import { LitefaasError } from "../shared/errors.js";

export interface NodeConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Project directories deployed at start (the examples for `npm start`). */
  deploy: string[];
  maxBodyBytes: number;
  /** Prepared isolates kept ready per memory size. */
  prewarm: number;
  /** Invocations one isolate serves at once before another is started. */
  perInstance: number;
  /** How long SIGTERM waits for in-flight requests (ms). */
  drainMs: number;
  /** NATS servers for the function KV stores and the event bus; embedded backends when absent. */
  nats: string | undefined;
  /** PostgreSQL for the functions' SQL databases; SQLite files when absent. */
  postgres: string | undefined;
  /** Proxies whose X-Forwarded-For is believed (addresses and CIDR ranges). */
  trustedProxies: string[];
}

export interface ConfigInput {
  host?: string | undefined;
  port?: string | undefined;
  data?: string | undefined;
  deploy?: string[] | undefined;
  prewarm?: string | undefined;
  perInstance?: string | undefined;
  drainMs?: string | undefined;
  nats?: string | undefined;
  postgres?: string | undefined;
  trustedProxies?: string | undefined;
}

export function buildConfig(
  input: ConfigInput,
  env: Record<string, string | undefined>,
): NodeConfig {
  return {
    host: input.host ?? env["LITEFAAS_HOST"] ?? "127.0.0.1",
    port: integer("--port", input.port ?? env["LITEFAAS_PORT"] ?? "8080", 0, 65535),
    dataDir: resolve(input.data ?? env["LITEFAAS_DATA"] ?? ".litefaas"),
    deploy: (input.deploy ?? []).map((d) => resolve(d)),
    maxBodyBytes: 6 * 1024 * 1024,
    prewarm: integer("--prewarm", input.prewarm ?? "4", 0, 1000),
    perInstance: integer("--per-instance", input.perInstance ?? "64", 1, 10000),
    drainMs: integer("--drain-ms", input.drainMs ?? "10000", 0, 600_000),
    nats: url(
      "--nats",
      input.nats ?? env["LITEFAAS_NATS"],
      ["nats:", "tls:", "ws:", "wss:"],
      "nats://127.0.0.1:4222",
    ),
    trustedProxies: (input.trustedProxies ?? env["LITEFAAS_TRUSTED_PROXIES"] ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== ""),
    postgres: url(
      "--postgres",
      input.postgres ?? env["LITEFAAS_POSTGRES"],
      ["postgres:", "postgresql:"],
      "postgres://postgres@127.0.0.1:5432/test",
    ),
  };
}

function url(
  flag: string,
  text: string | undefined,
  protocols: string[],
  example: string,
): string | undefined {
  if (text === undefined || text === "") return undefined;
  for (const part of text.split(",")) {
    let parsed: URL;
    try {
      parsed = new URL(part.trim());
    } catch {
      throw new LitefaasError("INVALID_REQUEST", `${flag} "${part}" is not a URL`, {
        fix: `pass e.g. ${flag} ${example}`,
      });
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new LitefaasError(
        "INVALID_REQUEST",
        `${flag} "${part}" must use ${protocols.join(" or ")}`,
        { fix: `pass e.g. ${flag} ${example}` },
      );
    }
  }
  return text;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `${flag} must be an integer from ${min} to ${max}, got "${text}"`,
      {
        fix: `pass ${flag} <${min}..${max}>`,
      },
    );
  }
  return value;
}
