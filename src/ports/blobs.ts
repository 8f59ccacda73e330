// The blobs port: immutable, content-addressed artifacts (function bundles).
// Backends: local files (embedded) and NATS Object Store (distributed).

export interface BlobsPort {
  /** Store bytes under their SHA-256; returns the hex digest, which is the key. */
  put(bytes: Uint8Array): Promise<string>;
  get(key: string): Promise<Uint8Array | undefined>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export const BLOB_KEY = /^[0-9a-f]{64}$/;
