// One sandboxed process with its Runtime API, started for a function or prepared before any
// function needed it (prepared-supply.ts). What it says and does goes to handlers that the
// instance serving a function sets; until then lines are kept only for a failure's message.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { BindingHost } from "../../bindings/binding-error.js";
import type { EgressCheck } from "../isolate/isolate-instance.js";
import { EgressProxy } from "./egress-proxy.js";
import { processTreeMeter, UNMEASURED, type MemoryMeter } from "./memory-meter.js";
import { RuntimeApi, type RuntimeOutcome } from "./runtime-api.js";
import {
  SANDBOX_API_ADDRESS,
  SANDBOX_PROXY_URL,
  sandboxCommand,
  type SandboxSpec,
  type SandboxTools,
} from "./sandbox.js";

/** How to start one process: the command inside, and what it needs. */
export interface Launch {
  /** Host folder bound read-only at /var/task (a version's code, or a prepared slot). */
  taskRoot: string;
  runtimeDir: string;
  command: string[];
  env: Record<string, string>;
  readOnly: string[];
  /** Whether the command needs the loopback Runtime API before it starts ("wait"), or reaches
   * the socket itself and can start at once ("none"). */
  bridge: "wait" | "none";
}

export interface ProcessHandlers {
  onReady(): void;
  onInitError(errorType: string, errorMessage: string): void;
  onOutcome(requestId: string, outcome: RuntimeOutcome): void;
  onLine(level: "log" | "error", line: string): void;
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
}

export interface LaunchOptions {
  launch: Launch;
  memoryMiB: number;
  cpuCores: number;
  bindings: Record<string, BindingHost>;
  /** Where it may connect through the egress proxy; undefined: nowhere. */
  egress: EgressCheck | undefined;
  tools: SandboxTools;
  /** Where instances keep their sockets. */
  runRoot: string;
}

const TMP_MIB = 64;
const MAX_PROCESSES = 64;
const MAX_OPEN_FILES = 1024;
const STDERR_TAIL = 20;

/** Handlers that drop everything: before an instance takes the process, and after it stops. */
export const IGNORE: ProcessHandlers = {
  onReady: () => undefined,
  onInitError: () => undefined,
  onOutcome: () => undefined,
  onLine: () => undefined,
  onExit: () => undefined,
};

export class SandboxedProcess {
  readonly id = randomUUID();
  readonly api: RuntimeApi;
  exited = false;
  private child: ChildProcess | undefined;
  private handlers: ProcessHandlers = IGNORE;
  private readonly stderrTail: string[] = [];
  private proxy: EgressProxy | undefined;
  private stopped: Promise<void> | undefined;
  private cleanup: () => Promise<void> = () => Promise.resolve();
  oomKilled: () => Promise<boolean> = () => Promise.resolve(false);
  setLimits: (memoryMiB: number, cpuCores: number) => Promise<void> = () => Promise.resolve();
  /** Its peak memory: its memory cgroup's, else its process tree's from /proc. */
  memory: MemoryMeter = UNMEASURED;

  private constructor(
    private readonly runDir: string,
    bindings: Record<string, BindingHost>,
    /** A prepared process's /var/task, removed with it. */
    readonly slot: string | undefined,
  ) {
    this.api = new RuntimeApi(
      {
        onReady: () => this.handlers.onReady(),
        onInitError: (type, message) => this.handlers.onInitError(type, message),
        onOutcome: (requestId, outcome) => this.handlers.onOutcome(requestId, outcome),
      },
      bindings,
    );
  }

  /** Starts the process; it runs once this resolves (handlers may be set at once). */
  static async launch(options: LaunchOptions, slot?: string): Promise<SandboxedProcess> {
    const { launch, tools } = options;
    const runDir = join(options.runRoot, randomUUID());
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    const proc = new SandboxedProcess(runDir, options.bindings, slot);
    try {
      const isolated = tools.bwrap !== undefined && tools.socat !== undefined;
      const apiAddress = isolated
        ? (await proc.api.listen(join(runDir, "api.sock")), SANDBOX_API_ADDRESS)
        : await proc.api.listen({ host: "127.0.0.1", port: 0 });
      const spec: SandboxSpec = {
        id: proc.id,
        taskRoot: launch.taskRoot,
        runtimeDir: launch.runtimeDir,
        socketDir: runDir,
        readOnly: launch.readOnly,
        command: launch.command,
        bridge: launch.bridge,
        proxy: false,
        env: { ...launch.env, AWS_LAMBDA_RUNTIME_API: apiAddress },
        memoryMiB: options.memoryMiB,
        cpuCores: options.cpuCores,
        tmpMiB: TMP_MIB,
        maxProcesses: MAX_PROCESSES,
        maxOpenFiles: MAX_OPEN_FILES,
      };
      if (isolated && options.egress !== undefined) {
        const proxy = new EgressProxy(options.egress, (message) =>
          proc.handlers.onLine("error", message),
        );
        await proxy.listen(join(runDir, "proxy.sock"));
        proc.proxy = proxy;
        spec.proxy = true;
        for (const name of ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"])
          spec.env[name] = SANDBOX_PROXY_URL;
      }
      const command = await sandboxCommand(spec, tools);
      proc.cleanup = command.cleanup;
      proc.oomKilled = command.oomKilled;
      proc.setLimits = command.setLimits;
      proc.spawn(
        command.file,
        command.args,
        isolated ? command.env : { ...command.env, ...spec.env },
        isolated ? undefined : launch.taskRoot,
      );
      const pid = proc.child?.pid;
      proc.memory = command.memory ?? (pid === undefined ? UNMEASURED : processTreeMeter(pid));
      return proc;
    } catch (error) {
      void proc.stop();
      throw error;
    }
  }

  /** From now on its events and output go to `handlers`, its binding calls to `bindings`. */
  attach(handlers: ProcessHandlers, bindings?: Record<string, BindingHost>): void {
    this.handlers = handlers;
    if (bindings !== undefined) this.api.useBindings(bindings);
  }

  /** Its last lines on stderr, for a failure's message. */
  describeStderr(): string {
    return this.stderrTail.length === 0
      ? ""
      : `; its last output: ${this.stderrTail.slice(-5).join(" | ")}`;
  }

  /** Kills it and everything it started, and removes its cgroups and folders. */
  stop(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    this.handlers = IGNORE;
    this.memory.close();
    const pid = this.child?.pid;
    if (pid !== undefined && !this.exited) {
      try {
        process.kill(-pid, "SIGKILL"); // its process group: the launcher and what it started
      } catch {
        this.child?.kill("SIGKILL");
      }
    }
    this.api.close();
    this.proxy?.close();
    this.stopped = this.cleanup().then(async () => {
      await rm(this.runDir, { recursive: true, force: true });
      if (this.slot !== undefined) await rm(this.slot, { recursive: true, force: true });
    });
    return this.stopped;
  }

  private spawn(file: string, args: string[], env: Record<string, string>, cwd?: string) {
    const child = spawn(file, args, {
      env,
      ...(cwd === undefined ? {} : { cwd }),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    const lines = (stream: NodeJS.ReadableStream, level: "log" | "error") =>
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        if (level === "error") {
          this.stderrTail.push(line);
          if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
        }
        this.handlers.onLine(level, line);
      });
    if (child.stdout !== null) lines(child.stdout, "log");
    if (child.stderr !== null) lines(child.stderr, "error");
    child.on("error", (error) => {
      this.stderrTail.push(error.message);
      this.exited = true;
      this.handlers.onExit(null, null);
    });
    child.on("exit", (code, signal) => {
      this.exited = true;
      this.handlers.onExit(code, signal);
    });
  }
}
