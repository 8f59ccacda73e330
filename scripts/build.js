// Build: TypeScript for the platform (tsc → dist/), the guest bootstrap that runs inside every
// isolate (esbuild → dist/guest/bootstrap.js, one minified IIFE), and the web console.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const tsc = require.resolve("typescript/bin/tsc");

execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { stdio: "inherit" });
execFileSync(process.execPath, [tsc, "-p", "src/runtimes/isolate/guest/tsconfig.json"], {
  stdio: "inherit",
});
// esbuild strips the console's types without checking them: tsc does (so a build type-checks all)
execFileSync(process.execPath, [tsc, "-p", "console/tsconfig.json"], { stdio: "inherit" });

// the process runtimes' own files (the Python bootstrap and SDK) ship beside their code
cpSync("src/runtimes/process/python", "dist/src/runtimes/process/python", {
  recursive: true,
  filter: (path) => !path.includes("__pycache__"),
});

mkdirSync("dist/guest", { recursive: true });
await build({
  entryPoints: ["src/runtimes/isolate/guest/install.ts"],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "__litefaas_install",
  platform: "neutral",
  mainFields: ["module", "main"],
  target: "es2022",
  outfile: "dist/guest/bootstrap.js",
  legalComments: "none",
  logLevel: "warning",
});

// The web console (console/ → dist/console/), bundled ahead of time so nothing builds at runtime:
// Preact and the page in app.js, CodeMirror in a chunk that loads when a screen shows code.
rmSync("dist/console", { recursive: true, force: true });
await build({
  entryPoints: { app: "console/src/main.tsx" },
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  jsx: "automatic",
  jsxImportSource: "preact",
  target: ["chrome111", "firefox115", "safari16.4"],
  outdir: "dist/console",
  chunkNames: "chunks/[name]-[hash]",
  legalComments: "linked",
  logLevel: "warning",
});
cpSync("console/index.html", "dist/console/index.html");

// The manifest's JSON Schema, published for editors (and committed, so it is browsable).
const { manifestSchema } = await import("../dist/src/shared/manifest/schema.js");
mkdirSync("schema", { recursive: true });
writeFileSync("schema/litefaas.schema.json", `${JSON.stringify(manifestSchema, null, 2)}\n`);
