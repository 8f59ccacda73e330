// The process runtimes: Python, Node with its full API, and any executable speaking the Lambda
// Runtime API, each as a long-lived sandboxed process per instance serving one invocation at a
// time.
import { execFile, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { realpathSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BlobsPort } from "../../ports/blobs.js";
import { LitefaasError } from "../../shared/errors.js";
import type { FunctionVersion, Instance, Runtime } from "../types.js";
import { unpackTaskRoot } from "./archive.js";
import { ProcessInstance, type ProcessServices } from "./process-instance.js";
import { placeCode, PreparedSupply, type PreparedKind } from "./prepared-supply.js";
import { SandboxedProcess, type Launch } from "./sandboxed-process.js";
import {
  describeProtections,
  findSandboxTools,
  isAlive,
  removeOwnCgroups,
  type SandboxTools,
} from "./sandbox.js";

export interface ProcessRuntimeOptions {
  blobs: BlobsPort;
  services(fn: FunctionVersion): ProcessServices;
  /** Where versions' code is unpacked and instances keep their sockets. */
  dataDir: string;
  /** Refuse to run a process function when a protection is missing. */
  requireSandbox: boolean;
}

export interface ProcessRuntime extends Runtime {
  /** Which protections are on and off on this machine. */
  readonly protections: { on: string[]; off: string[] };
}

/** The runtime's own files (the Python bootstrap and SDK), mounted at /opt/litefaas. */
const RUNTIME_DIR = dirname(fileURLToPath(import.meta.url));
const INSIDE_TASK = "/var/task";
const INSIDE_RUNTIME = "/opt/litefaas";
/** A prepared process's memory limit until a function's own replaces it (the default one). */
const PREPARED_MEMORY_MIB = 128;

export function createProcessRuntime(options: ProcessRuntimeOptions): ProcessRuntime {
  const tools: SandboxTools = findSandboxTools();
  const protections = describeProtections(tools);
  const isolated = tools.bwrap !== undefined && tools.socat !== undefined;
  const unpacked = new Map<string, Promise<{ dir: string; entry: string }>>();
  let python: { executable: string; prefix: string } | undefined;
  let runtimeCompiled: Promise<void> | undefined;
  const live = new Set<ProcessInstance>();
  // instances' sockets and prepared processes' code, per platform process: a sweep at start
  // removes what one that was killed left behind
  const runRoot = join(options.dataDir, "run", `p${process.pid}`);
  const slotsRoot = join(options.dataDir, "slots", `p${process.pid}`);
  void sweepDead(join(options.dataDir, "run"));
  void sweepDead(join(options.dataDir, "slots"));
  const cleanups = new Set<Promise<void>>();

  const taskRootOf = (fn: FunctionVersion) => {
    let found = unpacked.get(fn.artifact);
    if (found === undefined) {
      found = (async () => {
        const bytes = await options.blobs.get(fn.artifact);
        if (bytes === undefined) {
          throw new LitefaasError(
            "INTERNAL",
            `artifact ${fn.artifact} of ${fn.project}/${fn.name}@${fn.version} is missing`,
            { fix: "redeploy the function" },
          );
        }
        const dir = join(options.dataDir, "tasks", fn.artifact.replace(/[^A-Za-z0-9_-]/g, "_"));
        const entry = await unpackTaskRoot(Buffer.from(bytes).toString("utf8"), dir);
        if (fn.config.runtime === "python") {
          python ??= findPython();
          await compilePython(python.executable, dir, isolated ? INSIDE_TASK : dir);
        }
        return { dir, entry };
      })();
      found.catch(() => unpacked.delete(fn.artifact));
      unpacked.set(fn.artifact, found);
    }
    return found;
  };

  /** The environment every function of a runtime gets alike (a prepared process starts with it). */
  const fixedEnv = (kind: FunctionVersion["config"]["runtime"], task: string) => {
    const runtimeDir = isolated ? INSIDE_RUNTIME : RUNTIME_DIR;
    const env: Record<string, string> = {
      LAMBDA_TASK_ROOT: task,
      LAMBDA_RUNTIME_DIR: runtimeDir,
      AWS_REGION: "local",
      AWS_DEFAULT_REGION: "local",
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: "/tmp",
      LANG: "C.UTF-8",
      TZ: "UTC",
    };
    if (isolated) env["RUNTIME_API_SOCKET"] = "/run/litefaas/api.sock";
    if (kind === "python") {
      env["PYTHONPATH"] = join(runtimeDir, "python");
      env["PYTHONUNBUFFERED"] = "1";
      env["PYTHONDONTWRITEBYTECODE"] = "1";
    }
    return env;
  };

  /** A function's whole environment: its own variables, then Lambda's, then the fixed ones. */
  const envOf = (fn: FunctionVersion, entry: string, task: string): Record<string, string> => {
    const { project, name, version, config } = fn;
    return {
      ...config.env,
      _HANDLER: config.handler ?? entry,
      AWS_LAMBDA_FUNCTION_NAME: `${project}-${name}`,
      AWS_LAMBDA_FUNCTION_VERSION: String(version),
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memoryMiB),
      AWS_LAMBDA_LOG_GROUP_NAME: `/litefaas/${project}/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: String(version),
      ...fixedEnv(config.runtime, task),
    };
  };

  /** The command of an interpreter runtime, and what of the host it needs to read. */
  const interpreter = async (
    kind: PreparedKind,
  ): Promise<Pick<Launch, "command" | "readOnly" | "bridge">> => {
    const runtimeDir = isolated ? INSIDE_RUNTIME : RUNTIME_DIR;
    if (kind === "python") {
      python ??= findPython();
      runtimeCompiled ??= compilePython(
        python.executable,
        join(RUNTIME_DIR, "python"),
        join(runtimeDir, "python"),
      );
      await runtimeCompiled;
      return {
        // -S: no site module (a site-packages .pth can cost 50 ms per start); the task root and
        // its python/ folder are on the path, set by the bootstrap
        command: [python.executable, "-S", "-u", join(runtimeDir, "python", "bootstrap.py")],
        // the bootstrap and SDK reach the socket itself: no loopback bridge, one process less
        bridge: "none",
        readOnly: python.prefix.startsWith("/usr/") ? [] : [python.prefix],
      };
    }
    // Node as the platform runs it; its own directory bound read-only where it is
    const node = realpathSync(process.execPath);
    const prefix = dirname(dirname(node));
    return {
      command: [node, join(runtimeDir, "node", "bootstrap.js")],
      readOnly: prefix === "/usr" || prefix.startsWith("/usr/") ? [] : [prefix],
      bridge: "none",
    };
  };

  const launchOf = async (fn: FunctionVersion): Promise<Launch> => {
    const { dir, entry } = await taskRootOf(fn);
    const task = isolated ? INSIDE_TASK : dir;
    const env = envOf(fn, entry, task);
    const kind = fn.config.runtime;
    if (kind === "python" || kind === "node-process")
      return { taskRoot: dir, runtimeDir: RUNTIME_DIR, env, ...(await interpreter(kind)) };
    return {
      taskRoot: dir,
      runtimeDir: RUNTIME_DIR,
      command: [join(task, entry)],
      env,
      readOnly: [],
      bridge: "wait",
    };
  };

  const supply = new PreparedSupply(async (kind) => {
    const slot = join(slotsRoot, randomUUID());
    await mkdir(slot, { recursive: true });
    const { command, ...rest } = await interpreter(kind);
    const launch: Launch = {
      taskRoot: slot,
      runtimeDir: RUNTIME_DIR,
      env: fixedEnv(kind, INSIDE_TASK),
      // an argument, not a variable: /proc/self/environ keeps what a process started with
      command: [...command, "--prepared"],
      ...rest,
    };
    return SandboxedProcess.launch(
      {
        launch,
        memoryMiB: PREPARED_MEMORY_MIB,
        cpuCores: 1,
        bindings: {},
        egress: undefined,
        tools,
        runRoot,
      },
      slot,
    );
  });

  /** A prepared process made into an instance of `fn`, or undefined when none can be. */
  const fromSupply = async (
    fn: FunctionVersion,
    services: ProcessServices,
  ): Promise<ProcessInstance | undefined> => {
    const kind = fn.config.runtime;
    // a function with an egress list needs the proxy's bridge, set up as its sandbox starts
    if (!isolated || services.egress !== undefined) return undefined;
    if (kind !== "python" && kind !== "node-process") return undefined;
    const { dir, entry } = await taskRootOf(fn);
    const proc = await supply.take(kind);
    if (proc?.slot === undefined) return undefined;
    try {
      await proc.setLimits(fn.config.memoryMiB, fn.config.cpu ?? 1);
      await placeCode(dir, proc.slot);
      if (proc.exited) throw new Error("the prepared process is gone");
    } catch {
      void proc.stop();
      return undefined; // started afresh instead
    }
    return ProcessInstance.adopt(fn, proc, envOf(fn, entry, INSIDE_TASK), services);
  };

  const start = async (fn: FunctionVersion): Promise<ProcessInstance> => {
    if (options.requireSandbox && protections.off.length > 0) {
      throw new LitefaasError(
        "FUNCTION_INIT_FAILED",
        `${fn.project}/${fn.name} runs as a process, and the sandbox is incomplete here: ${protections.off.join("; ")}`,
        { fix: "install what is missing, or start without --require-sandbox" },
      );
    }
    const services = options.services(fn);
    const kind = fn.config.runtime;
    let instance: ProcessInstance;
    try {
      instance =
        (await fromSupply(fn, services)) ??
        (await ProcessInstance.start(fn, await launchOf(fn), services, tools, runRoot));
    } finally {
      if (isolated && (kind === "python" || kind === "node-process")) supply.refill(kind);
    }
    live.add(instance);
    instance.onDisposed = (finished) => {
      live.delete(instance);
      cleanups.add(finished);
      void finished.finally(() => cleanups.delete(finished));
    };
    return instance;
  };

  return {
    protections,
    perInstance: () => 1,
    createInstance: (fn: FunctionVersion): Promise<Instance> => start(fn),
    async verify(fn: FunctionVersion): Promise<void> {
      (await start(fn)).dispose();
    },
    // instances are disposed by the scheduler first; their cleanups finish here
    async close() {
      await supply.close();
      for (const instance of [...live]) instance.dispose();
      await Promise.all([...cleanups]);
      removeOwnCgroups(tools);
      await rm(runRoot, { recursive: true, force: true });
      await rm(slotsRoot, { recursive: true, force: true });
    },
  };
}

/**
 * Compiles a folder's Python files to bytecode beside them, named as the sandbox sees them
 * (`inside`), so a cold start loads them instead of compiling: the sandbox can write no cache
 * (read-only code, PYTHONDONTWRITEBYTECODE), and the bootstrap and SDK alone took ~8 ms to
 * compile per start. Best effort: a folder it cannot write only starts slower.
 */
function compilePython(python: string, dir: string, inside: string): Promise<void> {
  return new Promise((resolve) => {
    execFile(python, ["-S", "-m", "compileall", "-q", "-d", inside, dir], () => resolve());
  });
}

/** Removes the folders under `parent` of platform processes that are gone (p<pid>). */
async function sweepDead(parent: string): Promise<void> {
  const entries = await readdir(parent).catch(() => [] as string[]);
  for (const name of entries) {
    const owner = /^p(\d+)$/.exec(name);
    if (owner === null || !isAlive(Number(owner[1])))
      await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The real interpreter behind `python3` (a pyenv shim costs ~58 ms per start), found once. */
function findPython(): { executable: string; prefix: string } {
  try {
    const [executable, prefix] = JSON.parse(
      execFileSync(
        "python3",
        ["-c", "import sys, json; print(json.dumps([sys.executable, sys.base_prefix]))"],
        { encoding: "utf8" },
      ),
    ) as [string, string];
    return { executable, prefix };
  } catch (error) {
    throw new LitefaasError(
      "FUNCTION_INIT_FAILED",
      `python3 was not found or did not run: ${error instanceof Error ? error.message : String(error)}`,
      { fix: "install Python 3 (apt-get install python3) where the platform runs" },
    );
  }
}
