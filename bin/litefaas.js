#!/usr/bin/env node
// isolated-vm needs V8 without Node's startup snapshot (Node 20+): re-run with the flag if missing.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));

if (!existsSync(main)) {
  console.error(
    "error: litefaas is not built yet (no dist/)\n  fix: run `npm run build` (or `npm start`, which builds first)",
  );
  process.exit(1);
}

if (process.execArgv.includes("--no-node-snapshot")) {
  await import(main);
} else {
  const child = spawn(
    process.execPath,
    ["--no-node-snapshot", ...process.execArgv, main, ...process.argv.slice(2)],
    {
      stdio: "inherit",
    },
  );
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("exit", (code, signal) => {
    if (signal !== null) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
