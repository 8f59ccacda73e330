// A data directory that ran without --nats keeps the registry, API keys and artifacts in local
// files. Started with --nats, it copies them to the cluster once, so going from one machine to a
// cluster needs no redeploy and no new keys. A cluster that already has state is never
// overwritten; the local file is renamed once copied, so it is not copied again.
import { existsSync } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { openFileBlobs } from "../backends/file-blobs/index.js";
import { openSqliteKv } from "../backends/sqlite-kv/index.js";
import type { BlobsPort } from "../ports/blobs.js";
import type { KvBucket, KvPort } from "../ports/kv.js";
import { ClusterNames } from "../shared/cluster-names.js";

const decoder = new TextDecoder();

async function keysOf(bucket: KvBucket): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list(cursor === undefined ? {} : { cursor });
    keys.push(...page.keys.map((k) => k.key));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return keys;
}

/** Copies the local registry, keys and artifacts into the cluster's; what it did, in a line. */
export async function importLocalState(options: {
  dataDir: string;
  kv: KvPort;
  blobs: BlobsPort;
  names: ClusterNames;
}): Promise<string | undefined> {
  const file = join(options.dataDir, "registry.sqlite");
  if (!existsSync(file)) return undefined;
  const local = openSqliteKv(file);
  const localBlobs = openFileBlobs(join(options.dataDir, "blobs"));
  try {
    const registry = await options.kv.bucket(options.names.bucket("registry"));
    if ((await registry.list({ limit: 1 })).keys.length > 0) {
      return `${file} was not imported: cluster "${options.names.cluster}" already has functions (remove the file to silence this)`;
    }
    let entries = 0;
    let artifacts = 0;
    for (const kind of ["registry", "keys"] as const) {
      // named as this cluster names it, or (the usual case) as the default cluster did
      let from = await local.bucket(options.names.bucket(kind));
      if ((await from.list({ limit: 1 })).keys.length === 0)
        from = await local.bucket(new ClusterNames().bucket(kind));
      const to =
        kind === "registry" ? registry : await options.kv.bucket(options.names.bucket(kind));
      // versions before the records naming them live, as a process following the bucket needs
      const keys = (await keysOf(from)).sort(
        (a, b) => Number(b.startsWith("ver/")) - Number(a.startsWith("ver/")),
      );
      for (const key of keys) {
        const entry = await from.get(key);
        if (entry === undefined) continue;
        if (kind === "registry" && key.startsWith("ver/")) {
          // the version's artifact first: a process that sees the version must find its code
          const { artifact } = JSON.parse(decoder.decode(entry.value)) as { artifact: string };
          const bytes = await localBlobs.get(artifact);
          if (bytes !== undefined) {
            await options.blobs.put(bytes);
            artifacts++;
          }
        }
        await to.put(key, entry.value);
        entries++;
      }
    }
    await local.close();
    await rename(file, `${file}.imported`);
    return `imported ${entries} registry and key entries and ${artifacts} artifacts from ${file} into cluster "${options.names.cluster}" (the file is now ${file}.imported)`;
  } finally {
    await local.close().catch(() => undefined);
    await localBlobs.close();
  }
}
