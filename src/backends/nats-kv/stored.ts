// What litefaas writes beside a value in a KV message's headers, and how a stored message reads
// back: a put (maybe with an expiry, maybe with its value in chunks) or a deletion marker.
import { headers, type MsgHdrs } from "@nats-io/transport-node";

/** Epoch ms after which the entry is absent. NATS before 2.11 has no per-key TTL. */
export const EXPIRES_HEADER = "Litefaas-Expires";
/** "<id> <count> <size>": the value is in `count` chunk messages, see chunks.ts. */
export const CHUNKS_HEADER = "Litefaas-Chunks";
const OPERATION_HEADER = "KV-Operation";
/** Set by NATS 2.11+ on the marker it leaves when it removes a message by TTL or max age. */
const MARKER_HEADER = "Nats-Marker-Reason";

export interface ChunkRef {
  id: string;
  count: number;
  size: number;
}

export interface StoredMeta {
  /** A delete or purge marker, or a message the server removed by TTL. */
  deleted: boolean;
  expiresAt?: number;
  chunks?: ChunkRef;
}

const CHUNK_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function readMeta(h: MsgHdrs | undefined): StoredMeta {
  if (h === undefined) return { deleted: false };
  const op = h.get(OPERATION_HEADER);
  if (op === "DEL" || op === "PURGE" || h.get(MARKER_HEADER) !== "") return { deleted: true };
  const meta: StoredMeta = { deleted: false };
  const expires = h.get(EXPIRES_HEADER);
  if (expires !== "") {
    const at = Number(expires);
    // an unreadable stamp is not silently "forever": treat the entry as already expired
    meta.expiresAt = Number.isSafeInteger(at) ? at : 0;
  }
  const chunks = h.get(CHUNKS_HEADER);
  if (chunks !== "") {
    const [id = "", count = "", size = ""] = chunks.split(" ");
    if (!CHUNK_ID.test(id)) throw new Error(`malformed ${CHUNKS_HEADER} header "${chunks}"`);
    meta.chunks = { id, count: Number(count), size: Number(size) };
  }
  return meta;
}

/** True when the message is a put whose expiry, if any, has not passed. */
export function isLive(meta: StoredMeta, now: number): boolean {
  return !meta.deleted && (meta.expiresAt === undefined || meta.expiresAt > now);
}

export function putHeaders(options: { expiresAt?: number; chunks?: ChunkRef }): MsgHdrs {
  const h = headers();
  if (options.expiresAt !== undefined) h.set(EXPIRES_HEADER, String(options.expiresAt));
  if (options.chunks !== undefined) {
    const { id, count, size } = options.chunks;
    h.set(CHUNKS_HEADER, `${id} ${count} ${size}`);
  }
  return h;
}

export function deleteHeaders(): MsgHdrs {
  const h = headers();
  h.set(OPERATION_HEADER, "DEL");
  return h;
}
