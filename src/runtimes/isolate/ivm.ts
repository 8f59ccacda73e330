// isolated-vm ships one major per Node line (5 builds on Node 20, 7 installs prebuilt on Node 24);
// both are optional aliased dependencies and whichever one installed is loaded here.
import { createRequire } from "node:module";
import type IvmModule from "isolated-vm";

export type Ivm = typeof IvmModule;

const require = createRequire(import.meta.url);

function load(): Ivm {
  const candidates = ["isolated-vm-7", "isolated-vm-5", "isolated-vm"];
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      return require(name) as Ivm;
    } catch (error) {
      failures.push(
        `${name}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
      );
    }
  }
  throw new Error(
    `isolated-vm could not be loaded (${failures.join("; ")}). ` +
      "Run `npm ci` on Node 20 (builds isolated-vm@5) or Node 24 (isolated-vm@7), and start Node with --no-node-snapshot.",
  );
}

export const ivm: Ivm = load();
