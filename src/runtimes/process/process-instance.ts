// One sandboxed process serving one function version, one invocation at a time (Lambda's
// semantics), warm between invocations. Its stdout and stderr lines are the invocation's log.
// A process that overruns the timeout is killed and replaced; one that dies mid-invocation
// answers 502 FUNCTION_CRASHED (or the memory limit's error when the kernel's OOM killer did it).
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
import type { RuntimeOutcome } from "./runtime-api.js";
import type { EgressCheck } from "../isolate/isolate-instance.js";
import type { SandboxTools } from "./sandbox.js";
import { SandboxedProcess, type Launch } from "./sandboxed-process.js";

export interface ProcessServices {
  logs: LogSink;
  bindings: Record<string, BindingHost>;
  /** Where it may connect; undefined: nowhere. */
  egress?: EgressCheck | undefined;
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
const HANDLES: ReadonlySet<TriggerKind> = new Set(["http", "message", "scheduled"]);

export class ProcessInstance implements Instance {
  readonly handles = HANDLES;
  readonly sockets = 0;
  lastUsed = Date.now();
  /** The last invocation's peak, or the instance's as last measured (memory-meter.ts). */
  memoryPeakBytes: number | undefined;
  private current: Current | undefined;
  private disposed = false;
  /** Settles once a disposed instance's processes, cgroups and sockets are gone. */
  finished: Promise<void> = Promise.resolve();
  /** Told when the instance is disposed, with its cleanup. */
  onDisposed: ((finished: Promise<void>) => void) | undefined;

  private constructor(
    private readonly fn: FunctionVersion,
    private readonly services: ProcessServices,
    private readonly proc: SandboxedProcess,
  ) {}

  get id(): string {
    return this.proc.id;
  }

  /** Start a process for `fn` and wait until it polls for its first event: the cold start. */
  static async start(
    fn: FunctionVersion,
    launch: Launch,
    services: ProcessServices,
    tools: SandboxTools,
    runRoot: string,
  ): Promise<ProcessInstance> {
    const proc = await SandboxedProcess.launch({
      launch,
      memoryMiB: fn.config.memoryMiB,
      cpuCores: fn.config.cpu ?? 1,
      bindings: services.bindings,
      egress: services.egress,
      tools,
      runRoot,
    });
    return ProcessInstance.begin(fn, proc, services, () => undefined);
  }

  /**
   * A prepared process becomes an instance of `fn` (its code and limits already in place): it
   * gets the function's environment, imports the handler and polls for its first event.
   */
  static adopt(
    fn: FunctionVersion,
    proc: SandboxedProcess,
    env: Record<string, string>,
    services: ProcessServices,
  ): Promise<ProcessInstance> {
    return ProcessInstance.begin(fn, proc, services, () => proc.api.assign(env));
  }

  private static async begin(
    fn: FunctionVersion,
    proc: SandboxedProcess,
    services: ProcessServices,
    go: () => void,
  ): Promise<ProcessInstance> {
    const instance = new ProcessInstance(fn, services, proc);
    let ready: (() => void) | undefined;
    let failed: ((error: LitefaasError) => void) | undefined;
    const started = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    proc.attach(
      {
        onReady: () => ready?.(),
        onInitError: (type, message) => failed?.(initFailed(fn, `${type}: ${message}`)),
        onOutcome: (requestId, outcome) => instance.finish(requestId, outcome),
        onLine: (level, line) => instance.log(proc.api.currentRequestId ?? "", level, line),
        onExit: (code, signal) => {
          failed?.(
            initFailed(
              fn,
              `the process exited (${signal ?? String(code)}) before asking for its first event${proc.describeStderr()}`,
            ),
          );
          void instance.onExit(code, signal);
        },
      },
      services.bindings,
    );
    try {
      if (proc.exited)
        throw initFailed(fn, `the process exited before it started${proc.describeStderr()}`);
      go();
      const timeout = Math.min(fn.config.timeoutMs, INIT_TIMEOUT_CAP_MS);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        started,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                initFailed(
                  fn,
                  `it did not ask for its first event within ${timeout} ms${proc.describeStderr()}`,
                ),
              ),
            timeout,
          );
        }),
      ]).finally(() => clearTimeout(timer));
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
    return !this.disposed && !this.proc.exited;
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
      this.proc.memory.begin();
      this.proc.api.deliver({
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
    this.finished = this.proc.stop();
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
    // before the answer: the pool puts it into this invocation's record
    this.memoryPeakBytes = this.proc.memory.end();
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

  private async onExit(code: number | null, signal: NodeJS.Signals | null) {
    if (this.current !== undefined && !this.disposed) {
      const oom = await this.proc.oomKilled();
      const requestId = this.current.requestId;
      this.log(
        requestId,
        "error",
        oom
          ? `Memory limit of ${this.fn.config.memoryMiB} MiB exceeded; the process was killed and will be replaced`
          : `The process exited (${signal ?? `code ${code}`}) during the invocation; it will be replaced${this.proc.describeStderr()}`,
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
