// Reading a request body into memory, refusing it as soon as it is known to be too large.
import type { IncomingMessage } from "node:http";
import { LitefaasError } from "../shared/errors.js";

/** null at once when there is no body (the common GET: no promise, no microtask). */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | null> | null {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit, declared));
  }
  if (declared === 0 && req.headers["transfer-encoding"] === undefined) {
    req.resume();
    return null;
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge(limit, size));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > limit) return;
      resolve(
        size === 0
          ? null
          : chunks.length === 1
            ? (chunks[0] as Buffer)
            : Buffer.concat(chunks, size),
      );
    });
    req.on("error", reject);
  });
}

function tooLarge(limit: number, size: number): LitefaasError {
  return new LitefaasError(
    "BODY_TOO_LARGE",
    `the request body (${size} bytes or more) exceeds ${limit} bytes`,
    {
      fix: `send at most ${Math.floor(limit / 1024 / 1024)} MiB, or upload large data elsewhere and pass a reference`,
    },
  );
}
