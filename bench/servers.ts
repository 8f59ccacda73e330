// The servers under test, each serving the same hello world, each in its own process.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildProject } from "../src/control/build-project.js";
import { HELLO, ROOT, spawnReady, stopChild } from "./util.js";

export interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const BARE = `require("node:http").createServer((req, res) => { res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" }); res.end("Hello, world!"); }).listen(0, "127.0.0.1", function () { console.log("listening " + this.address().port); });`;

export async function startBareNode(): Promise<Server> {
  const { child, match } = await spawnReady(process.execPath, ["-e", BARE], /listening (\d+)/);
  return {
    url: `http://127.0.0.1:${match[1] ?? ""}/`,
    pid: child.pid ?? 0,
    stop: () => stopChild(child),
  };
}

export interface Litefaas extends Server {
  base: string;
  token: string;
  deploy(dir: string): Promise<void>;
}

/** Deploys the project in `dir` through the admin API at `base`. */
export async function deployTo(base: string, token: string, dir: string): Promise<void> {
  const request = await buildProject(dir);
  const res = await fetch(`${base}/admin/v1/deploy`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({
      manifest: request.manifest,
      file: request.file,
      bundles: request.bundles,
      migrations: request.migrations,
    }),
  });
  if (!res.ok) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
}

/** Node flags for the platform processes under test, e.g. --cpu-prof to see where a bench goes. */
const NODE_ARGS = (process.env["LITEFAAS_BENCH_NODE_ARGS"] ?? "")
  .split(" ")
  .filter((a) => a !== "");

/** `litefaas up` on a fresh data directory (`data`), once it says where it listens (`base`). */
export async function spawnUp(
  extraArgs: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; base: string; data: string }> {
  const data = await mkdtemp(join(tmpdir(), "litefaas-bench-"));
  const { child, match } = await spawnReady(
    process.execPath,
    [
      "--no-node-snapshot",
      ...NODE_ARGS,
      join(ROOT, "dist/src/cli/main.js"),
      "up",
      "--port",
      "0",
      "--data",
      data,
      ...extraArgs,
    ],
    /litefaas is up at (http:\/\/\S+)/,
    ROOT,
    env,
  );
  return { child, base: match[1] ?? "", data };
}

/** `litefaas up` on a fresh data directory, with hello world deployed as bench/hello. */
export async function startLitefaas(extraArgs: string[] = []): Promise<Litefaas> {
  const { child, base, data } = await spawnUp(extraArgs);
  const token = (await readFile(join(data, "admin-token"), "utf8")).trim();
  const deploy = (dir: string) => deployTo(base, token, dir);
  const project = await mkdtemp(join(tmpdir(), "litefaas-bench-hello-"));
  await writeFile(
    join(project, "litefaas.yaml"),
    "project: bench\nfunctions:\n  hello:\n    main: hello.js\n",
  );
  await writeFile(join(project, "hello.js"), HELLO);
  await deploy(project);
  return {
    url: `${base}/fn/bench/hello/`,
    base,
    token,
    pid: child.pid ?? 0,
    deploy,
    stop: async () => {
      await stopChild(child);
      await rm(data, { recursive: true, force: true });
      await rm(project, { recursive: true, force: true });
    },
  };
}

/** Cloudflare's workerd (npm package workerd) serving the same module. */
export async function startWorkerd(): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-bench-workerd-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  await writeFile(join(dir, "hello.js"), HELLO);
  await writeFile(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .hello) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const hello :Workerd.Worker = (
  modules = [ (name = "hello.js", esModule = embed "hello.js") ],
  compatibilityDate = "2025-01-01",
);
`,
  );
  const binary = join(ROOT, "node_modules/workerd/bin/workerd");
  const child = spawn(binary, ["serve", join(dir, "config.capnp")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  // workerd prints nothing when ready: poll the socket
  let ready = false;
  for (let i = 0; i < 200 && !ready; i++) {
    try {
      ready = (await fetch(`http://127.0.0.1:${port}/`)).ok;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (!ready) {
    await stopChild(child);
    throw new Error("workerd did not start serving within 10 s");
  }
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid ?? 0,
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
