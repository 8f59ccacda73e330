// console: every call becomes one hooks.log(level, requestId, message) line, formatted like
// Node's util.format (%s %d %i %f %j %o %O %c %%, other arguments inspected).
import type { HostHooks, LogLevel } from "../host-api.js";
import { inspect } from "./inspect.js";
import { currentRequestId } from "./request-context.js";

/** The built-in toString methods: %s inspects objects that have only one of these. */
const BUILTIN_TO_STRING = new Set<unknown>(
  [Object, Array, Error, Date, RegExp, Number, String, Boolean].map(
    (type): unknown => Object.getOwnPropertyDescriptor(type.prototype, "toString")?.value,
  ),
);

export function format(args: readonly unknown[]): string {
  const first = args[0];
  if (typeof first !== "string" || args.length === 1) return args.map(show).join(" ");
  let out = "";
  let next = 1;
  let last = 0;
  for (let i = 0; i < first.length - 1; i++) {
    if (first.charCodeAt(i) !== 37 /* % */) continue;
    const spec = first.charAt(i + 1);
    let replacement: string | undefined;
    if (spec === "%") replacement = "%";
    else if (next < args.length) {
      replacement = substitute(spec, args[next]);
      if (replacement !== undefined) next++;
    }
    if (replacement === undefined) continue;
    out += first.slice(last, i) + replacement;
    last = i + 2;
    i++;
  }
  out += first.slice(last);
  for (; next < args.length; next++) out += ` ${show(args[next])}`;
  return out;
}

function substitute(spec: string, arg: unknown): string | undefined {
  switch (spec) {
    case "s":
      if (typeof arg === "bigint") return `${arg}n`;
      if (typeof arg === "number") return Object.is(arg, -0) ? "-0" : String(arg);
      if (typeof arg === "symbol") return arg.toString();
      if (typeof arg !== "object" || arg === null) return String(arg);
      return userString(arg) ?? inspect(arg, { depth: 0 });
    case "d":
      if (typeof arg === "bigint") return `${arg}n`;
      return typeof arg === "symbol" ? "NaN" : numberText(Number(arg));
    case "i":
      if (typeof arg === "bigint") return `${arg}n`;
      return typeof arg === "symbol" ? "NaN" : numberText(parseInt(String(arg), 10));
    case "f":
      return typeof arg === "symbol" ? "NaN" : numberText(parseFloat(String(arg)));
    case "j":
      try {
        return JSON.stringify(arg) ?? "undefined";
      } catch (error) {
        if (error instanceof TypeError && /circular/i.test(error.message)) return "[Circular]";
        throw error;
      }
    case "o":
      return inspect(arg, { depth: 4 });
    case "O":
      return inspect(arg);
    case "c":
      return ""; // CSS has no meaning in a log line
    default:
      return undefined;
  }
}

/** What an object's own (non-built-in) toString returns, or null when it has none. */
function userString(value: object): string | null {
  const toString: unknown = (value as { toString?: unknown }).toString;
  if (typeof toString !== "function" || BUILTIN_TO_STRING.has(toString)) return null;
  return String((toString as (this: object) => unknown).call(value));
}

function numberText(value: number): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

function show(value: unknown): string {
  return typeof value === "string" ? value : inspect(value);
}

export interface Console {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  trace(...args: unknown[]): void;
  dir(value: unknown, options?: { depth?: number }): void;
  assert(condition?: unknown, ...args: unknown[]): void;
  count(label?: string): void;
  countReset(label?: string): void;
  time(label?: string): void;
  timeLog(label?: string, ...args: unknown[]): void;
  timeEnd(label?: string): void;
  group(...args: unknown[]): void;
  groupCollapsed(...args: unknown[]): void;
  groupEnd(): void;
  table(data: unknown): void;
}

export function createConsole(hooks: HostHooks): Console {
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  let indent = "";

  const emit = (level: LogLevel, message: string): void => {
    hooks.log(
      level,
      currentRequestId(),
      indent === "" ? message : indent + message.replace(/\n/g, `\n${indent}`),
    );
  };
  const elapsed = (label: string): string | null => {
    const start = timers.get(label);
    return start === undefined ? null : `${label}: ${Date.now() - start}ms`;
  };
  const group = (...args: unknown[]): void => {
    if (args.length > 0) emit("log", format(args));
    indent += "  ";
  };

  return {
    log: (...args) => emit("log", format(args)),
    info: (...args) => emit("info", format(args)),
    warn: (...args) => emit("warn", format(args)),
    error: (...args) => emit("error", format(args)),
    debug: (...args) => emit("debug", format(args)),
    trace: (...args) => {
      // Drop the "Error" line and this function's own frame.
      const frames = (new Error().stack ?? "").split("\n").slice(2).join("\n");
      emit(
        "log",
        `Trace${args.length > 0 ? `: ${format(args)}` : ""}${frames === "" ? "" : `\n${frames}`}`,
      );
    },
    dir: (value, options) => emit("log", inspect(value, options)),
    assert: (condition, ...args) => {
      if (!condition) emit("warn", `Assertion failed${args.length > 0 ? `: ${format(args)}` : ""}`);
    },
    count: (label = "default") => {
      const count = (counts.get(label) ?? 0) + 1;
      counts.set(label, count);
      emit("log", `${label}: ${count}`);
    },
    countReset: (label = "default") => void counts.delete(label),
    time: (label = "default") => {
      if (timers.has(label)) emit("warn", `Label '${label}' already exists for console.time()`);
      else timers.set(label, Date.now());
    },
    timeLog: (label = "default", ...args) => {
      const line = elapsed(label);
      emit(
        line === null ? "warn" : "log",
        line === null
          ? `No such label '${label}' for console.timeLog()`
          : [line, ...args.map(show)].join(" "),
      );
    },
    timeEnd: (label = "default") => {
      const line = elapsed(label);
      timers.delete(label);
      emit(
        line === null ? "warn" : "log",
        line ?? `No such label '${label}' for console.timeEnd()`,
      );
    },
    group,
    groupCollapsed: group,
    groupEnd: () => {
      indent = indent.slice(2);
    },
    table: (data) => emit("log", inspect(data)),
  };
}

/** How an exception nobody caught is logged ("Uncaught Error: …" with its stack). */
export function uncaughtMessage(error: unknown): string {
  return `Uncaught ${show(error)}`;
}
