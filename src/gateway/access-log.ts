// Access log: one JSON line per request the gateway answered, written by pino off the request
// path (sonic-boom buffers and writes asynchronously). Never a key or a token: only the key's id
// or the token's subject.
import { pino, type Logger } from "pino";

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

/** A log to `target`: a file path (appended, directories made), "-" for stdout, or none. */
export function createAccessLog(target: string | undefined): AccessLog {
  if (target === undefined) return { write: () => undefined, close: () => Promise.resolve() };
  const destination = pino.destination({
    dest: target === "-" ? 1 : target,
    sync: false,
    mkdir: true,
  });
  const logger: Logger = pino(
    {
      base: null,
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  let open = true;
  return {
    // a WebSocket closing late in a shutdown finds the log closed: its line is dropped
    write: (entry) => {
      if (open) logger.info(entry);
    },
    close: () =>
      new Promise<void>((resolve) => {
        open = false;
        const done = () => resolve();
        destination.once("close", done);
        destination.once("error", done);
        destination.end();
      }),
  };
}
