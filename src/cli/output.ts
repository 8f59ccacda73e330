// How the CLI speaks: results on stdout (text or --json), progress and errors on stderr.
import { LitefaasError } from "../shared/errors.js";

export interface Output {
  json: boolean;
  /** A result: JSON as is with --json, else the text rendering. */
  result(value: unknown, text: () => string): void;
  /** Progress on a terminal only; silent when piped or with --json. */
  progress(line: string): void;
  done(): void;
}

export function createOutput(json: boolean): Output {
  const tty = process.stderr.isTTY && !json;
  let live = false;
  return {
    json,
    result(value, text) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
    },
    progress(line) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[2K${line}`);
      live = true;
    },
    done() {
      if (live) process.stderr.write("\r\x1b[2K");
      live = false;
    },
  };
}

/** Errors as what / why / how to fix, and an exit code. */
export function printError(error: unknown, json: boolean): number {
  const e =
    error instanceof LitefaasError
      ? error
      : new LitefaasError("INTERNAL", error instanceof Error ? error.message : String(error));
  if (json) {
    process.stderr.write(`${JSON.stringify(e.toBody())}\n`);
  } else {
    process.stderr.write(`error: ${e.message}\n`);
    if (e.fix !== undefined) process.stderr.write(`  fix: ${e.fix}\n`);
    process.stderr.write(`  code: ${e.code}\n`);
  }
  return e.kind === "user" ? 1 : 2;
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function parseTarget(text: string | undefined): { project: string; name: string } {
  const parts = (text ?? "").split("/");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new LitefaasError("INVALID_REQUEST", `"${text ?? ""}" is not <project>/<function>`, {
      fix: "name a function as project/function, e.g. examples/hello (see `litefaas ls`)",
    });
  }
  return { project: parts[0] as string, name: parts[1] as string };
}
