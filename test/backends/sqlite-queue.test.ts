// The queue port's conformance suite on the SQLite backend, plus what only this backend
// promises: the queue is in a file, and deliveries a closed (or crashed) run left unanswered
// are handed out again as soon as the file is opened again, whatever the ack wait.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { openSqliteQueue } from "../../src/backends/sqlite-queue/index.js";
import type { Delivery, QueueMessage } from "../../src/ports/queue.js";
import { queueConformance } from "../ports/queue-conformance.js";
import { eventually } from "../kit/eventually.js";

queueConformance("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-sqlite-queue-"));
  const file = join(dir, "queue.sqlite");
  return {
    port: openSqliteQueue(file),
    reopen: () => Promise.resolve(openSqliteQueue(file)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

void describe("sqlite queue backend", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "litefaas-sqlite-queue-durable-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it("keeps consumers, pending messages, retries and dead letters across close and reopen", async () => {
    const file = join(dir, "durable.sqlite");
    const first = openSqliteQueue(file);
    await first.ensureConsumer("c", { subjects: ["app.>"], ackWaitMs: 3_600_000 });
    const kept = await first.publish({ subject: "app.a", data: text("kept"), headers: { A: "1" } });
    await first.publish({ subject: "app.b", data: text("retried") });
    const seen: Delivery[] = [];
    const consumption = first.consume("c", { concurrency: 1 }, (d) => seen.push(d));
    await eventually("a delivery", () => seen.length === 1);
    await consumption.stop();
    const [d] = seen as [Delivery];
    assert.equal(d.id, kept.id);
    await d.deadLetter("poison");
    const other = first.consume("c", { concurrency: 1 }, (x) => seen.push(x));
    await eventually("the second", () => seen.length === 2);
    await other.stop();
    await (seen[1] as Delivery).retry(60_000);
    assert.equal(await first.pending("c"), 1);
    await first.close();

    const second = openSqliteQueue(file);
    try {
      assert.equal(await second.pending("c"), 1, "the retried message waits");
      const dead = await second.deadLetters.get("c", kept.id);
      assert.equal(dead?.reason, "poison");
      assert.deepEqual(dead.headers, { a: "1" });
      assert.equal(decode(dead.data), "kept");
      // the consumer is still there: a new publish reaches it
      const later = await second.publish({ subject: "app.c", data: text("later") });
      const got: Delivery[] = [];
      const c = second.consume("c", { concurrency: 1 }, (x) => {
        got.push(x);
        void x.ack();
      });
      await eventually("the later message", () => got.some((x) => x.id === later.id));
      await delay(100);
      assert.deepEqual(
        got.map((x) => x.id),
        [later.id],
        "the retry is not due for a minute",
      );
      await c.stop();
      assert.equal(await second.deadLetters.redrive("c"), 1);
      const again: Delivery[] = [];
      const c2 = second.consume("c", { concurrency: 1 }, (x) => {
        again.push(x);
        void x.ack();
      });
      await eventually("the redriven message", () => again.length === 1);
      assert.equal(again[0]?.id, kept.id);
      assert.equal(again[0].attempt, 1);
      assert.equal(again[0].publishedAt, kept.publishedAt);
      await c2.stop();
    } finally {
      await second.close();
    }
  });

  void it("redelivers at once, attempt 2, what a closed port left unanswered", async () => {
    const file = join(dir, "crash.sqlite");
    const first = openSqliteQueue(file);
    await first.ensureConsumer("w", { subjects: [], ackWaitMs: 3_600_000 });
    const sent: QueueMessage[] = [];
    for (const s of ["held", "queued"])
      sent.push(await first.send("w", { subject: "jobs.run", data: text(s) }));
    const held: Delivery[] = [];
    first.consume("w", { concurrency: 1 }, (d) => held.push(d));
    await eventually("a delivery", () => held.length === 1);
    await first.close(); // the delivery is never answered, as if the process died
    await assert.rejects((held[0] as Delivery).ack(), /closed/, "an answer after close is refused");

    const second = openSqliteQueue(file);
    try {
      assert.equal(await second.pending("w"), 2);
      const got: Delivery[] = [];
      const c = second.consume("w", { concurrency: 1 }, (d) => {
        got.push(d);
        void d.ack();
      });
      await eventually("both messages", () => got.length === 2);
      assert.deepEqual(
        got.map((d) => [decode(d.data), d.attempt]),
        [
          ["held", 2],
          ["queued", 1],
        ],
      );
      assert.equal(got[0]?.id, sent[0]?.id);
      await c.stop();
      assert.equal(await second.pending("w"), 0);
    } finally {
      await second.close();
    }
  });

  void it("a consumption stopped by its handler mid-batch puts back what it did not hand out", async () => {
    const port = openSqliteQueue(join(dir, "mid-batch.sqlite"));
    try {
      await port.ensureConsumer("b", { subjects: ["b.*"], ackWaitMs: 3_600_000 });
      for (let i = 0; i < 5; i++) await port.publish({ subject: "b.x", data: text(`b${i}`) });
      const first: Delivery[] = [];
      const stopped: Array<Promise<void>> = [];
      const c = port.consume("b", { concurrency: 5 }, (d) => {
        first.push(d);
        stopped.push(c.stop());
      });
      await eventually("the first delivery", () => first.length >= 1);
      await Promise.all(stopped);
      await delay(50);
      assert.equal(first.length, 1, "handed out after the handler stopped the consumption");
      await (first[0] as Delivery).ack();
      const rest: Delivery[] = [];
      const c2 = port.consume("b", { concurrency: 5 }, (d) => {
        rest.push(d);
        void d.ack();
      });
      await eventually("the other four, at once", () => rest.length === 4);
      assert.deepEqual(
        rest.map((d) => [decode(d.data), d.attempt]),
        [1, 2, 3, 4].map((i) => [`b${i}`, 1]),
      );
      await c2.stop();
    } finally {
      await port.close();
    }
  });

  void it("a delivery whose handler throws comes back after the ack wait, its slot freed", async () => {
    const port = openSqliteQueue(join(dir, "throws.sqlite"));
    const log = console.error;
    console.error = () => undefined;
    try {
      await port.ensureConsumer("t", { subjects: ["t.*"], ackWaitMs: 300 });
      const bad = await port.publish({ subject: "t.x", data: text("bad") });
      await port.publish({ subject: "t.x", data: text("good") });
      const seen: Array<[string, number, number]> = [];
      const start = Date.now();
      const c = port.consume("t", { concurrency: 1 }, (d) => {
        seen.push([decode(d.data), d.attempt, Date.now() - start]);
        if (d.id === bad.id && d.attempt === 1) throw new Error("handler bug");
        void d.ack();
      });
      await eventually("the retry", () => seen.length === 3);
      await c.stop();
      assert.deepEqual(
        seen.map(([data, attempt]) => [data, attempt]),
        [
          ["bad", 1],
          ["good", 1],
          ["bad", 2],
        ],
      );
      assert.ok((seen[2]?.[2] ?? 0) >= 300 - 10, "back before the ack wait");
    } finally {
      console.error = log;
      await port.close();
    }
  });

  void it("calls onPublish after a publish is stored, not for sends or duplicates", async () => {
    const file = join(dir, "on-publish.sqlite");
    const published: QueueMessage[] = [];
    const port = openSqliteQueue(file, { onPublish: (m) => published.push(m) });
    try {
      await port.ensureConsumer("c", { subjects: ["e.*"], ackWaitMs: 1000 });
      const m = await port.publish({ subject: "e.x", data: text("x"), id: "one" });
      assert.equal(await port.pending("c"), 1, "stored before onPublish's caller resolved");
      await port.publish({ subject: "e.x", data: text("x"), id: "one" });
      await port.send("c", { subject: "e.y", data: text("y") });
      await port.publish({ subject: "nobody.listens", data: text("z") });
      assert.deepEqual(
        published.map((p) => [p.id, p.subject]),
        [
          [m.id, "e.x"],
          [published[1]?.id, "nobody.listens"],
        ],
      );
    } finally {
      await port.close();
    }
  });
});
