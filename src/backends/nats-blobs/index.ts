// blobs port on the NATS JetStream Object Store: one object store bucket, each blob an object
// named by the SHA-256 of its bytes. Objects are never replaced: a put that finds its object
// stored does nothing, and two racing puts of the same bytes are settled by compare-and-set on
// the object's metadata, so a reader never sees an object's chunks swapped under it.
import { createHash } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { Objm, type ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { BLOB_KEY, type BlobsPort } from "../../ports/blobs.js";
import { connectNats, type NatsConnectOptions } from "../nats/connection.js";
import { isWrongLastSequence } from "../nats/errors.js";
import { scanStream } from "../nats/scan.js";

export interface NatsBlobsOptions {
  /** The object store bucket (default "litefaas_blobs"). */
  bucket?: string;
  /** Replicas of the bucket's stream when it is created (1 on a single server, 3 in a cluster). */
  replicas?: number;
}

const ATTEMPTS = 5;

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

function checkKey(key: string): void {
  if (!BLOB_KEY.test(key)) {
    throw new Error(`invalid blob key "${key}": expected a SHA-256 hex digest`);
  }
}

/** The blobs port on a NATS connection the caller owns. */
export function natsBlobs(nc: NatsConnection, options: NatsBlobsOptions = {}): BlobsPort {
  const bucket = options.bucket ?? "litefaas_blobs";
  const js = jetstream(nc);
  let opening: Promise<ObjectStore> | undefined;
  const store = (): Promise<ObjectStore> => {
    opening ??= new Objm(js).create(bucket, { replicas: options.replicas ?? 1 });
    opening.catch(() => (opening = undefined)); // retry on the next call
    return opening;
  };
  // puts of the same bytes from this process share one write
  const putting = new Map<string, Promise<string>>();

  const write = async (key: string, bytes: Uint8Array): Promise<string> => {
    const os = await store();
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const info = await os.info(key);
      if (info !== null && !info.deleted) return key;
      try {
        await os.putBlob({ name: key }, bytes, { previousRevision: info?.revision ?? 0 });
        return key;
      } catch (error) {
        // another writer stored (or deleted) this object meanwhile: look again
        if (!isWrongLastSequence(error)) throw error;
      }
    }
    throw new Error(`blob ${key} kept changing while it was being stored`);
  };

  /** The object's bytes, or undefined; reads its chunks with a consumer that cannot hang. */
  const read = async (key: string): Promise<Uint8Array | undefined> => {
    const os = await store();
    let lastNuid = "";
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const info = await os.info(key);
      if (info === null || info.deleted) return undefined;
      const parts =
        info.size === 0
          ? []
          : await scanStream(js, `OBJ_${bucket}`, {
              filter: `$O.${bucket}.C.${info.nuid}`,
              deliver: "all",
              headersOnly: false,
              batch: 16,
            });
      const bytes = new Uint8Array(parts.reduce((n, m) => n + m.data.byteLength, 0));
      let offset = 0;
      for (const m of parts) {
        bytes.set(m.data, offset);
        offset += m.data.byteLength;
      }
      if (sha256(bytes) === key) return bytes;
      // deleted (and maybe stored again) while we read: the next look tells; twice the same
      // object with the wrong bytes means the store is damaged
      if (info.nuid === lastNuid) {
        throw new Error(`blob ${key} is damaged: its stored bytes hash to ${sha256(bytes)}`);
      }
      lastNuid = info.nuid;
    }
    throw new Error(`blob ${key} kept changing while it was being read`);
  };

  return {
    async put(bytes) {
      const key = sha256(bytes);
      let pending = putting.get(key);
      if (pending === undefined) {
        pending = write(key, bytes).finally(() => putting.delete(key));
        putting.set(key, pending);
      }
      return pending;
    },
    async get(key) {
      checkKey(key);
      return read(key);
    },
    async delete(key) {
      checkKey(key);
      await (await store()).delete(key);
    },
    close: () => Promise.resolve(),
  };
}

/** The blobs port on a connection of its own, closed with the port. */
export async function openNatsBlobs(
  options: NatsConnectOptions & NatsBlobsOptions,
): Promise<BlobsPort> {
  const nc = await connectNats(options);
  const port = natsBlobs(nc, options);
  return {
    ...port,
    async close() {
      await port.close();
      await nc.drain();
    },
  };
}
