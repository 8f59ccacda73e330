// A live NDJSON answer (log lines, events) to a client that may read slower than they come. What
// waits for the client is bounded: past the bound, values are dropped and counted, and once the
// client has caught up one line says how many, in the stream's own shape. Queuing without a bound
// would let one stalled `litefaas logs -f` hold the platform's memory; Workers' tail sheds load the
// same way (sampling), saying so.
import type { ServerResponse } from "node:http";

/** Bytes an answer may hold unsent (besides its first values) before values are dropped. */
export const MAX_UNSENT_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/**
 * Answers with `first` (a backlog, or a greeting) and then every value `subscribe` hands over,
 * until the client goes away and the function `subscribe` returned is called. Headers go at once:
 * a client that has them is following. `lost(count)` is the line that says `count` were dropped.
 */
export function streamNdjson(
  res: ServerResponse,
  first: readonly unknown[],
  subscribe: (send: (value: unknown) => void) => () => void,
  lost: (count: number) => unknown,
  maxUnsentBytes = MAX_UNSENT_BYTES,
): void {
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  res.flushHeaders();
  // the first values all go (they are bounded already); the bound is on what follows them
  for (const value of first) res.write(`${JSON.stringify(value)}\n`);
  const limit = res.writableLength + maxUnsentBytes;
  let dropped = 0;
  const behind = () => dropped > 0 || res.writableLength > limit;
  const report = (): void => {
    const count = dropped;
    dropped = 0;
    res.write(`${JSON.stringify(lost(count))}\n`);
  };
  const send = (value: unknown): void => {
    if (!behind()) {
      res.write(`${JSON.stringify(value)}\n`);
      return;
    }
    // 'drain' comes once all that waited has reached the socket
    if (dropped++ === 0) res.once("drain", report);
  };
  const stop = subscribe(send);
  const heartbeat = setInterval(() => {
    if (!behind()) res.write("\n");
  }, HEARTBEAT_MS);
  res.on("close", () => {
    clearInterval(heartbeat);
    res.off("drain", report);
    stop();
  });
}
