// The kv port's conformance suite on NATS JetStream KV, plus what only this backend has to get
// right: the key encoding, expiry by the sweeper, values bigger than one NATS message, sharing a
// connection, and surviving a server restart. Needs NATS with JetStream (test/kit/services.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeKey, encodeKey, MAX_ENCODED_KEY } from "../../src/backends/nats-kv/keys.js";
import { natsKv, openNatsKv, type NatsKvPort } from "../../src/backends/nats-kv/index.js";
import { connectNats } from "../../src/backends/nats/connection.js";
import { KvConflictError, type KvChange } from "../../src/ports/kv.js";
import { LitefaasError } from "../../src/shared/errors.js";
import { OwnServer, ownServerCheck } from "../kit/nats-server.js";
import { describeWith, natsService } from "../kit/services.js";
import { codePointOrder, kvConformance } from "../ports/kv-conformance.js";
import { eventually } from "../kit/eventually.js";

const nats = await natsService();
const run = randomBytes(4).toString("hex");
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

if (nats.skip === false) {
  const url = nats.url;
  kvConformance("nats", async () => ({
    port: await openNatsKv({ servers: url, name: "litefaas-test-kv" }),
    cleanup: () => Promise.resolve(),
  }));
} else {
  describeWith(nats, "kv port conformance: nats", () => undefined);
}

// Pure: no server needed.
void describe("nats kv key encoding", () => {
  const nasty = [
    "a",
    "A",
    "=41",
    "=",
    "==",
    "chunks",
    "chunks.x.0",
    "a.b",
    ".",
    "..",
    ".hidden",
    "trailing.",
    "*",
    ">",
    "a*b>c",
    "../etc/passwd",
    " ",
    "with space",
    "tab\there",
    "new\nline",
    "nul\u0000inside",
    "100%",
    "a_b-c/d",
    "ключ/🙂",
    "日本/東京",
    "\uFF41",
    "🙂",
    "\u{10FFFF}",
    "\uFFFF",
    "é",
    "e\u0301", // e + combining accent: two code points, two tokens
    "$KV.other.key",
    "x".repeat(1400),
  ];

  void it("round-trips every key and yields a valid NATS KV key", () => {
    const natsKey = /^[-/_=.a-zA-Z0-9]+$/;
    for (const key of nasty) {
      const encoded = encodeKey(key);
      assert.match(encoded, natsKey, JSON.stringify(key));
      assert.ok(!encoded.startsWith(".") && !encoded.endsWith("."), JSON.stringify(key));
      assert.ok(!encoded.includes(".."), `empty token in ${encoded}`);
      assert.equal(decodeKey(encoded), key, JSON.stringify(key));
    }
    assert.equal(new Set(nasty.map(encodeKey)).size, nasty.length, "distinct keys stay distinct");
  });

  void it("maps every prefix that ends on a character to a token prefix of the key", () => {
    for (const key of nasty) {
      const chars = Array.from(key); // code points: a prefix ends on a character
      for (let n = 1; n < chars.length && n < 50; n++) {
        const prefix = encodeKey(chars.slice(0, n).join(""));
        assert.ok(encodeKey(key).startsWith(`${prefix}.`), `${JSON.stringify(key)} / ${n}`);
      }
    }
  });

  void it("decodes only canonical encodings, so foreign and internal subjects are not keys", () => {
    for (const raw of [
      "=41",
      "chunks",
      "ab",
      "a.bc",
      "=C3",
      "=C3=A9=41",
      "=ED=A0=80",
      "=2x",
      "=c3=a9",
    ]) {
      assert.equal(decodeKey(raw), undefined, raw);
    }
    assert.equal(decodeKey("=C3=A9"), "é");
  });

  void it("rejects empty keys, lone surrogates and keys too long for a NATS subject", () => {
    for (const bad of ["", "\uD83D", "a\uDE42b", "\uDE42\uD83D", "=".repeat(800)]) {
      assert.throws(() => encodeKey(bad), LitefaasError, JSON.stringify(bad).slice(0, 40));
    }
    // every key of up to 512 UTF-8 bytes fits, even the worst (all escaped, one byte each)
    assert.ok(encodeKey("\u0001".repeat(512)).length <= MAX_ENCODED_KEY);
    assert.ok(encodeKey("🙂".repeat(128)).length <= MAX_ENCODED_KEY);
  });
});

describeWith(nats, "nats kv backend", () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let port: NatsKvPort;
  let counter = 0;
  const buckets = new Set<string>();
  const newName = (label: string): string => {
    const name = `nkv${run}_${++counter}_${label}`;
    buckets.add(name);
    return name;
  };
  /** Subjects under the bucket's chunk namespace that still hold a message. */
  const chunkSubjects = async (bucket: string): Promise<string[]> => {
    const info = await jsm.streams.info(`KV_${bucket}`, {
      subjects_filter: `$KV.${bucket}.chunks.>`,
    });
    return Object.keys(info.state.subjects ?? {});
  };

  before(async () => {
    nc = await connectNats({ servers: nats.url, name: "litefaas-test-kv-backend" });
    jsm = await jetstreamManager(nc);
    // sweeps run when a test asks; chunks of replaced values are garbage at once
    port = natsKv(nc, { sweepIntervalMs: 0, chunkGraceMs: 0 });
  });
  after(async () => {
    for (const name of buckets) await port.deleteBucket(name);
    await port.close();
    await nc.close();
  });

  void it("stores nasty keys faithfully and lists them in code point order", async () => {
    const bucket = await port.bucket(newName("nasty"));
    const keys = [
      "A",
      "=41",
      "a.b",
      "a/b",
      "ab",
      "chunks",
      "chunks.x.0",
      ".",
      "..",
      "日本",
      "🙂",
      "\uFF41",
      "a b",
    ];
    for (const key of keys) await bucket.put(key, text(`<${key}>`));
    for (const key of keys) assert.equal(decode((await bucket.get(key))?.value), `<${key}>`, key);
    const listed = (await bucket.list()).keys.map((k) => k.key);
    assert.deepEqual(listed, [...keys].sort(codePointOrder));
    assert.deepEqual(
      (await bucket.list({ prefix: "chunks" })).keys.map((k) => k.key),
      ["chunks", "chunks.x.0"],
    );
    await assert.rejects(bucket.put("", text("x")), LitefaasError);
    await assert.rejects(bucket.get(""), LitefaasError);
    await assert.rejects(bucket.delete(""), LitefaasError);
    await assert.rejects(bucket.put("\uD83D", text("x")), /lone UTF-16 surrogate/);
    assert.throws(() => bucket.watch({ prefix: "\uDE42" }, () => undefined), LitefaasError);
  });

  void it("ignores keys written by other NATS clients that are not in its encoding", async () => {
    const name = newName("foreign");
    const bucket = await port.bucket(name);
    await bucket.put("hello", text("mine"));
    const js = (await import("@nats-io/jetstream")).jetstream(nc);
    await js.publish(`$KV.${name}.hello`, text("theirs")); // a one-token key: not an encoding
    assert.equal(decode((await bucket.get("hello"))?.value), "mine");
    assert.deepEqual(
      (await bucket.list()).keys.map((k) => k.key),
      ["hello"],
    );
  });

  void it("stores values bigger than one NATS message in chunks, whole or not at all", async () => {
    const name = newName("big");
    const bucket = await port.bucket(name);
    const big = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
    const seen: KvChange[] = [];
    const stop = bucket.watch({ prefix: "big" }, (c) => seen.push(c));
    try {
      const r1 = await bucket.put("big", big);
      const entry = await bucket.get("big");
      assert.equal(entry?.revision, r1);
      assert.ok(Buffer.from(entry.value).equals(Buffer.from(big)), "3 MiB round trip");
      assert.equal((await chunkSubjects(name)).length, 4);
      assert.deepEqual(
        (await bucket.list()).keys.map((k) => [k.key, k.revision]),
        [["big", r1]],
      );

      // a refused compare-and-set leaves no chunks behind
      await assert.rejects(bucket.put("big", big, { ifRevision: r1 + 1000 }), KvConflictError);
      assert.equal((await chunkSubjects(name)).length, 4);

      // replacing it with a small value orphans its chunks; the sweeper removes them
      const r2 = await bucket.put("big", text("small now"), { ifRevision: r1 });
      assert.deepEqual(await port.sweep(), { expired: 0, orphanChunkSets: 1 });
      assert.deepEqual(await chunkSubjects(name), []);
      assert.equal(decode((await bucket.get("big"))?.value), "small now");

      await eventually("the watcher to see both puts", () => seen.length === 2);
      assert.equal(
        seen[0]?.op === "put" && Buffer.from(seen[0].entry.value).equals(Buffer.from(big)),
        true,
      );
      assert.equal(seen[1]?.op === "put" && seen[1].entry.revision, r2);
    } finally {
      stop();
    }
  });

  void it("keeps the chunks of live values when sweeping", async () => {
    const name = newName("keep");
    const bucket = await port.bucket(name);
    const value = new Uint8Array(randomBytes(2 * 1024 * 1024));
    await bucket.put("stays", value);
    await bucket.put("goes", value);
    assert.equal(await bucket.delete("goes"), true);
    const report = await port.sweep();
    assert.ok(report.orphanChunkSets >= 1);
    assert.equal((await chunkSubjects(name)).length, 3);
    assert.ok(Buffer.from((await bucket.get("stays"))?.value ?? []).equals(Buffer.from(value)));
  });

  void it("the sweeper deletes expired entries with compare-and-set, and watchers see it", async () => {
    const name = newName("sweep");
    const bucket = await port.bucket(name);
    await bucket.put("lasting", text("x"));
    const expiresAt = Date.now() + 1;
    await bucket.put("short", text("y"), { ttlMs: 1 });
    await eventually("the entry to expire", () => Date.now() > expiresAt + 1);
    const seen: KvChange[] = [];
    const stop = bucket.watch({}, (c) => seen.push(c));
    try {
      // still in the stream, but absent to every read
      assert.equal(await bucket.get("short"), undefined);
      const raw = await jsm.direct.getMessage(`KV_${name}`, {
        last_by_subj: `$KV.${name}.${encodeKey("short")}`,
      });
      assert.ok(raw !== null && raw.header.get("KV-Operation") === "");
      await bucket.put("forever", text("z")); // wait for the watch to be set up
      const report = await port.sweep();
      assert.ok(report.expired >= 1, `swept ${report.expired}`);
      const marker = await jsm.direct.getMessage(`KV_${name}`, {
        last_by_subj: `$KV.${name}.${encodeKey("short")}`,
      });
      assert.equal(marker?.header.get("KV-Operation"), "DEL");
      await eventually("the watcher to see the expiry", () =>
        seen.some((c) => c.op === "delete" && c.key === "short"),
      );
      assert.deepEqual(
        (await bucket.list()).keys.map((k) => k.key),
        ["forever", "lasting"],
      );
      // the key is free again
      await bucket.put("short", text("again"), { ifRevision: 0 });
    } finally {
      stop();
    }
  });

  void it("sweeps in the background while the port is open", async () => {
    const own = natsKv(nc, { sweepIntervalMs: 10 });
    const name = newName("background");
    try {
      const bucket = await own.bucket(name);
      await bucket.put("soon", text("gone"), { ttlMs: 1 });
      const subject = `$KV.${name}.${encodeKey("soon")}`;
      await eventually("a background sweep to delete the expired entry", async () => {
        const m = await jsm.direct.getMessage(`KV_${name}`, { last_by_subj: subject });
        return m?.header.get("KV-Operation") === "DEL";
      });
    } finally {
      await own.close();
    }
  });

  void it("shares one connection: closing the port leaves the connection open", async () => {
    const first = natsKv(nc);
    const name = newName("shared");
    const bucket = await first.bucket(name);
    await bucket.put("k", text("v"));
    await first.close();
    assert.equal(nc.isClosed(), false);
    await assert.rejects(first.bucket(name), /closed/);
    const second = natsKv(nc);
    assert.equal(decode((await (await second.bucket(name)).get("k"))?.value), "v");
    await second.close();
  });
});

describeWith(
  ownServerCheck(nats, "the NATS restart test"),
  "nats kv backend across a server restart",
  () => {
    let server: OwnServer;

    before(async () => {
      server = await OwnServer.start();
    });
    after(() => server.remove());

    void it("reconnects: reads, writes and watches work again once the server is back", async () => {
      const port = await openNatsKv({
        servers: server.url,
        sweepIntervalMs: 0,
      });
      try {
        const bucket = await port.bucket("restart");
        const r1 = await bucket.put("before", text("1"));
        const seen: KvChange[] = [];
        const stop = bucket.watch({}, (c) => seen.push(c));
        try {
          await bucket.put("watched-before", text("2"));
          await eventually("the watcher to see the first put", () => seen.length === 1);

          await server.stop();
          await server.start();

          // writes made while the client reconnects may time out; the first one that succeeds counts
          await eventually("a put to succeed after the restart", async () =>
            bucket.put("after", text("3")).then(
              () => true,
              () => false,
            ),
          );
          assert.equal((await bucket.get("before"))?.revision, r1);
          assert.equal(decode((await bucket.get("after"))?.value), "3");
          await eventually("the watcher to see a put made after the restart", () =>
            seen.some((c) => c.op === "put" && c.entry.key === "after"),
          );
          const revisions = seen.map((c) => (c.op === "put" ? c.entry.revision : c.revision));
          assert.deepEqual(
            revisions,
            [...revisions].sort((a, b) => a - b),
            "in revision order",
          );
        } finally {
          stop();
        }
      } finally {
        await port.close();
      }
    });
  },
);
