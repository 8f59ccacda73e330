// What the admin API's route modules share: the route shape and reading a JSON body.
import type { IncomingMessage, ServerResponse } from "node:http";
import { LitefaasError } from "../shared/errors.js";

export type Handler = (ctx: {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
}) => Promise<unknown>;

/** [method, path pattern, handler]; a handler answering undefined has written the response itself. */
export type Route = [string, RegExp, Handler];

const MAX_ADMIN_BODY = 64 * 1024 * 1024;

export async function readBytes(req: IncomingMessage, limit = MAX_ADMIN_BODY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw new LitefaasError("BODY_TOO_LARGE", `admin request body exceeds ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const bytes = await readBytes(req);
  if (bytes.length === 0) return {};
  try {
    return JSON.parse(bytes.toString("utf8")) as unknown;
  } catch (error) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `the body is not JSON: ${(error as Error).message}`,
      {
        fix: "send a JSON body",
      },
    );
  }
}
