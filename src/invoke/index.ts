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
