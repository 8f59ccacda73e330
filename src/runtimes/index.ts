// The runtimes behind the scheduler: V8 isolates for JS/TS, sandboxed processes for the rest.
// The scheduler sees one Runtime; each function version goes to the one its manifest names.
import type { FunctionVersion, Instance, Runtime } from "./types.js";

export function combineRuntimes(isolate: Runtime, process: Runtime): Runtime {
  const of = (fn: FunctionVersion) => (fn.config.runtime === "isolate" ? isolate : process);
  return {
    createInstance: (fn: FunctionVersion): Promise<Instance> => of(fn).createInstance(fn),
    verify: (fn: FunctionVersion) => of(fn).verify(fn),
    perInstance: (fn: FunctionVersion) => of(fn).perInstance?.(fn) ?? Number.POSITIVE_INFINITY,
    async close() {
      await Promise.all([isolate.close(), process.close()]);
    },
  };
}
