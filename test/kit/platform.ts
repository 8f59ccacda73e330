// Test kit: a real `litefaas up` process on a random port with its own data directory, and the
// real CLI pointed at it. Tests talk to the platform only as a user would: HTTP and the CLI.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { removeCluster, testCluster } from "./cluster.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI = join(ROOT, "dist/src/cli/main.js");
export const FIXTURES = join(ROOT, "test/fixtures");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Platform {
  url: string;
  /** The `up` process's pid. */
  pid: number;
  token: string;
  dataDir: string;
  output(): string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** A long-running CLI command (e.g. logs --follow): its process and what it printed so far. */
  spawnCli(args: string[]): { child: ChildProcess; stdout(): string };
  /** Deploy a fixture project by directory name under test/fixtures (or an absolute path). */
  deploy(project: string): Promise<CliResult>;
  /** Stop with a signal and wait for the exit; returns the exit code (null if killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Start again on the same data directory (after stop). */
  restart(): Promise<Platform>;
  /** Stop and delete the data directory. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  /** Variables to set (or, as undefined, to leave out) in the platform's environment. */
  env?: Record<string, string | undefined>;
  /** The cluster the kit made for this platform, removed at dispose (kept across restarts). */
  ownCluster?: { url: string; name: string };
}

export async function startPlatform(options: StartOptions = {}): Promise<Platform> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "litefaas-test-")));
  let args = options.args ?? [];
  // on the shared NATS, a cluster of its own unless the test names one to share
  const nats = args.indexOf("--nats");
  let ownCluster = options.ownCluster;
  if (nats >= 0 && !args.includes("--cluster")) {
    ownCluster = { url: args[nats + 1] ?? "", name: testCluster() };
    args = [...args, "--cluster", ownCluster.name];
  }
  const child = spawn(
    process.execPath,
    ["--no-node-snapshot", CLI, "up", "--port", "0", "--data", dataDir, "--prewarm", "2", ...args],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LITEFAAS_TOKEN: "", LITEFAAS_URL: "", ...options.env },
    },
  );
  // a test that fails before its cleanup must not leave a platform running
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  child.once("exit", () => process.off("exit", reap));
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = await waitForUrl(child, () => output);
  const token = (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
  return makePlatform(child, url, token, dataDir, () => output, { ...options, args, ownCluster });
}

function makePlatform(
  child: ChildProcess,
  url: string,
  token: string,
  dataDir: string,
  output: () => string,
  options: StartOptions,
): Platform {
  const exited = new Promise<number | null>((resolveExit) =>
    child.once("exit", (code) => resolveExit(code)),
  );
  const platform: Platform = {
    url,
    pid: child.pid ?? 0,
    token,
    dataDir,
    output,
    fetch: (path, init) => fetch(`${url}${path}`, init),
    cli: (args, env = {}) => runCli(args, { LITEFAAS_URL: url, LITEFAAS_TOKEN: token, ...env }),
    spawnCli: (args) => {
      const cli = spawn(process.execPath, ["--no-node-snapshot", CLI, ...args], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LITEFAAS_URL: url, LITEFAAS_TOKEN: token },
      });
      let stdout = "";
      cli.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      return { child: cli, stdout: () => stdout };
    },
    deploy: (project) =>
      runCli(["deploy", project.startsWith("/") ? project : join(FIXTURES, project), "--json"], {
        LITEFAAS_URL: url,
        LITEFAAS_TOKEN: token,
      }),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    restart: () => startPlatform({ ...options, dataDir }),
    async dispose() {
      await platform.stop("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
      const own = options.ownCluster;
      if (own !== undefined) await removeCluster(own.url, own.name);
    },
  };
  return platform;
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ["--no-node-snapshot", CLI, ...args], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}

function waitForUrl(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    const check = () => {
      const match = /litefaas is up at (http:\/\/\S+)/.exec(output());
      if (match?.[1] !== undefined) {
        cleanup();
        resolveUrl(match[1]);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`litefaas up exited (${code}) before it was ready:\n${output()}`));
    };
    const timer = setInterval(check, 20);
    const cleanup = () => {
      clearInterval(timer);
      child.off("exit", onExit);
    };
    child.on("exit", onExit);
  });
}

/** The JSON error body's code, asserting the body is the standard error shape. */
export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as {
    error?: { code?: unknown; message?: unknown; requestId?: unknown };
  };
  if (
    typeof body.error?.code !== "string" ||
    typeof body.error.message !== "string" ||
    typeof body.error.requestId !== "string"
  ) {
    throw new Error(`not a standard error body: ${JSON.stringify(body)}`);
  }
  return body.error.code;
}
