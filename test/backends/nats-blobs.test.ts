// The blobs port on the NATS JetStream Object Store: content-addressed, idempotent puts that never
// replace a stored object, reads that end (rather than hang) when a blob is deleted under them.
// Needs NATS with JetStream (test/kit/services.ts).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, it } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { Objm, type ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { natsBlobs, openNatsBlobs } from "../../src/backends/nats-blobs/index.js";
import { connectNats } from "../../src/backends/nats/connection.js";
import type { BlobsPort } from "../../src/ports/blobs.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const same = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined && Buffer.from(a).equals(Buffer.from(b));

describeWith(nats, "nats blobs backend", () => {
  const bucket = `litefaas_test_blobs_${randomBytes(4).toString("hex")}`;
  let nc: NatsConnection;
  let blobs: BlobsPort;
  let raw: ObjectStore;

  before(async () => {
    nc = await connectNats({ servers: nats.url, name: "litefaas-test-blobs" });
    blobs = natsBlobs(nc, { bucket });
    await blobs.put(new Uint8Array(0)); // creates the bucket
    raw = await new Objm(jetstream(nc)).open(bucket);
  });
  after(async () => {
    await blobs.close();
    await raw.destroy();
    await nc.close();
  });

  void it("put returns the SHA-256 hex digest of the bytes, and get returns the bytes", async () => {
    const values = [
      text("hello, blobs"),
      new Uint8Array(0),
      new Uint8Array(randomBytes(3 * 1024 * 1024 + 5)),
      Uint8Array.from({ length: 256 }, (_, i) => i),
    ];
    for (const bytes of values) {
      const key = await blobs.put(bytes);
      assert.equal(key, sha256(bytes));
      assert.ok(same(await blobs.get(key), bytes), `round trip of ${bytes.byteLength} bytes`);
    }
  });

  void it("stores only the bytes of a view, not its whole buffer", async () => {
    const view = text("0123456789").subarray(3, 6);
    const key = await blobs.put(view);
    assert.equal(key, sha256(text("345")));
    assert.equal(new TextDecoder().decode(await blobs.get(key)), "345");
  });

  void it("returns copies: mutating a get's result changes nothing stored", async () => {
    const key = await blobs.put(text("immutable"));
    const first = await blobs.get(key);
    first?.fill(0);
    assert.equal(new TextDecoder().decode(await blobs.get(key)), "immutable");
  });

  void it("put is idempotent: the same bytes give the same key and one stored object", async () => {
    const bytes = new Uint8Array(randomBytes(300 * 1024));
    const key = sha256(bytes);
    const keys = [
      await blobs.put(bytes),
      ...(await Promise.all([
        blobs.put(bytes),
        blobs.put(bytes),
        blobs.put(new Uint8Array(bytes)),
      ])),
    ];
    // another process (its own port on its own connection) racing with this one
    const other = await openNatsBlobs({ servers: nats.url, bucket });
    try {
      keys.push(...(await Promise.all([other.put(bytes), blobs.put(bytes)])));
    } finally {
      await other.close();
    }
    assert.deepEqual(new Set(keys), new Set([key]));
    const objects = (await raw.list()).filter((o) => o.name === key);
    assert.equal(objects.length, 1);
    assert.ok(same(await blobs.get(key), bytes));
    // the object was written once: its metadata is still at the first write's revision
    const revisionAfter = (await raw.info(key))?.revision;
    await blobs.put(bytes);
    assert.equal((await raw.info(key))?.revision, revisionAfter);
  });

  void it("get of a valid key that was never stored is undefined", async () => {
    assert.equal(await blobs.get(sha256(text("never stored"))), undefined);
    assert.equal(await blobs.get("0".repeat(64)), undefined);
  });

  void it("delete removes a blob, leaves others, is a no-op for a missing key, and allows a re-put", async () => {
    const a = await blobs.put(text("a"));
    const b = await blobs.put(text("b"));
    await blobs.delete(a);
    assert.equal(await blobs.get(a), undefined);
    assert.equal(new TextDecoder().decode(await blobs.get(b)), "b");
    await blobs.delete(a);
    await blobs.delete("f".repeat(64));
    assert.equal(await blobs.put(text("a")), a);
    assert.equal(new TextDecoder().decode(await blobs.get(a)), "a");
  });

  void it("a get racing a delete of the same blob ends with the bytes or undefined", async () => {
    const bytes = new Uint8Array(randomBytes(4 * 1024 * 1024));
    for (let round = 0; round < 5; round++) {
      const key = await blobs.put(bytes);
      const [got] = await Promise.all([blobs.get(key), blobs.delete(key)]);
      assert.ok(got === undefined || same(got, bytes), `round ${round}: wrong bytes`);
    }
  });

  void it("rejects keys that are not lowercase SHA-256 hex", async () => {
    const valid = sha256(text("x"));
    for (const key of [
      "../etc/passwd",
      valid.toUpperCase(),
      valid.slice(0, 63),
      `${valid}0`,
      "",
      `${valid.slice(0, 62)}.>`,
    ]) {
      await assert.rejects(blobs.get(key), /invalid blob key/, `get(${JSON.stringify(key)})`);
      await assert.rejects(blobs.delete(key), /invalid blob key/, `delete(${JSON.stringify(key)})`);
    }
  });

  void it("shares the connection: closing the port leaves it open", async () => {
    const port = natsBlobs(nc, { bucket });
    const key = await port.put(text("shared"));
    await port.close();
    assert.equal(nc.isClosed(), false);
    assert.equal(new TextDecoder().decode(await blobs.get(key)), "shared");
  });
});
