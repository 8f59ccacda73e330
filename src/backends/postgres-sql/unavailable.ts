// Telling "the server cannot be reached" from an engine error: a refused, reset or timed-out
// connection, one the server closed, or a server shutting down or starting up. The function then
// gets SqlUnavailableError (retry later) instead of a platform fault; pools reconnect by
// themselves once the server is back.
import pg from "pg";
import { SqlUnavailableError } from "../../ports/sql.js";

const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "EAI_AGAIN",
]);
/** admin_shutdown, crash_shutdown, cannot_connect_now; and class 08, connection exceptions. */
const SERVER_GOING = new Set(["57P01", "57P02", "57P03"]);
const CLOSED =
  /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error/i;

/** `error` as SqlUnavailableError when it means the server at `where` cannot be reached. */
export function asUnavailable(error: unknown, where: string): unknown {
  if (error instanceof pg.DatabaseError) {
    const code = error.code ?? "";
    return SERVER_GOING.has(code) || code.startsWith("08")
      ? new SqlUnavailableError(`PostgreSQL at ${where}: ${error.message}`)
      : error;
  }
  if (!(error instanceof Error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if ((code !== undefined && NETWORK.has(code)) || CLOSED.test(error.message))
    return new SqlUnavailableError(`PostgreSQL at ${where}: ${error.message}`);
  // pg reports a failed connect as an AggregateError of each address's failure
  if (
    error instanceof AggregateError &&
    error.errors.some((e) => asUnavailable(e, where) instanceof SqlUnavailableError)
  )
    return new SqlUnavailableError(`PostgreSQL at ${where}: ${String(error.errors[0])}`);
  return error;
}

/** host:port of a PostgreSQL URL, for messages (never the credentials). */
export function serverOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}`;
  } catch {
    return "the configured server";
  }
}
