// Bundling a function for the isolate runtime: esbuild resolves the user's node_modules, strips
// TypeScript, and emits one script that leaves the module's exports on globalThis.__litefaas_fn.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { build, type BuildOptions, type Message } from "esbuild";
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

const OPTIONS = {
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
} satisfies BuildOptions;

export async function bundleFunction(
  projectDir: string,
  main: string,
  name: string,
): Promise<Bundle> {
  try {
    const result = await build({
      ...OPTIONS,
      absWorkingDir: projectDir,
      entryPoints: [join(projectDir, main)],
    });
    const output = result.outputFiles[0];
    if (output === undefined) throw new Error("esbuild produced no output");
    return {
      code: output.text,
      inputs: Object.keys(result.metafile.inputs).map((f) => relative(".", f)),
    };
  } catch (error) {
    throw buildFailure(error, name);
  }
}

/**
 * One file of TypeScript or JavaScript written in the console. It is built where nothing can be
 * imported (an empty directory), so a package import fails with a fix rather than reading the
 * platform's own node_modules.
 */
export async function bundleSource(file: string, text: string, name: string): Promise<string> {
  const empty = await mkdtemp(join(tmpdir(), "litefaas-source-"));
  try {
    const result = await build({
      ...OPTIONS,
      absWorkingDir: empty,
      stdin: {
        contents: text,
        sourcefile: file,
        resolveDir: empty,
        loader: file.endsWith(".js") || file.endsWith(".mjs") ? "js" : "ts",
      },
    });
    const output = result.outputFiles[0];
    if (output === undefined) throw new Error("esbuild produced no output");
    return output.text;
  } catch (error) {
    const failure = buildFailure(error, name);
    if (failure instanceof LitefaasError && /Could not resolve/.test(failure.message)) {
      throw new LitefaasError("BUILD_FAILED", failure.message, {
        fix: "code written in the console is one file and imports no packages; deploy a project with `litefaas deploy <dir>` to use npm packages",
        ...(failure.details === undefined ? {} : { details: failure.details }),
      });
    }
    throw failure;
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}

function buildFailure(error: unknown, name: string): unknown {
  const messages = (error as { errors?: Message[] }).errors;
  if (messages === undefined) return error;
  const lines = messages.map((m) => formatMessage(m));
  return new LitefaasError(
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

function formatMessage(message: Message): string {
  const loc = message.location;
  if (loc === null) return `  ${message.text}`;
  return `  ${loc.file}:${loc.line}:${loc.column + 1}: ${message.text}\n    ${loc.lineText}`;
}
