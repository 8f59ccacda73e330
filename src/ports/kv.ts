// The kv port: named buckets of keys with revisions, TTL, compare-and-set and watch.
// Backends: SQLite (embedded) and NATS JetStream KV (distributed). The platform's registry and
// every function's own store are buckets of this port.

export interface KvEntry {
  key: string;
  value: Uint8Array;
  /** Increases on every write to the bucket; 0 is never a stored revision. */
  revision: number;
  /** Epoch ms after which the entry no longer exists, if it has a TTL. */
  expiresAt?: number;
}

export interface KvPutOptions {
  ttlMs?: number;
  /** Compare-and-set: write only if the key's revision is this; 0 means "only if absent". */
  ifRevision?: number;
}

export interface KvListOptions {
  prefix?: string;
  limit?: number;
  /** Opaque, from a previous page's `cursor`. */
  cursor?: string;
}

export interface KvListPage {
  keys: Array<{ key: string; revision: number; expiresAt?: number }>;
  /** Present when more keys follow. */
  cursor?: string;
}

export type KvChange =
  { op: "put"; entry: KvEntry } | { op: "delete"; key: string; revision: number };

export interface KvBucket {
  readonly name: string;
  get(key: string): Promise<KvEntry | undefined>;
  /** Returns the new revision; rejects with KvConflictError when ifRevision does not hold. */
  put(key: string, value: Uint8Array, options?: KvPutOptions): Promise<number>;
  /** Returns true when a live key was deleted. */
  delete(key: string, options?: { ifRevision?: number }): Promise<boolean>;
  list(options?: KvListOptions): Promise<KvListPage>;
  /** Changes after the call, in revision order; returns a function that stops watching. */
  watch(options: { prefix?: string }, onChange: (change: KvChange) => void): () => void;
}

export interface KvPort {
  /** Open a bucket, creating it when absent. */
  bucket(name: string): Promise<KvBucket>;
  deleteBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

export class KvConflictError extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`revision conflict on "${key}": expected ${expected}, found ${actual}`);
    this.name = "KvConflictError";
  }
}

/** Bucket names are [A-Za-z0-9_-]; both backends rely on it (file names, NATS subjects). */
export const BUCKET_NAME = /^[A-Za-z0-9_-]{1,200}$/;
