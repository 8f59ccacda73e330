// The platform's own lines (startup, shutdown, what its parts report) go through this one logger,
// printed as the text people read or, with `up --log-format json`, as one JSON object per line
// for a collector. Function logs are another thing: see logs.ts.
//
// Written here rather than with pino: a handful of lines a minute need no library, and the
// access log, the one busy stream, has its own batched writer (gateway/access-log.ts).
import { LitefaasError } from "../shared/errors.js";

export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export type PlatformLevel = "info" | "warn" | "error";

/** What a line is about. `error` is a thrown value: it becomes `error` (its message) and `code`. */
export interface LogFields {
  /** The part that speaks: registry, triggers, records, admin, nats-kv… (none for startup lines). */
  component?: string;
  requestId?: string;
  project?: string;
  function?: string;
  code?: string;
  error?: unknown;
  [field: string]: unknown;
}

export interface PlatformLog {
  readonly format: LogFormat;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** A logger printing with `write` (stdout by default) in `format`. */
export function createPlatformLog(
  format: LogFormat,
  write: (text: string) => void = (text) => void process.stdout.write(text),
): PlatformLog {
  const line = (level: PlatformLevel, msg: string, fields: LogFields = {}) => {
    const { error, ...rest } = fields;
    const failure = error === undefined ? undefined : describeError(error);
    write(
      format === "json"
        ? `${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...rest, ...failure })}\n`
        : textLine(msg, rest.component, failure),
    );
  };
  return {
    format,
    info: (msg, fields) => line("info", msg, fields),
    warn: (msg, fields) => line("warn", msg, fields),
    error: (msg, fields) => line("error", msg, fields),
  };
}

/** A logger that prints nothing (startNode without one: tests, embedding). */
export const silentLog: PlatformLog = createPlatformLog("text", () => undefined);

interface ErrorDescription {
  error: string;
  code?: string;
  /** Only for errors the platform did not expect: a LitefaasError's message says it all. */
  stack?: string;
}

function describeError(error: unknown): ErrorDescription {
  if (error instanceof LitefaasError) return { error: error.message, code: error.code };
  if (!(error instanceof Error)) return { error: String(error) };
  // a system error's code (ECONNREFUSED, SQLITE_BUSY…) is worth filtering on
  const code = (error as { code?: unknown }).code;
  return {
    error: error.message,
    ...(typeof code === "string" ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}

/** As the platform has always printed: `[component: ]msg[: error]`, and a stack below when there is one. */
function textLine(msg: string, component: unknown, failure: ErrorDescription | undefined): string {
  const head = typeof component === "string" ? `${component}: ${msg}` : msg;
  if (failure === undefined) return `${head}\n`;
  const below = failure.stack?.split("\n").slice(1) ?? [];
  return `${head}: ${failure.error}\n${below.map((l) => `${l}\n`).join("")}`;
}
