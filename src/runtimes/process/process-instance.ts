// One sandboxed process serving one function version, one invocation at a time (Lambda's
// semantics), warm between invocations. Its stdout and stderr lines are the invocation's log.
// A process that overruns the timeout is killed and replaced; one that dies mid-invocation
// answers 502 FUNCTION_CRASHED (or the memory limit's error when the kernel's OOM killer did it).
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { LitefaasError } from "../../shared/errors.js";
import {
  apiGatewayEvent,
  apiGatewayResponse,
  reportsBatchFailure,
  scheduledEvent,
  sqsEvent,
} from "../../shared/lambda-events.js";
import type { LogSink } from "../../observe/logs.js";
import type { BindingHost } from "../../bindings/binding-error.js";
import type {
  FunctionVersion,
  Instance,
  InvocationRequest,
  InvocationResponse,
  TriggerKind,
} from "../types.js";
import { RuntimeApi, type RuntimeOutcome } from "./runtime-api.js";
import { EgressProxy } from "./egress-proxy.js";
import type { EgressCheck } from "../isolate/isolate-instance.js";
import {
  SANDBOX_API_ADDRESS,
  SANDBOX_PROXY_URL,
  sandboxCommand,
  type SandboxSpec,
  type SandboxTools,
} from "./sandbox.js";

export interface ProcessServices {
  logs: LogSink;
  bindings: Record<string, BindingHost>;
  /** Where it may connect; undefined: nowhere. */
  egress?: EgressCheck | undefined;
}

/** How to start one instance of a function: the command inside, and what it needs. */
export interface Launch {
  taskRoot: string;
  runtimeDir: string;
  command: string[];
  env: Record<string, string>;
  readOnly: string[];
  /** Whether the command needs the loopback Runtime API before it starts ("wait"), or reaches
   * the socket itself and can start at once ("background"). */
  bridge: "wait" | "none";
}

type Answer = Omit<InvocationResponse, "coldStart">;

interface Current {
  requestId: string;
  kind: TriggerKind;
  resolve(answer: Answer): void;
  reject(error: LitefaasError): void;
  timer: NodeJS.Timeout;
}

const INIT_TIMEOUT_CAP_MS = 10_000;
const TMP_MIB = 64;
const MAX_PROCESSES = 64;
const MAX_OPEN_FILES = 1024;
const STDERR_TAIL = 20;
const HANDLES: ReadonlySet<TriggerKind> = new Set(["http", "message", "scheduled"]);

export class ProcessInstance implements Instance {
  readonly id = randomUUID();
  readonly handles = HANDLES;
  readonly sockets = 0;
  lastUsed = Date.now();
  private child: ChildProcess | undefined;
  private current: Current | undefined;
  private exited = false;
  private disposed = false;
  private stderrTail: string[] = [];
  private cleanup: () => Promise<void> = () => Promise.resolve();
  private proxy: EgressProxy | undefined;
  /** Settles once a disposed instance's processes, cgroups and sockets are gone. */
  finished: Promise<void> = Promise.resolve();
  /** Told when the instance is disposed, with its cleanup. */
  onDisposed: ((finished: Promise<void>) => void) | undefined;
  private oomKilled: () => Promise<boolean> = () => Promise.resolve(false);

  private constructor(
    private readonly fn: FunctionVersion,
    private readonly services: ProcessServices,
    private readonly api: RuntimeApi,
    private readonly runDir: string,
  ) {}

  /** Start the process and wait until it polls for its first event: the cold start. */
  static async start(
    fn: FunctionVersion,
    launch: Launch,
    services: ProcessServices,
    tools: SandboxTools,
    runRoot: string,
  ): Promise<ProcessInstance> {
    const runDir = join(runRoot, randomUUID());
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    let ready: (() => void) | undefined;
    let failed: ((error: LitefaasError) => void) | undefined;
    const started = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    // the instance is made before the API so the API's callbacks can reach it
    const holder: { instance?: ProcessInstance } = {};
    const api = new RuntimeApi(
      {
        onReady: () => ready?.(),
        onInitError: (type, message) => failed?.(initFailed(fn, `${type}: ${message}`)),
        onOutcome: (requestId, outcome) => holder.instance?.finish(requestId, outcome),
      },
      services.bindings,
    );
    const instance = new ProcessInstance(fn, services, api, runDir);
    holder.instance = instance;
    try {
      const isolated = tools.bwrap !== undefined && tools.socat !== undefined;
      const apiAddress = isolated
        ? (await api.listen(join(runDir, "api.sock")), SANDBOX_API_ADDRESS)
        : await api.listen({ host: "127.0.0.1", port: 0 });
      const spec: SandboxSpec = {
        id: instance.id,
        taskRoot: launch.taskRoot,
        runtimeDir: launch.runtimeDir,
        socketDir: runDir,
        readOnly: launch.readOnly,
        command: launch.command,
        bridge: launch.bridge,
        proxy: false,
        env: { ...launch.env, AWS_LAMBDA_RUNTIME_API: apiAddress },
        memoryMiB: fn.config.memoryMiB,
        cpuCores: fn.config.cpu ?? 1,
        tmpMiB: TMP_MIB,
        maxProcesses: MAX_PROCESSES,
        maxOpenFiles: MAX_OPEN_FILES,
      };
      const egress = services.egress;
      if (isolated && egress !== undefined) {
        const proxy = new EgressProxy(egress, (message) =>
          instance.log(api.currentRequestId ?? "", "error", message),
        );
        await proxy.listen(join(runDir, "proxy.sock"));
        instance.proxy = proxy;
        spec.proxy = true;
        for (const name of ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"])
          spec.env[name] = SANDBOX_PROXY_URL;
      }
      const command = await sandboxCommand(spec, tools);
      instance.cleanup = command.cleanup;
      instance.oomKilled = command.oomKilled;
      instance.spawn(
        command.file,
        command.args,
        isolated ? command.env : { ...command.env, ...spec.env },
        isolated ? undefined : launch.taskRoot,
        (code) =>
          failed?.(
            initFailed(
              fn,
              `the process exited (${code}) before asking for its first event${instance.describeStderr()}`,
            ),
          ),
      );
      const timeout = Math.min(fn.config.timeoutMs, INIT_TIMEOUT_CAP_MS);
      await Promise.race([
        started,
        new Promise<never>((_, reject) =>
          setTimeout(
            () =>
              reject(
                initFailed(
                  fn,
                  `it did not ask for its first event within ${timeout} ms${instance.describeStderr()}`,
                ),
              ),
            timeout,
          ).unref(),
        ),
      ]);
      ready = undefined;
      failed = undefined;
      return instance;
    } catch (error) {
      instance.dispose();
      throw error;
    }
  }

  get inflight(): number {
    return this.current === undefined ? 0 : 1;
  }

  get alive(): boolean {
    return !this.disposed && !this.exited;
  }

  get accepting(): boolean {
    return this.alive && this.current === undefined;
  }

  invoke(request: InvocationRequest): Promise<Answer> {
    if (!this.alive) return Promise.reject(new LitefaasError("INSTANCE_RESET"));
    if (this.current !== undefined)
      return Promise.reject(
        new LitefaasError("INTERNAL", "a process instance serves one invocation at a time"),
      );
    this.lastUsed = Date.now();
    const deadline = this.lastUsed + this.fn.config.timeoutMs;
    const kind: TriggerKind = request.event?.kind ?? "http";
    const { project, name, version } = this.fn;
    return new Promise<Answer>((resolve, reject) => {
      this.current = {
        requestId: request.id,
        kind,
        resolve,
        reject,
        timer: setTimeout(() => this.onTimeout(), this.fn.config.timeoutMs),
      };
      this.api.deliver({
        requestId: request.id,
        deadlineMs: deadline,
        functionArn: `arn:litefaas:lambda:local:0:function:${project}-${name}:${version}`,
        payload: JSON.stringify(this.eventOf(request)),
      });
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.fail(new LitefaasError("INSTANCE_RESET"));
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
    this.finished = this.cleanup().then(() => rm(this.runDir, { recursive: true, force: true }));
    this.onDisposed?.(this.finished);
  }

  private eventOf(request: InvocationRequest): unknown {
    const event = request.event;
    if (event === undefined) {
      return apiGatewayEvent({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: request.body,
        requestId: request.id,
        sourceIp: request.sourceIp,
        project: this.fn.project,
      });
    }
    if (event.kind === "message") return sqsEvent({ ...event, project: this.fn.project });
    return scheduledEvent({
      ...event,
      id: request.id,
      project: this.fn.project,
      name: this.fn.name,
    });
  }

  private finish(requestId: string, outcome: RuntimeOutcome) {
    const current = this.current;
    if (current?.requestId !== requestId) return;
    this.current = undefined;
    clearTimeout(current.timer);
    this.lastUsed = Date.now();
    if (outcome.kind === "error") {
      this.log(
        requestId,
        "error",
        `${outcome.errorType}: ${outcome.errorMessage}${outcome.stackTrace.length > 0 ? `\n${outcome.stackTrace.join("\n")}` : ""}`,
      );
      current.reject(
        new LitefaasError("FUNCTION_ERROR", "the function raised an error", {
          fix: `see the error in \`litefaas logs ${this.fn.project}/${this.fn.name}\` (request ${requestId})`,
        }),
      );
      return;
    }
    let result: unknown;
    const text = outcome.body.toString("utf8");
    try {
      result = outcome.body.length === 0 ? undefined : (JSON.parse(text) as unknown);
    } catch {
      // a custom runtime may answer plain text (AWS's shell tutorial does): it is the body
      result = {
        statusCode: 200,
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: text,
      };
    }
    if (current.kind === "message" && reportsBatchFailure(result)) {
      current.reject(
        new LitefaasError(
          "FUNCTION_ERROR",
          "the handler reported the message as failed (batchItemFailures)",
        ),
      );
      return;
    }
    if (current.kind !== "http") {
      current.resolve({ status: 204, headers: [], body: null });
      return;
    }
    try {
      const out = apiGatewayResponse(result);
      current.resolve({ status: out.status, headers: out.headers, body: out.body });
    } catch (error) {
      current.reject(badResponse(this.fn, error instanceof Error ? error.message : String(error)));
    }
  }

  private spawn(
    file: string,
    args: string[],
    env: Record<string, string>,
    cwd: string | undefined,
    onEarlyExit: (code: string) => void,
  ) {
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
        this.log(this.api.currentRequestId ?? "", level, line);
      });
    if (child.stdout !== null) lines(child.stdout, "log");
    if (child.stderr !== null) lines(child.stderr, "error");
    child.on("error", (error) => onEarlyExit(error.message));
    child.on("exit", (code, signal) => {
      this.exited = true;
      onEarlyExit(signal ?? String(code));
      void this.onExit(code, signal);
    });
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null) {
    if (this.current !== undefined && !this.disposed) {
      const oom = await this.oomKilled();
      const requestId = this.current.requestId;
      this.log(
        requestId,
        "error",
        oom
          ? `Memory limit of ${this.fn.config.memoryMiB} MiB exceeded; the process was killed and will be replaced`
          : `The process exited (${signal ?? `code ${code}`}) during the invocation; it will be replaced${this.describeStderr()}`,
      );
      this.fail(
        oom
          ? new LitefaasError(
              "FUNCTION_MEMORY_LIMIT",
              `the function exceeded its memory limit of ${this.fn.config.memoryMiB} MiB`,
              { fix: "use less memory, or raise limits.memory in litefaas.yaml" },
            )
          : new LitefaasError(
              "FUNCTION_CRASHED",
              "the function's process exited during the invocation",
              {
                fix: `see \`litefaas logs ${this.fn.project}/${this.fn.name}\`; the process is replaced for the next invocation`,
              },
            ),
      );
    }
    this.dispose();
  }

  private onTimeout() {
    const current = this.current;
    if (current === undefined) return;
    this.log(
      current.requestId,
      "error",
      `Timed out after ${this.fn.config.timeoutMs} ms; the process was killed and will be replaced`,
    );
    this.fail(
      new LitefaasError(
        "FUNCTION_TIMEOUT",
        `the function did not finish within ${this.fn.config.timeoutMs} ms`,
        {
          fix: "make the function faster, or raise limits.timeout in litefaas.yaml",
        },
      ),
    );
    this.dispose();
  }

  private fail(error: LitefaasError) {
    const current = this.current;
    if (current === undefined) return;
    this.current = undefined;
    clearTimeout(current.timer);
    current.reject(error);
  }

  private log(requestId: string, level: "log" | "error", message: string) {
    this.services.logs.append({
      ts: Date.now(),
      project: this.fn.project,
      function: this.fn.name,
      version: this.fn.version,
      requestId,
      level,
      message,
    });
  }

  private describeStderr(): string {
    return this.stderrTail.length === 0
      ? ""
      : `; its last output: ${this.stderrTail.slice(-5).join(" | ")}`;
  }
}

function initFailed(fn: FunctionVersion, why: string): LitefaasError {
  return new LitefaasError("FUNCTION_INIT_FAILED", `${fn.project}/${fn.name}: ${why}`, {
    fix: "check the function's start-up (litefaas logs shows its output) and its handler setting",
  });
}

function badResponse(fn: FunctionVersion, why: string): LitefaasError {
  return new LitefaasError("FUNCTION_BAD_RESPONSE", `${fn.project}/${fn.name}: ${why}`, {
    fix: "return a JSON value, or { statusCode, headers, body } as for API Gateway",
  });
}
