// The kv port's one conformance suite, written once and run against every backend
// (test/backends/*-kv.test.ts). It pins what callers may rely on whatever the backend:
// - values are bytes, copied in and out (0 bytes and 1 MiB included);
// - revisions are positive integers that increase on every write to a bucket;
// - ifRevision is compare-and-set, 0 meaning "only if absent"; conflicts are KvConflictError;
// - expired entries are absent from get and list;
// - list is in lexicographic order of Unicode code points (= UTF-8 byte order, as SQLite's
//   BINARY collation, PostgreSQL's "C" collation and NATS subjects compare), pages with an
//   opaque cursor, and treats no character of a key or prefix as special;
// - buckets are isolated; watch delivers changes after the call, in revision order, until stopped.
// Every test works in buckets of its own with fresh names, so a backend that keeps state
// between runs (a NATS server) needs no reset.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { KvConflictError, type KvBucket, type KvChange, type KvPort } from "../../src/ports/kv.js";
import { eventually } from "../kit/eventually.js";

export interface KvUnderTest {
  port: KvPort;
  /** Called after the suite deleted its buckets and closed the port: remove files, stop servers. */
  cleanup(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (s: string): Uint8Array => encoder.encode(s);
const decode = (bytes: Uint8Array): string => decoder.decode(bytes);

/** Order of Unicode code points, which is the order of the keys' UTF-8 bytes. */
export function codePointOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what}: expected a Uint8Array, got ${String(actual)}`);
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`);
  assert.ok(asBuffer(actual).equals(asBuffer(expected)), `${what}: bytes differ`);
}

async function assertConflict(
  promise: Promise<unknown>,
  expected: { key: string; expected: number; actual: number },
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof KvConflictError, `expected a KvConflictError, got ${String(error)}`);
    assert.deepEqual({ key: error.key, expected: error.expected, actual: error.actual }, expected);
    return true;
  });
}

/** Polls until `probe` returns true; fails (rather than hangs) if that never happens. */

/** Follows cursors to the end; returns every key seen, in the order seen, and the page sizes. */
async function listAll(
  bucket: KvBucket,
  options: { prefix?: string; limit?: number },
): Promise<{ keys: string[]; pages: number[] }> {
  const keys: string[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  for (;;) {
    assert.ok(pages.length < 100_000, "pagination never ends");
    const page = await bucket.list(cursor === undefined ? options : { ...options, cursor });
    if (options.limit !== undefined) {
      assert.ok(
        page.keys.length <= options.limit,
        `a page of ${page.keys.length} keys exceeds limit ${options.limit}`,
      );
    }
    pages.push(page.keys.length);
    keys.push(...page.keys.map((k) => k.key));
    if (page.cursor === undefined) return { keys, pages };
    assert.equal(typeof page.cursor, "string");
    cursor = page.cursor;
  }
}

async function listKeys(bucket: KvBucket, prefix?: string): Promise<string[]> {
  return (await listAll(bucket, prefix === undefined ? {} : { prefix })).keys;
}

function summary(change: KvChange): string {
  return change.op === "put"
    ? `put ${change.entry.key}=${decode(change.entry.value)}`
    : `delete ${change.key}`;
}

function keyOf(change: KvChange): string {
  return change.op === "put" ? change.entry.key : change.key;
}

function revisionOf(change: KvChange): number {
  return change.op === "put" ? change.entry.revision : change.revision;
}

function assertIncreasing(revisions: number[], what: string): void {
  for (const r of revisions)
    assert.ok(Number.isSafeInteger(r) && r > 0, `${what}: ${r} is not a positive integer`);
  for (let i = 1; i < revisions.length; i++) {
    assert.ok(
      (revisions[i] ?? 0) > (revisions[i - 1] ?? 0),
      `${what}: not increasing: ${revisions.join(", ")}`,
    );
  }
}

export function kvConformance(backend: string, open: () => Promise<KvUnderTest>): void {
  void describe(`kv port conformance: ${backend}`, () => {
    const run = randomBytes(4).toString("hex");
    const created = new Set<string>();
    let subject: KvUnderTest | undefined;
    let counter = 0;

    const port = (): KvPort => {
      if (subject === undefined) throw new Error("the backend under test is not open");
      return subject.port;
    };
    const newName = (label: string): string => `t${run}_${++counter}_${label}`;
    const fresh = async (label: string): Promise<KvBucket> => {
      const name = newName(label);
      const bucket = await port().bucket(name);
      created.add(name);
      assert.equal(bucket.name, name);
      return bucket;
    };

    before(async () => {
      subject = await open();
    });
    after(async () => {
      if (subject === undefined) return;
      for (const name of created) await subject.port.deleteBucket(name);
      await subject.port.close();
      await subject.cleanup();
    });

    void it("get of a missing key is undefined, in an empty bucket and beside other keys", async () => {
      const bucket = await fresh("missing");
      assert.equal(await bucket.get("nope"), undefined);
      await bucket.put("present", text("here"));
      assert.equal(await bucket.get("nope"), undefined);
      assert.equal(await bucket.get("presen"), undefined, "a prefix of a key is not the key");
      assert.equal(await bucket.get("present/child"), undefined);
    });

    void it("round-trips binary values byte for byte, including empty and 1 MiB values", async () => {
      const bucket = await fresh("binary");
      const big = new Uint8Array(randomBytes(1024 * 1024));
      const values: Array<[string, Uint8Array]> = [
        ["every-byte", Uint8Array.from({ length: 256 }, (_, i) => i)],
        ["empty", new Uint8Array(0)],
        ["one-mib", big],
        ["a-view", big.subarray(1000, 1100)],
        ["nul-inside", text("a\u0000b\u0000")],
      ];
      const revisions = new Map<string, number>();
      for (const [key, value] of values) revisions.set(key, await bucket.put(key, value));
      for (const [key, value] of values) {
        const entry = await bucket.get(key);
        assert.ok(entry !== undefined, `${key} is missing`);
        assert.equal(entry.key, key);
        assert.equal(entry.revision, revisions.get(key));
        assert.equal(entry.expiresAt, undefined);
        assertBytes(entry.value, value, key);
      }
    });

    void it("copies values in and out: mutating the caller's bytes changes nothing stored", async () => {
      const bucket = await fresh("copies");
      const source = Uint8Array.of(1, 2, 3);
      await bucket.put("k", source);
      source[0] = 9;
      const first = await bucket.get("k");
      assertBytes(first?.value, Uint8Array.of(1, 2, 3), "after mutating the put's source");
      first?.value.fill(7);
      assertBytes(
        (await bucket.get("k"))?.value,
        Uint8Array.of(1, 2, 3),
        "after mutating a get's result",
      );
    });

    void it("gives every write a new, larger revision, and different keys different revisions", async () => {
      const bucket = await fresh("revisions");
      const r1 = await bucket.put("a", text("1"));
      const r2 = await bucket.put("b", text("1"));
      const r3 = await bucket.put("a", text("2"));
      assert.equal(await bucket.delete("b"), true);
      const r4 = await bucket.put("b", text("2"));
      const r5 = await bucket.put("a", text("2")); // the same value again is still a write
      assertIncreasing([r1, r2, r3, r4, r5], "revisions of successive writes");
      assert.equal((await bucket.get("a"))?.revision, r5);
      assert.equal((await bucket.get("b"))?.revision, r4);
      const page = await bucket.list();
      assert.deepEqual(
        page.keys.map((k) => [k.key, k.revision]),
        [
          ["a", r5],
          ["b", r4],
        ],
      );
    });

    void it("put with ifRevision succeeds on the current revision and rejects any other", async () => {
      const bucket = await fresh("cas");
      const r1 = await bucket.put("k", text("one"));
      const r2 = await bucket.put("k", text("two"), { ifRevision: r1 });
      assert.ok(r2 > r1);
      await assertConflict(bucket.put("k", text("stale"), { ifRevision: r1 }), {
        key: "k",
        expected: r1,
        actual: r2,
      });
      await assertConflict(bucket.put("k", text("future"), { ifRevision: r2 + 1000 }), {
        key: "k",
        expected: r2 + 1000,
        actual: r2,
      });
      const entry = await bucket.get("k");
      assert.equal(entry?.revision, r2, "a rejected put must not write");
      assertBytes(entry?.value, text("two"), "value after rejected puts");
      await assertConflict(bucket.put("absent", text("x"), { ifRevision: r2 }), {
        key: "absent",
        expected: r2,
        actual: 0,
      });
      assert.equal(await bucket.get("absent"), undefined);
    });

    void it("ifRevision 0 writes only if the key is absent (again after a delete)", async () => {
      const bucket = await fresh("cas-zero");
      const created1 = await bucket.put("k", text("first"), { ifRevision: 0 });
      await assertConflict(bucket.put("k", text("second"), { ifRevision: 0 }), {
        key: "k",
        expected: 0,
        actual: created1,
      });
      assertBytes((await bucket.get("k"))?.value, text("first"), "value after a refused create");
      assert.equal(await bucket.delete("k"), true);
      const created2 = await bucket.put("k", text("again"), { ifRevision: 0 });
      assert.ok(created2 > created1);
      assertBytes((await bucket.get("k"))?.value, text("again"), "value after re-create");
    });

    void it("50 concurrent compare-and-set increment loops over one key end at exactly 50", async () => {
      const bucket = await fresh("counter");
      const increment = async (): Promise<number> => {
        for (;;) {
          const current = await bucket.get("n");
          const next = (current === undefined ? 0 : Number(decode(current.value))) + 1;
          try {
            await bucket.put("n", text(String(next)), { ifRevision: current?.revision ?? 0 });
            return next;
          } catch (error) {
            if (!(error instanceof KvConflictError)) throw error;
          }
        }
      };
      const written = await Promise.all(Array.from({ length: 50 }, increment));
      assert.equal(decode((await bucket.get("n"))?.value ?? text("missing")), "50");
      // every loop won exactly one distinct step: no lost update, no double write
      assert.deepEqual(
        written.sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    void it("delete returns whether a live key was deleted, and honours ifRevision", async () => {
      const bucket = await fresh("delete");
      assert.equal(await bucket.delete("never"), false);
      const r1 = await bucket.put("k", text("v"));
      await bucket.put("other", text("stays"));
      assert.equal(await bucket.delete("k"), true);
      assert.equal(await bucket.get("k"), undefined);
      assert.equal(await bucket.delete("k"), false, "a second delete finds nothing");
      assert.deepEqual(await listKeys(bucket), ["other"]);

      const r2 = await bucket.put("k", text("back"));
      assert.ok(r2 > r1);
      await assertConflict(bucket.delete("k", { ifRevision: r1 }), {
        key: "k",
        expected: r1,
        actual: r2,
      });
      assertBytes((await bucket.get("k"))?.value, text("back"), "value after a refused delete");
      assert.equal(await bucket.delete("k", { ifRevision: r2 }), true);
      assert.equal(await bucket.get("k"), undefined);
      await assertConflict(bucket.delete("k", { ifRevision: r2 }), {
        key: "k",
        expected: r2,
        actual: 0,
      });
      assertBytes((await bucket.get("other"))?.value, text("stays"), "an unrelated key");
    });

    void it("an entry with a TTL disappears from get and list once expired; entries without stay", async () => {
      const bucket = await fresh("ttl");
      const hour = 3_600_000;
      const before = Date.now();
      await bucket.put("ttl/long", text("long"), { ttlMs: hour });
      const afterPut = Date.now();
      await bucket.put("ttl/forever", text("forever"));
      await bucket.put("ttl/short", text("short"), { ttlMs: 100 });

      // expiresAt is reported (with a second's slack for backends that keep whole seconds)
      const long = await bucket.get("ttl/long");
      assert.ok(long?.expiresAt !== undefined, "an entry with a TTL reports expiresAt");
      assert.ok(
        long.expiresAt >= before + hour - 1000 && long.expiresAt <= afterPut + hour + 1000,
        `expiresAt ${long.expiresAt}`,
      );
      assert.equal((await bucket.get("ttl/forever"))?.expiresAt, undefined);
      const listed = (await bucket.list({ prefix: "ttl/" })).keys;
      assert.equal(listed.find((k) => k.key === "ttl/long")?.expiresAt, long.expiresAt);
      assert.equal(listed.find((k) => k.key === "ttl/forever")?.expiresAt, undefined);

      await eventually(
        "ttl/short to expire",
        async () => (await bucket.get("ttl/short")) === undefined,
      );
      assert.deepEqual(await listKeys(bucket, "ttl/"), ["ttl/forever", "ttl/long"]);
      assert.deepEqual(await listKeys(bucket), ["ttl/forever", "ttl/long"]);
      assertBytes(
        (await bucket.get("ttl/forever"))?.value,
        text("forever"),
        "the entry without TTL",
      );
      assertBytes((await bucket.get("ttl/long"))?.value, text("long"), "the entry with a long TTL");
      // an expired key is absent for delete and compare-and-set too
      assert.equal(await bucket.delete("ttl/short"), false);
      const recreated = await bucket.put("ttl/short", text("new"), { ifRevision: 0 });
      assert.equal((await bucket.get("ttl/short"))?.revision, recreated);
    });

    void it("a put without ttlMs replaces an earlier TTL", async () => {
      const bucket = await fresh("ttl-cleared");
      await bucket.put("k", text("v1"), { ttlMs: 3_600_000 });
      assert.notEqual((await bucket.get("k"))?.expiresAt, undefined);
      await bucket.put("k", text("v2"));
      const entry = await bucket.get("k");
      assertBytes(entry?.value, text("v2"), "value");
      assert.equal(entry?.expiresAt, undefined);
      assert.equal((await bucket.list()).keys[0]?.expiresAt, undefined);
    });

    void it("lists by prefix in lexicographic order", async () => {
      const bucket = await fresh("order");
      const keys = ["b", "a/c", "ab", "a", "a/b/c", "a/b", "A", "a0", "a/", "b/a"];
      for (const key of keys) await bucket.put(key, text(key));
      assert.deepEqual(await listKeys(bucket), [...keys].sort(codePointOrder));
      assert.deepEqual(await listKeys(bucket, "a/"), ["a/", "a/b", "a/b/c", "a/c"]);
      assert.deepEqual(await listKeys(bucket, "a"), ["a", "a/", "a/b", "a/b/c", "a/c", "a0", "ab"]);
      assert.deepEqual(await listKeys(bucket, "a/b/c"), ["a/b/c"]);
      assert.deepEqual(await listKeys(bucket, "c"), []);
      assert.deepEqual(await listKeys(bucket, ""), [...keys].sort(codePointOrder));
      assert.deepEqual((await bucket.list({ prefix: "zzz" })).keys, []);
      assert.equal((await bucket.list({ prefix: "zzz" })).cursor, undefined);
    });

    void it("pages through 2,500 keys with limit and cursor, visiting every key exactly once", async () => {
      const bucket = await fresh("pages");
      const inside = Array.from(
        { length: 2500 },
        (_, i) => `p/${String((i * 7919) % 2500).padStart(4, "0")}`,
      );
      const outside = ["o", "p", "p0", "q/1"];
      const all = [...inside, ...outside];
      for (let i = 0; i < all.length; i += 100) {
        await Promise.all(all.slice(i, i + 100).map((key) => bucket.put(key, text(key))));
      }
      const expected = [...inside].sort(codePointOrder);
      assert.equal(new Set(expected).size, 2500);

      const big = await listAll(bucket, { prefix: "p/", limit: 1000 });
      assert.deepEqual(big.keys, expected, "prefix p/, pages of 1000");
      assert.ok(
        big.pages.length >= 3,
        `2,500 keys in pages of 1000 took ${big.pages.length} pages`,
      );

      const small = await listAll(bucket, { prefix: "p/", limit: 7 });
      assert.deepEqual(small.keys, expected, "prefix p/, pages of 7");
      assert.ok(small.pages.length >= Math.ceil(2500 / 7));

      assert.deepEqual(
        (await listAll(bucket, { prefix: "p/" })).keys,
        expected,
        "prefix p/, default page size",
      );
      assert.deepEqual(
        (await listAll(bucket, { limit: 1000 })).keys,
        [...all].sort(codePointOrder),
        "no prefix",
      );

      const first = await bucket.list({ prefix: "p/", limit: 3 });
      assert.deepEqual(
        first.keys.map((k) => k.key),
        expected.slice(0, 3),
      );
      assert.notEqual(first.cursor, undefined, "a page followed by more keys has a cursor");
    });

    void it("stores and lists unicode keys, ordered by code point", async () => {
      const bucket = await fresh("unicode");
      // U+FF41 sorts before U+1F642 by code point but after it by UTF-16 code unit
      const keys = [
        "ключ/🙂",
        "ключ/a",
        "日本",
        "日本/東京",
        "émoji",
        "\uFF41",
        "🙂",
        "z",
        "Ωmega",
      ];
      const revisions = new Map<string, number>();
      for (const key of keys) revisions.set(key, await bucket.put(key, text(`value of ${key}`)));
      for (const key of keys) {
        const entry = await bucket.get(key);
        assert.equal(entry?.key, key);
        assert.equal(entry.revision, revisions.get(key));
        assertBytes(entry.value, text(`value of ${key}`), key);
      }
      const sorted = [...keys].sort(codePointOrder);
      assert.ok(sorted.indexOf("\uFF41") < sorted.indexOf("🙂"));
      assert.deepEqual(await listKeys(bucket), sorted);
      assert.deepEqual(await listKeys(bucket, "ключ/"), ["ключ/a", "ключ/🙂"]);
      assert.deepEqual(await listKeys(bucket, "日本"), ["日本", "日本/東京"]);
      assert.deepEqual(await listKeys(bucket, "🙂"), ["🙂"]);
      assert.deepEqual((await listAll(bucket, { limit: 1 })).keys, sorted, "one key per page");
      assert.equal(await bucket.delete("ключ/🙂"), true);
      assert.deepEqual(await listKeys(bucket, "ключ/"), ["ключ/a"]);
    });

    void it("treats *, >, ../, spaces, dots, % and _ in keys and prefixes as plain characters", async () => {
      const bucket = await fresh("special");
      const keys = [
        "*",
        "a*b",
        ">",
        "x>y",
        "../etc/passwd",
        "..",
        "a/../b",
        "with space",
        " leading",
        "trailing ",
        "dot.ted",
        "100%",
        "1000",
        "a_b",
        "axb",
      ];
      for (const key of keys) await bucket.put(key, text(`[${key}]`));
      for (const key of keys)
        assertBytes((await bucket.get(key))?.value, text(`[${key}]`), JSON.stringify(key));
      assert.equal(await bucket.get("a"), undefined);
      assert.equal(await bucket.get("etc/passwd"), undefined);
      assert.equal(await bucket.get("a*"), undefined, "* is not a wildcard in get");
      assert.equal(await bucket.get("x>"), undefined, "> is not a wildcard in get");
      assert.deepEqual(await listKeys(bucket), [...keys].sort(codePointOrder));
      assert.deepEqual(await listKeys(bucket, "*"), ["*"]);
      assert.deepEqual(await listKeys(bucket, ">"), [">"]);
      assert.deepEqual(await listKeys(bucket, "a*"), ["a*b"]);
      assert.deepEqual(await listKeys(bucket, "../"), ["../etc/passwd"]);
      assert.deepEqual(await listKeys(bucket, ".."), ["..", "../etc/passwd"]);
      assert.deepEqual(await listKeys(bucket, " "), [" leading"]);
      assert.deepEqual(await listKeys(bucket, "100%"), ["100%"]);
      assert.deepEqual(await listKeys(bucket, "a_"), ["a_b"]);
      assert.deepEqual(await listKeys(bucket, "dot."), ["dot.ted"]);
      assert.equal(await bucket.delete("../etc/passwd"), true);
      assert.equal(await bucket.delete("a*b"), true);
      assertBytes((await bucket.get("*"))?.value, text("[*]"), "* after deleting a*b");
      assert.deepEqual(await listKeys(bucket, "*"), ["*"], "deleting a*b left * alone");
      assert.deepEqual(await listKeys(bucket, ".."), [".."]);
    });

    void it("keeps buckets isolated from each other", async () => {
      const one = await fresh("iso-one");
      const two = await fresh("iso-two");
      await one.put("shared", text("from one"));
      await two.put("shared", text("from two"));
      await one.put("only-one", text("x"));
      assertBytes((await one.get("shared"))?.value, text("from one"), "one/shared");
      assertBytes((await two.get("shared"))?.value, text("from two"), "two/shared");
      assert.equal(await two.get("only-one"), undefined);
      assert.deepEqual(await listKeys(one), ["only-one", "shared"]);
      assert.deepEqual(await listKeys(two), ["shared"]);
      assert.equal(await two.delete("only-one"), false);
      assert.equal(await one.delete("shared"), true);
      assertBytes(
        (await two.get("shared"))?.value,
        text("from two"),
        "two/shared after one's delete",
      );
      const twoRevision = (await two.get("shared"))?.revision ?? 0;
      await assertConflict(one.put("shared", text("y"), { ifRevision: twoRevision }), {
        key: "shared",
        expected: twoRevision,
        actual: 0,
      });

      const again = await port().bucket(one.name);
      assertBytes((await again.get("only-one"))?.value, text("x"), "the same bucket opened twice");
    });

    void it("deleteBucket removes the bucket's data and nothing else", async () => {
      const name = newName("drop");
      const doomed = await port().bucket(name);
      created.add(name);
      const keeper = await fresh("keep");
      for (let i = 0; i < 20; i++) await doomed.put(`k${i}`, text(String(i)));
      await keeper.put("k0", text("kept"));
      await port().deleteBucket(name);
      created.delete(name);

      const reopened = await port().bucket(name);
      created.add(name);
      assert.equal(await reopened.get("k0"), undefined);
      assert.deepEqual((await reopened.list()).keys, []);
      await reopened.put("k0", text("new life"), { ifRevision: 0 });
      assertBytes((await reopened.get("k0"))?.value, text("new life"), "a write after re-creating");
      assertBytes((await keeper.get("k0"))?.value, text("kept"), "another bucket's data");
    });

    void it("watch sees puts and deletes under its prefix, in revision order, until stopped", async () => {
      const bucket = await fresh("watch");
      await bucket.put("w/existing", text("before the watch"));
      const seen: KvChange[] = [];
      const witness: KvChange[] = [];
      const stop = bucket.watch({ prefix: "w/" }, (change) => seen.push(change));
      const stopWitness = bucket.watch({ prefix: "w/" }, (change) => witness.push(change));
      try {
        const r1 = await bucket.put("w/a", text("1"));
        await bucket.put("x/other", text("not watched"));
        await bucket.put("wx", text("not under w/"));
        const r2 = await bucket.put("w/b", text("2"));
        assert.equal(await bucket.delete("w/a"), true);
        assert.equal(await bucket.delete("x/other"), true);
        const r3 = await bucket.put("w/b", text("3"), { ifRevision: r2 });
        const r4 = await bucket.put("w/end", text("end"));

        await eventually("the watcher to see w/end", () => seen.some((c) => keyOf(c) === "w/end"));
        assert.deepEqual(seen.map(summary), [
          "put w/a=1",
          "put w/b=2",
          "delete w/a",
          "put w/b=3",
          "put w/end=end",
        ]);
        const revisions = seen.map(revisionOf);
        assertIncreasing(revisions, "watched revisions");
        assert.deepEqual(
          [revisions[0], revisions[1], revisions[3], revisions[4]],
          [r1, r2, r3, r4],
        );
        const deletedAt = revisions[2] ?? 0;
        assert.ok(
          deletedAt > r2 && deletedAt < r3,
          "the delete's revision lies between its neighbours'",
        );

        stop();
        await bucket.put("w/after-stop", text("late"));
        await bucket.put("w/after-stop-2", text("later"));
        await eventually("the other watcher to see w/after-stop-2", () =>
          witness.some((c) => keyOf(c) === "w/after-stop-2"),
        );
        await delay(50); // let anything in flight arrive; the assertion is on absence, not on time
        assert.equal(
          seen.length,
          5,
          `changes after stop: ${seen.slice(5).map(summary).join(", ")}`,
        );
        assert.deepEqual(witness.map(summary).slice(0, 5), seen.map(summary));
      } finally {
        stop();
        stopWitness();
      }
    });

    void it("watch without a prefix sees the whole bucket and nothing of another", async () => {
      const bucket = await fresh("watch-all");
      const other = await fresh("watch-other");
      const seen: KvChange[] = [];
      const stop = bucket.watch({}, (change) => seen.push(change));
      try {
        await other.put("k", text("elsewhere"));
        await bucket.put("a", text("1"));
        await bucket.put("z/deep", text("2"));
        await other.put("last", text("elsewhere"));
        await bucket.put("last", text("3"));
        await eventually("the watcher to see last", () => seen.some((c) => keyOf(c) === "last"));
        assert.deepEqual(seen.map(summary), ["put a=1", "put z/deep=2", "put last=3"]);
      } finally {
        stop();
      }
    });

    void it("delivers changes in revision order to every watcher, even when one writes from its callback", async () => {
      const bucket = await fresh("watch-writer");
      const replies: Array<Promise<number>> = [];
      const observed: KvChange[] = [];
      const stopWriter = bucket.watch({ prefix: "r/" }, (change) => {
        if (change.op === "put" && change.entry.key === "r/ping")
          replies.push(bucket.put("r/pong", text("pong")));
      });
      const stopObserver = bucket.watch({ prefix: "r/" }, (change) => observed.push(change));
      try {
        const ping = await bucket.put("r/ping", text("ping"));
        await eventually("the writing watcher to reply", () => replies.length === 1);
        const pong = await Promise.all(replies);
        await eventually("the observer to see r/pong", () =>
          observed.some((c) => keyOf(c) === "r/pong"),
        );
        assert.deepEqual(
          observed.map((c) => [keyOf(c), revisionOf(c)]),
          [
            ["r/ping", ping],
            ["r/pong", pong[0]],
          ],
        );
      } finally {
        stopWriter();
        stopObserver();
      }
    });

    void it("rejects invalid bucket names", async () => {
      const invalid = [
        "",
        "a/b",
        "a.b",
        "../up",
        "with space",
        "ключ",
        "a*",
        "a>",
        "tab\there",
        "x".repeat(201),
      ];
      for (const name of invalid) {
        await assert.rejects(
          port().bucket(name),
          Error,
          `bucket name ${JSON.stringify(name)} was accepted`,
        );
      }
      for (const name of [newName("Valid-Name_09"), `t${run}_${"x".repeat(190)}`]) {
        const bucket = await port().bucket(name);
        created.add(name);
        await bucket.put("k", text("ok"));
        assertBytes((await bucket.get("k"))?.value, text("ok"), name);
      }
    });
  });
}
