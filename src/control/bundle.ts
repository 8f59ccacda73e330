// Bundling a function for the isolate runtime: esbuild resolves the user's node_modules, strips
// TypeScript, and emits one script that leaves the module's exports on globalThis.__litefaas_fn.
import { join, relative } from "node:path";
import { build, type Message } from "esbuild";
import { LitefaasError } from "../shared/errors.js";

export interface Bundle {
  code: string;
  /** Input files, relative to the project root, for progress and diagnostics. */
  inputs: string[];
}

// A CommonJS wrapper rather than esbuild's IIFE globalName: a top-level `var` would be a
// non-configurable global that the runtime could not remove once it took the exports.
const BANNER = "(function(){var module={exports:{}},exports=module.exports;";
const FOOTER = ";globalThis.__litefaas_fn=module.exports;})();";

export async function bundleFunction(
  projectDir: string,
  main: string,
  name: string,
): Promise<Bundle> {
  try {
    const result = await build({
      absWorkingDir: projectDir,
      entryPoints: [join(projectDir, main)],
      bundle: true,
      write: false,
      format: "cjs",
      platform: "browser",
      conditions: ["workerd", "worker", "browser"],
      target: "es2022",
      keepNames: true,
      metafile: true,
      logLevel: "silent",
      banner: { js: BANNER },
      footer: { js: FOOTER },
      define: { "process.env.NODE_ENV": '"production"' },
    });
    const output = result.outputFiles[0];
    if (output === undefined) throw new Error("esbuild produced no output");
    return {
      code: output.text,
      inputs: Object.keys(result.metafile.inputs).map((f) => relative(".", f)),
    };
  } catch (error) {
    const messages = (error as { errors?: Message[] }).errors;
    if (messages === undefined) throw error;
    const lines = messages.map((m) => formatMessage(m));
    throw new LitefaasError(
      "BUILD_FAILED",
      `function "${name}" does not build:\n${lines.join("\n")}`,
      {
        fix: lines.some((l) => l.includes("node:") || l.includes('"fs"'))
          ? "Node built-in modules are not available in isolates; use Web APIs (fetch, crypto, streams) or env bindings"
          : "fix the error at the file and line shown, then deploy again",
        details: messages.map((m) => ({
          file: m.location?.file,
          line: m.location?.line,
          column: m.location?.column,
          text: m.text,
        })),
      },
    );
  }
}

function formatMessage(message: Message): string {
  const loc = message.location;
  if (loc === null) return `  ${message.text}`;
  return `  ${loc.file}:${loc.line}:${loc.column + 1}: ${message.text}\n    ${loc.lineText}`;
}
