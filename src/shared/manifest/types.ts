import type { AuthConfig, RateLimitPolicy, RouteConfig } from "../routes.js";

export const RUNTIME_KINDS = ["isolate", "python", "process", "node-process"] as const;
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];

/** One function's configuration, normalized (defaults filled in, durations in ms). */
export interface FunctionConfig {
  name: string;
  /** Entry file relative to the project root. */
  main: string;
  /** What runs it: a V8 isolate (JS/TS), or a sandboxed process speaking the Lambda Runtime API. */
  runtime: RuntimeKind;
  /** A process runtime's handler, "<module>.<function>" (Lambda's _HANDLER). */
  handler: string | undefined;
  env: Record<string, string>;
  memoryMiB: number;
  /** Process functions: CPU per wall-clock second, in cores (absent: 1). */
  cpu?: number | undefined;
  timeoutMs: number;
  /** Most invocations running at once across all instances. */
  concurrency: number;
  egress: string[];
  idleTimeoutMs: number;
  /** Event subjects (project-relative patterns) this function consumes. */
  subjects: string[];
  schedule: ScheduleConfig | undefined;
  /** How events, async invocations and cron runs are delivered to it. */
  delivery: DeliveryPolicy;
  /** How its invocation records are kept (absent on versions deployed before records). */
  records?: RecordPolicy | undefined;
}

export interface RecordPolicy {
  /** Most records kept. */
  keep: number;
  maxAgeMs: number;
  /** Keep each invocation's request and response (bodies capped) so it can be replayed. */
  payloads: boolean;
  maxPayloadBytes: number;
}

export interface ScheduleConfig {
  cron: string;
  /** IANA zone; "UTC" when not given. */
  timezone: string;
  /** Run a tick missed while the platform was down once on start. */
  catchUp: boolean;
}

export interface DeliveryPolicy {
  /** Most deliveries handled at once; 1 keeps each subject's order. */
  concurrency: number;
  /** Tries in all, the first included. */
  attempts: number;
  backoff: "exponential" | "fixed";
  initialDelayMs: number;
  maxDelayMs: number;
  maxEventAgeMs: number;
  deadLetter: boolean;
  /** Project subjects to publish outcome records on. */
  onSuccess: string | undefined;
  onFailure: string | undefined;
}

export interface Manifest {
  project: string;
  functions: Record<string, FunctionConfig>;
  routes: RouteConfig[];
  /** Undefined when the manifest has no auth section (the project's stays as it is). */
  auth: AuthConfig | undefined;
  /** Undefined when the manifest has no rateLimits section (the project's stay as they are). */
  rateLimits: RateLimitPolicy[] | undefined;
}

/** One thing wrong with a manifest: where, what, and how to fix it. */
export interface ManifestProblem {
  file: string;
  /** Dotted path inside the manifest, e.g. functions.hello.limits.timeout. */
  path: string;
  line?: number;
  problem: string;
  fix: string;
}
