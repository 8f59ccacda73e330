// External services the suites talk to (NATS, PostgreSQL, a browser). A suite whose service is not
// there skips, and says so in a line of its own, so a green run without NATS is not mistaken for a
// tested NATS backend; in CI (CI set) a missing service fails the run instead.
//
//   const nats = await natsService();
//   describeWith(nats, "nats kv backend", () => { … nats.url … });
//   // or: void describe("…", { skip: nats.skip }, …), or `if (nats.skip === false) …`
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { describe, it } from "node:test";

export interface ServiceCheck {
  /** As printed: "NATS", "PostgreSQL". */
  name: string;
  url: string;
  /** false when the service answers; otherwise a reason, for node:test's `skip` option. */
  skip: string | false;
}

/** Resolves true when a TCP connection to host:port opens within timeoutMs, false otherwise. */
export function probeTcp(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

const DEFAULT_PORTS: Record<string, number> = {
  "nats:": 4222,
  "tls:": 4222,
  "postgres:": 5432,
  "postgresql:": 5432,
};

const checks = new Map<string, Promise<ServiceCheck>>();

/**
 * Probes the host and port of `url` (the first, for a comma-separated NATS list) once per
 * process. Unreachable: outside CI prints `SKIPPED: <name> suites (no server at <url>)` and
 * returns a skip reason; in CI throws, which fails the test file that asked.
 */
export function requireService(name: string, url: string): Promise<ServiceCheck> {
  const id = `${name} ${url}`;
  let check = checks.get(id);
  if (check === undefined) {
    check = probe(name, url);
    checks.set(id, check);
  }
  return check;
}

async function probe(name: string, url: string): Promise<ServiceCheck> {
  const first = new URL(url.split(",")[0]?.trim() ?? url);
  const port = first.port === "" ? (DEFAULT_PORTS[first.protocol] ?? 0) : Number(first.port);
  const host = first.hostname.replace(/^\[(.*)\]$/, "$1");
  if (await probeTcp(host, port)) return { name, url, skip: false };
  const reason = `${name} suites (no server at ${url})`;
  if (process.env["CI"] !== undefined && process.env["CI"] !== "") {
    throw new Error(
      `${reason}: CI requires ${name}; start it before the tests (see .ci/run and research/machine.md)`,
    );
  }
  console.log(`SKIPPED: ${reason}`);
  return { name, url, skip: reason };
}

/** NATS with JetStream; LITEFAAS_TEST_NATS overrides the URL. */
export function natsService(): Promise<ServiceCheck> {
  return requireService("NATS", process.env["LITEFAAS_TEST_NATS"] ?? "nats://127.0.0.1:4222");
}

/** PostgreSQL; LITEFAAS_TEST_POSTGRES overrides the URL. */
export function postgresService(): Promise<ServiceCheck> {
  return requireService(
    "PostgreSQL",
    process.env["LITEFAAS_TEST_POSTGRES"] ?? "postgres://postgres@127.0.0.1:5432/test",
  );
}

/**
 * describe(name, fn) when the service answers; otherwise one skipped test of that name, so the
 * run's summary counts it under "skipped" (a skipped describe is counted as passed).
 */
export function describeWith(service: ServiceCheck, name: string, fn: () => void): void {
  if (service.skip === false) void describe(name, fn);
  else void it(name, { skip: service.skip }, () => undefined);
}

/**
 * Headless Chromium for the console's browser tests: Debian's package (browser downloads do not
 * work everywhere), or LITEFAAS_TEST_CHROMIUM. Missing: skipped outside CI, a failure in CI.
 */
export function chromiumService(): ServiceCheck {
  const path = process.env["LITEFAAS_TEST_CHROMIUM"] ?? "/usr/bin/chromium";
  if (existsSync(path)) return { name: "Chromium", url: path, skip: false };
  const reason = `Chromium suites (no browser at ${path}; apt-get install chromium)`;
  if (process.env["CI"] !== undefined && process.env["CI"] !== "") {
    throw new Error(`${reason}: CI requires it; .ci/run installs it`);
  }
  console.log(`SKIPPED: ${reason}`);
  return { name: "Chromium", url: path, skip: reason };
}
