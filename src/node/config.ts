// Node configuration: a pure, validated function of its inputs (flags and environment).
import { resolve } from "node:path";
import { parseDuration } from "../shared/duration.js";
import { CLUSTER_NAME, DEFAULT_CLUSTER } from "../shared/cluster-names.js";
import { LitefaasError } from "../shared/errors.js";
import { DEFAULT_LOG_FILE_MAX_BYTES } from "../observe/log-file-rotation.js";
import { LOG_FORMATS, type LogFormat } from "../observe/platform-log.js";

const MIB = 1024 * 1024;

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
  /**
   * The platform's name on NATS and PostgreSQL: processes with the same name and servers are one
   * platform (shared/cluster-names.ts).
   */
  cluster: string;
  /** The admin token given by the operator (the same for every process of a cluster). */
  adminToken: string | undefined;
  /** What this process hosts (`--role`); all three unless told. */
  roles: Roles;
  /** Invocations a worker runs for gateways in other processes at once, at most. */
  capacity: number;
  /** JetStream replicas of the streams and buckets litefaas creates (3 on a NATS cluster of 3). */
  replicas: number;
  /** Proxies whose X-Forwarded-For is believed (addresses and CIDR ranges). */
  trustedProxies: string[];
  /** The gateway's own limits on clients, apart from any function's. */
  http: HttpLimits;
  /** Where access log lines go: a file path, "-" for stdout, or undefined for nowhere. */
  accessLog: string | undefined;
  /** How the platform prints its own lines (and the access log on stdout): text, or JSON lines. */
  logFormat: LogFormat;
  /** Bytes a log file (the access log, each function's) grows to before it is rotated. */
  logFileMaxBytes: number;
  /** Refuse to run process functions when a sandbox protection is missing. */
  requireSandbox: boolean;
  /** Serve /metrics without the admin token (a private network's Prometheus). */
  metricsOpen: boolean;
  /** Where spans go over OTLP/HTTP (…/v1/traces), or undefined for nowhere. */
  otlp: string | undefined;
}

export interface Roles {
  /** HTTP function traffic: routes, authentication, rate limits. */
  gateway: boolean;
  /** Runtimes: invocations from gateways, events, async invocations and cron runs. */
  worker: boolean;
  /** The admin API: deploys, keys, DLQ tools, logs. */
  control: boolean;
}

export interface HttpLimits {
  /** A client must send its whole request head within this (slowloris). */
  headersTimeoutMs: number;
  /** …and its whole request, head and body, within this. */
  bodyTimeoutMs: number;
  /** How long an answer may take before the gateway gives up with 504; 0: the function's timeout. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Request line and headers, together. */
  maxHeaderBytes: number;
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
  cluster?: string | undefined;
  role?: string | undefined;
  capacity?: string | undefined;
  replicas?: string | undefined;
  trustedProxies?: string | undefined;
  headerTimeout?: string | undefined;
  bodyTimeout?: string | undefined;
  requestTimeout?: string | undefined;
  maxHeaderSize?: string | undefined;
  accessLog?: string | undefined;
  logFormat?: string | undefined;
  logFileMax?: string | undefined;
  requireSandbox?: boolean | undefined;
  metricsOpen?: boolean | undefined;
  otlp?: string | undefined;
}

export function buildConfig(
  input: ConfigInput,
  env: Record<string, string | undefined>,
): NodeConfig {
  const dataDir = resolve(input.data ?? env["LITEFAAS_DATA"] ?? ".litefaas");
  return {
    host: input.host ?? env["LITEFAAS_HOST"] ?? "127.0.0.1",
    port: integer("--port", input.port ?? env["LITEFAAS_PORT"] ?? "8080", 0, 65535),
    dataDir,
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
    cluster: clusterName(input.cluster ?? env["LITEFAAS_CLUSTER"] ?? DEFAULT_CLUSTER),
    adminToken: adminToken(env["LITEFAAS_ADMIN_TOKEN"]),
    roles: roles(input.role ?? env["LITEFAAS_ROLE"] ?? "all", input.nats ?? env["LITEFAAS_NATS"]),
    capacity: integer(
      "--capacity",
      input.capacity ?? env["LITEFAAS_CAPACITY"] ?? "512",
      1,
      100_000,
    ),
    replicas: integer("--replicas", input.replicas ?? env["LITEFAAS_REPLICAS"] ?? "1", 1, 5),
    http: httpLimits(input, env),
    accessLog: accessLogTarget(input.accessLog ?? env["LITEFAAS_ACCESS_LOG"], dataDir),
    logFormat: logFormat(input.logFormat ?? env["LITEFAAS_LOG_FORMAT"] ?? "text"),
    logFileMaxBytes:
      integer(
        "--log-file-max",
        input.logFileMax ??
          env["LITEFAAS_LOG_FILE_MAX"] ??
          String(DEFAULT_LOG_FILE_MAX_BYTES / MIB),
        1,
        1_048_576,
      ) * MIB,
    requireSandbox: input.requireSandbox ?? env["LITEFAAS_REQUIRE_SANDBOX"] === "1",
    metricsOpen: input.metricsOpen ?? env["LITEFAAS_METRICS_OPEN"] === "1",
    otlp: url(
      "--otlp",
      input.otlp ?? env["LITEFAAS_OTLP"],
      ["http:", "https:"],
      "http://127.0.0.1:4318/v1/traces",
    )?.split(",")[0],
  };
}

const ROLE_NAMES = ["gateway", "worker", "control"] as const;

/** `all`, or roles separated by commas; a process without every role needs NATS to meet others. */
function roles(text: string, nats: string | undefined): Roles {
  const named = text.split(",").map((r) => r.trim());
  const all = named.includes("all");
  for (const role of named) {
    if (role !== "all" && !(ROLE_NAMES as readonly string[]).includes(role)) {
      throw new LitefaasError("INVALID_REQUEST", `--role "${role}" is not a role`, {
        fix: "use all, or any of gateway, worker and control separated by commas, e.g. --role gateway,control",
      });
    }
  }
  const result: Roles = {
    gateway: all || named.includes("gateway"),
    worker: all || named.includes("worker"),
    control: all || named.includes("control"),
  };
  if (!(result.gateway && result.worker && result.control) && (nats === undefined || nats === "")) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `--role ${text} needs --nats: processes with some of the roles find the others over NATS`,
      {
        fix: "add --nats nats://host:4222 (and the same --cluster on every process), or use --role all",
      },
    );
  }
  return result;
}

function clusterName(text: string): string {
  if (!CLUSTER_NAME.test(text)) {
    throw new LitefaasError("INVALID_REQUEST", `--cluster "${text}" is not a cluster name`, {
      fix: 'use 1-32 of a-z, 0-9 and "-", starting and ending with a letter or digit, e.g. --cluster prod-eu',
    });
  }
  return text;
}

/** Long enough not to be guessed; it is compared in constant time like the generated ones. */
function adminToken(text: string | undefined): string | undefined {
  if (text === undefined || text === "") return undefined;
  if (text.length < 16 || /\s/.test(text)) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `LITEFAAS_ADMIN_TOKEN must be at least 16 characters without spaces, got ${text.length} characters`,
      { fix: "generate one, e.g. LITEFAAS_ADMIN_TOKEN=$(openssl rand -base64 32)" },
    );
  }
  return text;
}

function httpLimits(input: ConfigInput, env: Record<string, string | undefined>): HttpLimits {
  const headersTimeoutMs = duration(
    "--header-timeout",
    input.headerTimeout ?? env["LITEFAAS_HEADER_TIMEOUT"] ?? "10s",
    100,
  );
  const bodyTimeoutMs = duration(
    "--body-timeout",
    input.bodyTimeout ?? env["LITEFAAS_BODY_TIMEOUT"] ?? "60s",
    100,
  );
  if (bodyTimeoutMs < headersTimeoutMs) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `--body-timeout (${bodyTimeoutMs} ms) is shorter than --header-timeout (${headersTimeoutMs} ms)`,
      { fix: "the body timeout covers the head too: make it at least the header timeout" },
    );
  }
  return {
    headersTimeoutMs,
    bodyTimeoutMs,
    requestTimeoutMs: duration(
      "--request-timeout",
      input.requestTimeout ?? env["LITEFAAS_REQUEST_TIMEOUT"] ?? "0",
      0,
    ),
    keepAliveTimeoutMs: 5000,
    maxHeaderBytes: integer(
      "--max-header-size",
      input.maxHeaderSize ?? env["LITEFAAS_MAX_HEADER_SIZE"] ?? "16384",
      1024,
      1024 * 1024,
    ),
  };
}

function accessLogTarget(text: string | undefined, dataDir: string): string | undefined {
  if (text === undefined || text === "") return resolve(dataDir, "access.log");
  if (text === "off") return undefined;
  return text === "-" ? "-" : resolve(text);
}

function logFormat(text: string): LogFormat {
  const format = LOG_FORMATS.find((f) => f === text);
  if (format === undefined) {
    throw new LitefaasError("INVALID_REQUEST", `--log-format "${text}" is not a log format`, {
      fix: "use --log-format text (lines for people, the default) or json (one JSON object per line, for a log collector)",
    });
  }
  return format;
}

/** "10s", "500ms", "2m" or "0" as ms; at least `min` unless 0 is allowed and given. */
function duration(flag: string, text: string, min: number): number {
  const ms = text === "0" ? 0 : parseDuration(text);
  if (ms === undefined || ms < min) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `${flag} must be a duration${min > 0 ? ` of at least ${min} ms` : ""}, got "${text}"`,
      { fix: `pass e.g. ${flag} 30s (ms, s, m or h)${min === 0 ? ", or 0 for none" : ""}` },
    );
  }
  return ms;
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
