// Access log: one line per request the gateway answered. Never a key or a token: only the
// key's id or the token's subject. A file gets JSON lines, shaped as the platform's own JSON lines
// (ts, level, component, msg, then the entry); stdout gets them in the platform's --log-format,
// through process.stdout so they never tear the platform's lines printed there too.
//
// Written here rather than with pino: it runs for every request, and under load pino's
// serializer, its per-line length accounting and a write per line took a fifth of the
// gateway's CPU. Lines are JSON.stringify'd, gathered, and written in one append per
// event-loop turn (or per 64 KiB).
import { closeSync, mkdirSync, openSync, write } from "node:fs";
import { dirname } from "node:path";
import { DEFAULT_LOG_FILE_MAX_BYTES, LogFileSize } from "../observe/log-file-rotation.js";
import type { LogFormat } from "../observe/platform-log.js";

export interface AccessEntry {
  requestId: string;
  method: string;
  /** The path as sent, without the query (queries carry secrets too often). */
  path: string;
  host: string | undefined;
  /** What answered: "<project> <route as declared>", "<project> /fn/<function>", or "admin" etc. */
  route: string | undefined;
  project: string | undefined;
  function: string | undefined;
  status: number;
  /** The gateway's error code when the gateway answered with one. */
  error: string | undefined;
  durationMs: number;
  /** Response body bytes sent. */
  bytes: number;
  client: string;
  keyId: string | undefined;
  subject: string | undefined;
  userAgent: string | undefined;
  /** True when the client went away before the response was complete. */
  aborted: boolean;
  /** A WebSocket's close code (the line is written when the WebSocket closes). */
  closeCode?: number;
}

export interface AccessLog {
  write(entry: AccessEntry): void;
  close(): Promise<void>;
}

const FLUSH_BYTES = 64 * 1024;

/**
 * A log to `target`: a file path (appended, directories made, rotated past `maxFileBytes`), "-"
 * for stdout in `format`, or none.
 */
export function createAccessLog(
  target: string | undefined,
  format: LogFormat = "json",
  maxFileBytes = DEFAULT_LOG_FILE_MAX_BYTES,
): AccessLog {
  if (target === undefined) return { write: () => undefined, close: () => Promise.resolve() };
  const toStdout = target === "-";
  let fd = 1;
  let size: LogFileSize | undefined;
  if (!toStdout) {
    mkdirSync(dirname(target), { recursive: true });
    fd = openSync(target, "a");
    size = new LogFileSize(target, maxFileBytes);
  }
  const render = toStdout && format === "text" ? textLine : jsonLine;
  let pending = "";
  let scheduled = false;
  let writing: Promise<void> = Promise.resolve();
  let open = true;
  // the time as ISO 8601, made once per millisecond
  let lastMs = 0;
  let lastIso = "";

  const flush = () => {
    scheduled = false;
    if (pending === "") return;
    const chunk = pending;
    pending = "";
    // appends in order: each waits for the one before
    writing = writing.then(
      () =>
        new Promise<void>((resolve) => {
          if (toStdout) {
            process.stdout.write(chunk, () => resolve());
            return;
          }
          // appends are chained, so nothing is being written to the old file as it is renamed
          if (size?.beforeWrite(Buffer.byteLength(chunk)) === true) {
            closeSync(fd);
            fd = openSync(target, "a");
          }
          write(fd, chunk, null, "utf8", () => resolve());
        }),
    );
  };

  return {
    // a WebSocket closing late in a shutdown finds the log closed: its line is dropped
    write(entry) {
      if (!open) return;
      const now = Date.now();
      if (now !== lastMs) {
        lastMs = now;
        lastIso = new Date(now).toISOString();
      }
      pending += render(lastIso, entry);
      if (pending.length >= FLUSH_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    async close() {
      if (!open) return;
      open = false;
      flush();
      await writing;
      if (!toStdout) closeSync(fd);
    },
  };
}

function jsonLine(iso: string, entry: AccessEntry): string {
  const msg = JSON.stringify(`${entry.method} ${entry.path} ${entry.status}`);
  return `{"ts":"${iso}","level":"info","component":"access","msg":${msg},${JSON.stringify(entry).slice(1)}\n`;
}

/** For people: what was asked, the answer, how long, how big, and who asked. */
function textLine(iso: string, entry: AccessEntry): string {
  const who = entry.keyId ?? entry.subject;
  const error = entry.error === undefined ? "" : ` ${entry.error}`;
  return (
    `access: ${iso} ${entry.method} ${entry.path} ${entry.status}${error}` +
    ` ${Math.round(entry.durationMs)}ms ${entry.bytes}B` +
    ` id=${entry.requestId} client=${entry.client}${who === undefined ? "" : ` by=${who}`}` +
    (entry.aborted ? " aborted\n" : "\n")
  );
}
