// Values too big for one NATS message (1 MiB by default, headers included) are stored as chunk
// messages on "$KV.<bucket>.chunks.<id>.<n>" in the bucket's own stream, and the key's message
// carries only "Litefaas-Chunks: <id> <count> <size>". The key's message is written last, with
// the usual compare-and-set, so a value appears whole or not at all. Chunks of values that were
// replaced, deleted or never committed are removed by the sweeper (sweep.ts) after a grace period.
import { randomBytes } from "node:crypto";
import { maxPayload } from "../nats/connection.js";
import { lastMessage, type BucketContext } from "./context.js";
import { CHUNKS_TOKEN } from "./keys.js";
import type { ChunkRef } from "./stored.js";

/** Room left in a message for headers, which count against max_payload. */
const HEADER_ROOM = 8 * 1024;
/** Chunk publishes in flight at once for one value. */
const PARALLEL = 4;

/** The largest value stored in the key's own message. */
export function inlineLimit(ctx: BucketContext): number {
  return Math.max(maxPayload(ctx.nc) - HEADER_ROOM, 1024);
}

export function chunkSubject(ctx: BucketContext, id: string, index: number): string {
  return `${ctx.prefix}${CHUNKS_TOKEN}.${id}.${index}`;
}

export async function writeChunks(ctx: BucketContext, value: Uint8Array): Promise<ChunkRef> {
  const size = inlineLimit(ctx);
  const ref: ChunkRef = {
    id: randomBytes(12).toString("base64url"),
    count: Math.ceil(value.byteLength / size),
    size: value.byteLength,
  };
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < ref.count; i = next++) {
        await ctx.js.publish(
          chunkSubject(ctx, ref.id, i),
          value.subarray(i * size, Math.min((i + 1) * size, value.byteLength)),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, ref.count) }, worker));
  } catch (error) {
    await purgeChunks(ctx, ref.id).catch(() => undefined);
    throw error;
  }
  return ref;
}

/** The value, or undefined when a chunk is gone (the value was replaced and swept meanwhile). */
export async function readChunks(
  ctx: BucketContext,
  ref: ChunkRef,
): Promise<Uint8Array | undefined> {
  const parts = await Promise.all(
    Array.from({ length: ref.count }, (_, i) => lastMessage(ctx, chunkSubject(ctx, ref.id, i))),
  );
  const value = new Uint8Array(ref.size);
  let offset = 0;
  for (const part of parts) {
    if (part === null) return undefined;
    if (offset + part.data.byteLength > ref.size) break;
    value.set(part.data, offset);
    offset += part.data.byteLength;
  }
  if (offset !== ref.size) {
    throw new Error(
      `kv bucket ${ctx.name}: chunks ${ref.id} hold ${offset} bytes, not ${ref.size}`,
    );
  }
  return value;
}

export async function purgeChunks(ctx: BucketContext, id: string): Promise<void> {
  await ctx.jsm.streams.purge(ctx.stream, { filter: `${ctx.prefix}${CHUNKS_TOKEN}.${id}.>` });
}
