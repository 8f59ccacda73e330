// env.kv: the guest half of a function's own key-value store. Method names and options follow
// Cloudflare Workers KV so Workers code ports unchanged; getWithRevision, ifRevision and
// increment add what Workers KV lacks (compare-and-set and atomic counters).
import type { BindingCall } from "./call.js";

type ValueType = "text" | "json" | "arrayBuffer" | "stream";
type PutValue = string | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array>;

interface PutOptions {
  /** Seconds from now. */
  expirationTtl?: number;
  /** Absolute expiry, seconds since the epoch. */
  expiration?: number;
  /** Compare-and-set: write only if the key is at this revision (0: only if absent). */
  ifRevision?: number;
}

interface ListOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
}

export function createKv(call: BindingCall) {
  return Object.freeze({
    async get(key: unknown, options?: ValueType | { type?: ValueType }): Promise<unknown> {
      const bytes = (await call("get", [String(key)])) as ArrayBuffer | null;
      return bytes === null ? null : decode(bytes, typeOf(options));
    },
    async getWithRevision(
      key: unknown,
      options?: ValueType | { type?: ValueType },
    ): Promise<{ value: unknown; revision: number }> {
      const [bytes, revision] = (await call("getWithRevision", [String(key)])) as [
        ArrayBuffer | null,
        number,
      ];
      return { value: bytes === null ? null : decode(bytes, typeOf(options)), revision };
    },
    async put(key: unknown, value: PutValue, options: PutOptions = {}): Promise<number> {
      const ttlMs =
        options.expirationTtl !== undefined
          ? options.expirationTtl * 1000
          : options.expiration !== undefined
            ? options.expiration * 1000 - Date.now()
            : undefined;
      return (await call("put", [
        String(key),
        await toBytes(value),
        ttlMs ?? null,
        options.ifRevision ?? null,
      ])) as number;
    },
    async delete(key: unknown): Promise<void> {
      await call("delete", [String(key)]);
    },
    async list(options: ListOptions = {}): Promise<{
      keys: Array<{ name: string; expiration?: number }>;
      list_complete: boolean;
      cursor?: string;
    }> {
      const [keys, cursor] = (await call("list", [
        options.prefix ?? "",
        options.limit ?? 1000,
        options.cursor ?? null,
      ])) as [Array<[string, number | null]>, string | null];
      const page = {
        keys: keys.map(([name, expiresAt]) =>
          expiresAt === null ? { name } : { name, expiration: Math.floor(expiresAt / 1000) },
        ),
        list_complete: cursor === null,
      };
      return cursor === null ? page : { ...page, cursor };
    },
    async increment(key: unknown, by = 1): Promise<number> {
      return (await call("increment", [String(key), by])) as number;
    },
  });
}

function typeOf(options: ValueType | { type?: ValueType } | undefined): ValueType {
  if (options === undefined) return "text";
  return typeof options === "string" ? options : (options.type ?? "text");
}

function decode(bytes: ArrayBuffer, type: ValueType): unknown {
  switch (type) {
    case "arrayBuffer":
      return bytes;
    case "json":
      return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    case "stream":
      return new Response(bytes).body;
    case "text":
      return new TextDecoder().decode(bytes);
    default:
      throw new TypeError(
        `unknown type "${String(type)}": use "text", "json", "arrayBuffer" or "stream"`,
      );
  }
}

async function toBytes(value: PutValue): Promise<ArrayBuffer | string> {
  if (typeof value === "string") return value;
  if (value instanceof ArrayBuffer) return value;
  if (ArrayBuffer.isView(value))
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
  if (value instanceof ReadableStream) return new Response(value).arrayBuffer();
  throw new TypeError(
    "a KV value is a string, ArrayBuffer, typed array or ReadableStream; for objects use JSON.stringify",
  );
}
