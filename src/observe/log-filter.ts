// Which function log lines a reader asked for: a least level, one request, a piece of text.
// Applied where the lines are kept, so a follower is sent only what matches.
import type { LogLevel, LogLine } from "./logs.js";

export interface LogFilter {
  /** This level and above: debug < info = log < warn < error. */
  level?: LogLevel;
  /** The invocation's request id (every try of a retried one shares it). */
  requestId?: string;
  /** A piece of the message, whatever its case. */
  text?: string;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, log: 1, warn: 2, error: 3 };

export const LOG_LEVELS = Object.keys(RANK) as readonly LogLevel[];

export function isLogLevel(text: string): text is LogLevel {
  return Object.hasOwn(RANK, text);
}

/** A test for lines; undefined when the filter asks for nothing, so callers can skip it. */
export function lineMatcher(filter: LogFilter): ((line: LogLine) => boolean) | undefined {
  const least = filter.level === undefined ? undefined : RANK[filter.level];
  const { requestId } = filter;
  const text = filter.text === undefined || filter.text === "" ? undefined : filter.text;
  const lower = text?.toLowerCase();
  if (least === undefined && requestId === undefined && lower === undefined) return undefined;
  return (line) =>
    (least === undefined || (RANK[line.level] ?? RANK.log) >= least) &&
    (requestId === undefined || line.requestId === requestId) &&
    (lower === undefined || line.message.toLowerCase().includes(lower));
}
