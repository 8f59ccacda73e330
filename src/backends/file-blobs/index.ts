// blobs port on the local file system: <dir>/<first two hex digits>/<sha256>.
// Writes go to a temporary file and are renamed into place, so a crash never leaves half a blob.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BLOB_KEY, type BlobsPort } from "../../ports/blobs.js";

export function openFileBlobs(dir: string): BlobsPort {
  const pathOf = (key: string) => join(dir, key.slice(0, 2), key);
  const checkKey = (key: string) => {
    if (!BLOB_KEY.test(key))
      throw new Error(`invalid blob key "${key}": expected a SHA-256 hex digest`);
  };
  return {
    async put(bytes) {
      const key = createHash("sha256").update(bytes).digest("hex");
      const target = pathOf(key);
      await mkdir(join(dir, key.slice(0, 2)), { recursive: true });
      const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await writeFile(temp, bytes, { flush: true });
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      return key;
    },
    async get(key) {
      checkKey(key);
      try {
        return new Uint8Array(await readFile(pathOf(key)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    async delete(key) {
      checkKey(key);
      await rm(pathOf(key), { force: true });
    },
    close: () => Promise.resolve(),
  };
}
