// env.kv's host half: the function's own bucket and nothing else. The bucket is chosen by the
// platform from the function's identity; no argument the function passes can name another.
import { KvConflictError, type KvBucket } from "../../ports/kv.js";
import { BindingUserError, invalid, type BindingHost } from "../binding-error.js";

export interface KvLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxListLimit: number;
}

export const DEFAULT_KV_LIMITS: KvLimits = {
  maxKeyBytes: 512,
  maxValueBytes: 1024 * 1024,
  maxListLimit: 1000,
};

const encoder = new TextEncoder();
const MAX_INCREMENT_TRIES = 200;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function createKvHost(
  open: () => Promise<KvBucket>,
  limits: KvLimits = DEFAULT_KV_LIMITS,
): BindingHost {
  let bucket: Promise<KvBucket> | undefined;
  const b = () => (bucket ??= open());

  const key = (value: unknown): string => {
    if (typeof value !== "string" || value.length === 0)
      throw invalid("a KV key is a non-empty string");
    if (LONE_SURROGATE.test(value))
      throw invalid("a KV key must be valid Unicode (it contains a lone surrogate)");
    const bytes = encoder.encode(value).length;
    if (bytes > limits.maxKeyBytes) {
      throw invalid(
        `a KV key is at most ${limits.maxKeyBytes} bytes of UTF-8; this one is ${bytes}`,
      );
    }
    return value;
  };
  const bytesOf = (value: unknown): Uint8Array => {
    const bytes =
      typeof value === "string"
        ? encoder.encode(value)
        : value instanceof ArrayBuffer
          ? new Uint8Array(value)
          : undefined;
    if (bytes === undefined) throw invalid("a KV value is a string or bytes");
    if (bytes.length > limits.maxValueBytes) {
      throw invalid(
        `a KV value is at most ${limits.maxValueBytes} bytes; this one is ${bytes.length}: store large data elsewhere and keep a reference`,
      );
    }
    return bytes;
  };
  const copy = (value: Uint8Array): ArrayBuffer =>
    value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;

  const ops: Record<string, (args: unknown[]) => Promise<unknown>> = {
    async get([k]) {
      const entry = await (await b()).get(key(k));
      return entry === undefined ? null : copy(entry.value);
    },
    async getWithRevision([k]) {
      const entry = await (await b()).get(key(k));
      return entry === undefined ? [null, 0] : [copy(entry.value), entry.revision];
    },
    async put([k, value, ttlMs, ifRevision]) {
      const options: { ttlMs?: number; ifRevision?: number } = {};
      if (ttlMs !== null) {
        if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs < 1000) {
          throw invalid(
            "expirationTtl must be at least 1 second (expiration at least 1 second from now)",
          );
        }
        options.ttlMs = Math.round(ttlMs);
      }
      if (ifRevision !== null) {
        if (typeof ifRevision !== "number" || !Number.isInteger(ifRevision) || ifRevision < 0) {
          throw invalid('ifRevision is a revision from getWithRevision, or 0 for "only if absent"');
        }
        options.ifRevision = ifRevision;
      }
      try {
        return await (await b()).put(key(k), bytesOf(value), options);
      } catch (error) {
        throw conflict(error);
      }
    },
    async delete([k]) {
      await (await b()).delete(key(k));
      return null;
    },
    async list([prefix, limit, cursor]) {
      if (typeof prefix !== "string") throw invalid("list's prefix is a string");
      if (
        typeof limit !== "number" ||
        !Number.isInteger(limit) ||
        limit < 1 ||
        limit > limits.maxListLimit
      ) {
        throw invalid(`list's limit is an integer from 1 to ${limits.maxListLimit}`);
      }
      if (cursor !== null && typeof cursor !== "string")
        throw invalid("list's cursor is the string from the previous page");
      const page = await (
        await b()
      ).list({ prefix, limit, ...(cursor === null ? {} : { cursor }) });
      return [page.keys.map((k) => [k.key, k.expiresAt ?? null]), page.cursor ?? null];
    },
    async increment([k, by]) {
      if (typeof by !== "number" || !Number.isSafeInteger(by))
        throw invalid("increment's amount is a safe integer");
      const name = key(k);
      const bucketNow = await b();
      // compare-and-set until our write is the one that lands: exactly one increment per call
      for (let attempt = 0; attempt < MAX_INCREMENT_TRIES; attempt++) {
        const entry = await bucketNow.get(name);
        const current = entry === undefined ? 0 : Number(new TextDecoder().decode(entry.value));
        if (!Number.isSafeInteger(current)) {
          throw new BindingUserError(
            "TypeError",
            `"${name}" does not hold an integer, so it cannot be incremented`,
          );
        }
        const next = current + by;
        try {
          await bucketNow.put(name, encoder.encode(String(next)), {
            ifRevision: entry?.revision ?? 0,
          });
          return next;
        } catch (error) {
          if (!(error instanceof KvConflictError)) throw error;
          await new Promise((resolve) =>
            setTimeout(resolve, Math.random() * Math.min(attempt + 1, 10)),
          );
        }
      }
      throw new BindingUserError(
        "KvConflictError",
        `"${name}" is contended too heavily to increment; retry later`,
      );
    },
  };

  return (op, args) => {
    const run = ops[op];
    if (run === undefined) return Promise.reject(invalid(`env.kv has no operation "${op}"`));
    return run(args);
  };
}

function conflict(error: unknown): unknown {
  if (error instanceof KvConflictError) {
    return new BindingUserError(
      "KvConflictError",
      `"${error.key}" changed: expected revision ${error.expected}, found ${error.actual}; read it again and retry`,
    );
  }
  return error;
}
