// The response body as the guest receives it: decoded like fetch does (gzip, deflate, br),
// with the decoded size capped too, so a small compressed body cannot expand without bound.
import { promisify } from "node:util";
import { brotliDecompress, constants, gunzip, inflate, inflateRaw } from "node:zlib";
import { errorCode, FetchError } from "./errors.js";
import { formatBytes } from "./exchange.js";

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);
const brotliAsync = promisify(brotliDecompress);

type Decoder = (input: Buffer, maxOutputLength: number) => Promise<Buffer>;

// Z_SYNC_FLUSH accepts a stream cut short at the end, as browsers and undici's fetch do.
const DECODERS: Readonly<Record<string, Decoder>> = {
  gzip: (input, max) =>
    gunzipAsync(input, { maxOutputLength: max, finishFlush: constants.Z_SYNC_FLUSH }),
  "x-gzip": (input, max) =>
    gunzipAsync(input, { maxOutputLength: max, finishFlush: constants.Z_SYNC_FLUSH }),
  // "deflate" is meant to be zlib-wrapped but some servers send it raw; the header tells.
  deflate: (input, max) =>
    (hasZlibHeader(input) ? inflateAsync : inflateRawAsync)(input, {
      maxOutputLength: max,
      finishFlush: constants.Z_SYNC_FLUSH,
    }),
  br: (input, max) => brotliAsync(input, { maxOutputLength: max }),
};

function hasZlibHeader(input: Buffer): boolean {
  const [cmf = 0, flg = 0] = input;
  return (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
}

/** Joins the chunks into one exactly-sized ArrayBuffer (the value that crosses to the guest). */
export function toArrayBuffer(chunks: readonly Uint8Array[], totalBytes: number): ArrayBuffer {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out.buffer;
}

/**
 * Decodes `body` by its Content-Encoding. An encoding the host does not know leaves the body
 * as it came (the header still says how it is encoded), as fetch does.
 */
export async function decodeBody(
  body: ArrayBuffer,
  contentEncoding: string | null,
  maxBytes: number,
  url: string,
): Promise<ArrayBuffer> {
  if (contentEncoding === null || body.byteLength === 0) return body;
  const codings = contentEncoding
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  const decoders = codings.map((c) => DECODERS[c]);
  if (codings.length === 0 || decoders.some((d) => d === undefined)) return body;
  let data: Buffer = Buffer.from(body);
  // Codings are listed in the order they were applied, so they are undone from the last.
  for (let i = codings.length - 1; i >= 0; i--) {
    const decoder = decoders[i];
    if (decoder === undefined) return body;
    try {
      data = await decoder(data, maxBytes);
    } catch (error) {
      if (errorCode(error) === "ERR_BUFFER_TOO_LARGE") {
        throw new FetchError(
          "RESPONSE_TOO_LARGE",
          `the response from "${url}" decompresses to more than the ${formatBytes(maxBytes)} limit for fetch responses`,
          { cause: error },
        );
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new FetchError(
        "NETWORK_ERROR",
        `the response from "${url}" is not valid ${codings[i] ?? ""} data: ${reason}`,
        {
          cause: error,
        },
      );
    }
  }
  return toArrayBuffer([data], data.byteLength);
}
