// wrk (Debian package wrk) as the load generator: C, one thread, so it takes as little of the
// two cores from the server under test as a load generator can.
import { execFileSync, spawnSync } from "node:child_process";

export interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export function requireWrk(): void {
  const found = spawnSync("wrk", ["--version"]);
  if (found.error !== undefined) {
    throw new Error(
      "the benchmark needs wrk: install it with `apt-get install -y wrk` (Debian package wrk)",
    );
  }
}

export function wrk(
  url: string,
  duration: string,
  connections: number,
  headers: string[] = [],
): Promise<WrkResult> {
  const args = ["-t1", `-c${connections}`, `-d${duration}`, "--latency"];
  for (const header of headers) args.push("-H", header);
  const out = execFileSync("wrk", [...args, url], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? "NaN");
  const errors =
    Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? "0") +
    Number(/Socket errors:.*?timeout (\d+)/.exec(out)?.[1] ?? "0");
  return Promise.resolve({ rps, p50Ms: latency(out, "50%"), p99Ms: latency(out, "99%"), errors });
}

function latency(out: string, pct: string): number {
  const match = new RegExp(`${pct}\\s+([\\d.]+)(us|ms|s)`).exec(out);
  if (match === null) return NaN;
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}
