// The kv port's conformance suite on the SQLite backend, plus what only this backend promises:
// the data is in a file and survives closing and reopening it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openSqliteKv } from "../../src/backends/sqlite-kv/index.js";
import { kvConformance } from "../ports/kv-conformance.js";

kvConformance("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-sqlite-kv-"));
  return {
    port: openSqliteKv(join(dir, "kv.sqlite")),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

void describe("sqlite kv backend", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "litefaas-sqlite-kv-durable-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it("keeps data, revisions and TTLs across closing and reopening the file", async () => {
    const file = join(dir, "kv.sqlite");
    const binary = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);

    const first = openSqliteKv(file);
    const fns = await first.bucket("fns");
    const other = await first.bucket("other");
    const rBinary = await fns.put("bundle/echo", binary);
    const rTtl = await fns.put("lease", new TextEncoder().encode("held"), { ttlMs: 3_600_000 });
    await fns.put("gone", new TextEncoder().encode("x"));
    assert.equal(await fns.delete("gone"), true);
    const expiresAt = (await fns.get("lease"))?.expiresAt;
    const rOther = await other.put("k", new Uint8Array(0));
    await first.close();

    const second = openSqliteKv(file);
    try {
      const fns2 = await second.bucket("fns");
      const entry = await fns2.get("bundle/echo");
      assert.equal(entry?.revision, rBinary);
      assert.deepEqual(Array.from(entry.value), Array.from(binary));
      const lease = await fns2.get("lease");
      assert.equal(lease?.revision, rTtl);
      assert.equal(lease.expiresAt, expiresAt);
      assert.equal(await fns2.get("gone"), undefined, "a delete is durable too");
      assert.deepEqual(
        (await fns2.list()).keys.map((k) => k.key),
        ["bundle/echo", "lease"],
      );
      const emptyValue = await (await second.bucket("other")).get("k");
      assert.equal(emptyValue?.revision, rOther);
      assert.equal(emptyValue.value.byteLength, 0);

      // the revision counter survived: compare-and-set against a pre-close revision works,
      // and the next revision is larger than any written before the close
      const next = await fns2.put("bundle/echo", new Uint8Array([1]), { ifRevision: rBinary });
      assert.ok(next > rTtl, `revision ${next} after reopening is not above ${rTtl}`);
    } finally {
      await second.close();
    }
  });
});
