/** One function's configuration, normalized (defaults filled in, durations in ms). */
export interface FunctionConfig {
  name: string;
  /** Entry file relative to the project root. */
  main: string;
  env: Record<string, string>;
  memoryMiB: number;
  timeoutMs: number;
  /** Most invocations running at once across all instances. */
  concurrency: number;
  egress: string[];
  idleTimeoutMs: number;
}

export interface Manifest {
  project: string;
  functions: Record<string, FunctionConfig>;
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
