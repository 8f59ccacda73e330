// The invoker: the one path from a trigger to a function. Today it calls the local scheduler;
// across machines the same interface sends the invocation over the bus to a worker.
import type { InvocationRequest, InvocationResponse, FunctionVersion } from "../runtimes/types.js";

export interface Invoker {
  /** The live version of a function, or undefined when none is deployed. */
  resolve(project: string, name: string): FunctionVersion | undefined;
  invoke(fn: FunctionVersion, request: InvocationRequest): Promise<InvocationResponse>;
}

export interface LocalInvokerDeps {
  resolve: (project: string, name: string) => FunctionVersion | undefined;
  schedule: (fn: FunctionVersion, request: InvocationRequest) => Promise<InvocationResponse>;
}

export function createLocalInvoker(deps: LocalInvokerDeps): Invoker {
  return { resolve: deps.resolve, invoke: deps.schedule };
}

/** An async invocation as its submitter sees it (GET /invocations/<id>). */
export interface InvocationRecord {
  id: string;
  project: string;
  function: string;
  status: "queued" | "running" | "retrying" | "succeeded" | "failed";
  /** Tries made so far. */
  attempts: number;
  acceptedAt: string;
  updatedAt: string;
  /** The version that ran the last try. */
  version?: number;
  nextAttemptAt?: string;
  finishedAt?: string;
  /** The function's response (body capped; base64 when not UTF-8 text). */
  result?: {
    status: number;
    headers: Record<string, string>;
    body: string;
    encoding: "utf8" | "base64";
    truncated: boolean;
  };
  error?: { code: string; message: string };
}

/** Async invocations: accepted now (202), run later through the function's queue. */
export interface AsyncInvoker {
  submit(
    fn: FunctionVersion,
    request: InvocationRequest,
    options: { idempotencyKey?: string },
  ): Promise<{ record: InvocationRecord; replayed: boolean }>;
  status(id: string): Promise<InvocationRecord | undefined>;
}
