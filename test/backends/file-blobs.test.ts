// The blobs port on local files: content-addressed, atomic writes, keys that cannot escape the directory.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { openFileBlobs } from "../../src/backends/file-blobs/index.js";
import type { BlobsPort } from "../../src/ports/blobs.js";

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Every file (not directory) under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

void describe("file blobs backend", () => {
  let root: string;
  let dir: string;
  let blobs: BlobsPort;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "litefaas-file-blobs-"));
    dir = join(root, "blobs");
    blobs = openFileBlobs(dir);
  });
  afterEach(async () => {
    await blobs.close();
    await rm(root, { recursive: true, force: true });
  });

  void it("put returns the SHA-256 hex digest of the bytes, and get returns the bytes", async () => {
    const values = [
      new TextEncoder().encode("hello, blobs"),
      new Uint8Array(0),
      new Uint8Array(randomBytes(3 * 1024 * 1024)),
    ];
    for (const bytes of values) {
      const key = await blobs.put(bytes);
      assert.equal(key, sha256(bytes));
      assert.match(key, /^[0-9a-f]{64}$/);
      const back = await blobs.get(key);
      assert.ok(back instanceof Uint8Array);
      assert.ok(
        Buffer.from(back).equals(Buffer.from(bytes)),
        `round trip of ${bytes.byteLength} bytes`,
      );
    }
    assert.equal(
      await blobs.put(new Uint8Array(0)),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  void it("stores only the bytes of a view, not its whole buffer", async () => {
    const whole = new TextEncoder().encode("0123456789");
    const view = whole.subarray(3, 6);
    const key = await blobs.put(view);
    assert.equal(key, sha256(new TextEncoder().encode("345")));
    assert.equal(new TextDecoder().decode(await blobs.get(key)), "345");
  });

  void it("put is idempotent: the same bytes give the same key and one file", async () => {
    const bytes = new TextEncoder().encode("same every time");
    const keys = [
      await blobs.put(bytes),
      await blobs.put(bytes),
      ...(await Promise.all([blobs.put(bytes), blobs.put(bytes), blobs.put(bytes)])),
    ];
    assert.deepEqual(new Set(keys), new Set([sha256(bytes)]));
    assert.deepEqual(await filesUnder(dir), [join(sha256(bytes).slice(0, 2), sha256(bytes))]);
    assert.equal(new TextDecoder().decode(await blobs.get(sha256(bytes))), "same every time");
  });

  void it("get of a valid key that was never stored is undefined", async () => {
    assert.equal(await blobs.get(sha256(new TextEncoder().encode("never stored"))), undefined);
    await blobs.put(new TextEncoder().encode("something"));
    assert.equal(await blobs.get("0".repeat(64)), undefined);
  });

  void it("delete removes a blob, leaves others, and is a no-op for a missing key", async () => {
    const a = await blobs.put(new TextEncoder().encode("a"));
    const b = await blobs.put(new TextEncoder().encode("b"));
    await blobs.delete(a);
    assert.equal(await blobs.get(a), undefined);
    assert.equal(new TextDecoder().decode(await blobs.get(b)), "b");
    await blobs.delete(a);
    await blobs.delete("f".repeat(64));
    assert.deepEqual(await filesUnder(dir), [join(b.slice(0, 2), b)]);
  });

  void it("rejects keys that are not lowercase SHA-256 hex, without touching the file system", async () => {
    // a key that, unchecked, would resolve to <root>/canary.txt (outside the blobs directory)
    await writeFile(join(root, "canary.txt"), "still here");
    const escape = `../${basename(root)}/canary.txt`;
    const valid = sha256(new TextEncoder().encode("x"));
    const invalid = [
      escape,
      "../etc/passwd",
      valid.toUpperCase(),
      valid.slice(0, 63),
      `${valid}0`,
      "",
      `${valid.slice(0, 62)}/x`,
      `${valid.slice(0, 63)}g`,
    ];
    for (const key of invalid) {
      await assert.rejects(blobs.get(key), /invalid blob key/, `get(${JSON.stringify(key)})`);
      await assert.rejects(blobs.delete(key), /invalid blob key/, `delete(${JSON.stringify(key)})`);
    }
    assert.equal((await stat(join(root, "canary.txt"))).isFile(), true);
  });

  void it("leaves no temporary files behind, after many puts or a failed one", async () => {
    const values = Array.from({ length: 40 }, (_, i) => new TextEncoder().encode(`blob ${i % 20}`));
    const keys = await Promise.all(values.map((v) => blobs.put(v)));
    const distinct = [...new Set(keys)].sort();
    assert.equal(distinct.length, 20);
    assert.deepEqual(await filesUnder(dir), distinct.map((k) => join(k.slice(0, 2), k)).sort());

    // make the final rename fail: a directory sits where the blob's file should go
    const doomed = new TextEncoder().encode("cannot be stored");
    const key = sha256(doomed);
    await mkdir(join(dir, key.slice(0, 2), key), { recursive: true });
    await writeFile(join(dir, key.slice(0, 2), key, "occupant"), "x");
    await assert.rejects(blobs.put(doomed));
    const leftovers = (await filesUnder(dir)).filter((f) => f.endsWith(".tmp"));
    assert.deepEqual(leftovers, []);
  });
});
