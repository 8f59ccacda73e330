// The queue port's conformance suite on NATS JetStream, plus what only this backend has to get
// right: external NATS publishers, subject checks, retired subjects, nak-on-stop, sharing the
// connection, and surviving a server restart. Needs NATS with JetStream (test/kit/services.ts).
//
// The suite publishes on litefaas.events.…, the default prefix, and two streams cannot capture
// the same subjects: so it runs on a nats-server of its own, where nothing else (the platform's
// queue, another run of this file) can hold them. The tests below use the shared server, with a
// prefix and streams of their own.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, it } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { openNatsQueue } from "../../src/backends/nats-queue/index.js";
import { connectNats } from "../../src/backends/nats/connection.js";
import type { Consumption, Delivery, QueuePort } from "../../src/ports/queue.js";
import { OwnServer, ownServerCheck } from "../kit/nats-server.js";
import { describeWith, natsService } from "../kit/services.js";
import { queueConformance } from "../ports/queue-conformance.js";
import { eventually } from "../kit/eventually.js";

const nats = await natsService();
const run = randomBytes(4).toString("hex");
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

const ownServer = ownServerCheck(nats, "the NATS queue suites that run their own server");

if (ownServer.skip === false) {
  queueConformance("nats", async () => {
    const server = await OwnServer.start();
    const nc = await connectNats({ servers: server.url, name: "litefaas-test-queue" });
    const options = { stream: `LFQ${run.toUpperCase()}` };
    return {
      port: await openNatsQueue(nc, options),
      reopen: () => openNatsQueue(nc, options),
      cleanup: async () => {
        await nc.close();
        await server.remove();
      },
    };
  });
} else {
  describeWith(ownServer, "queue port conformance: nats", () => undefined);
}

/** Records deliveries; acks them unless told to hold them. */
class Recorder {
  readonly received: Delivery[] = [];
  readonly held: Delivery[] = [];
  readonly consumption: Consumption;
  constructor(port: QueuePort, consumer: string, concurrency: number, hold = false) {
    this.consumption = port.consume(consumer, { concurrency }, (d) => {
      this.received.push(d);
      if (hold) this.held.push(d);
      else void d.ack();
    });
  }
  texts(): string[] {
    return this.received.map((d) => decode(d.data));
  }
}

describeWith(nats, "nats queue backend", () => {
  const prefix = `lfq${run}`;
  const stream = `LFQ${run.toUpperCase()}_B`;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let port: QueuePort;
  const recorders: Recorder[] = [];
  let counter = 0;
  const newName = (): string => `b${++counter}`;
  const record = (consumer: string, concurrency = 1, hold = false): Recorder => {
    const r = new Recorder(port, consumer, concurrency, hold);
    recorders.push(r);
    return r;
  };

  before(async () => {
    nc = await connectNats({ servers: nats.url, name: "litefaas-test-queue-backend" });
    jsm = await jetstreamManager(nc);
    port = await openNatsQueue(nc, { prefix, stream });
  });
  after(async () => {
    for (const r of recorders) await r.consumption.stop();
    await port.close();
    for (const name of [stream, `${stream}_DLQ`]) await jsm.streams.delete(name).catch(() => false);
    await nc.close();
  });

  void it("delivers what external NATS clients publish with a plain core publish", async () => {
    const name = newName();
    await port.ensureConsumer(name, { subjects: [`${prefix}.events.ext.>`], ackWaitMs: 30_000 });
    const r = record(name);
    const h = natsHeaders();
    h.set("X-From", "outside");
    const t0 = Date.now();
    nc.publish(`${prefix}.events.ext.a`, text("core"), { headers: h });
    const withId = natsHeaders();
    withId.set("Nats-Msg-Id", `ext-${run}`);
    nc.publish(`${prefix}.events.ext.b`, text("with id"), { headers: withId });
    nc.publish(`${prefix}.events.ext.b`, text("with id again"), { headers: withId });
    nc.publish(`${prefix}.events.other`, text("not matched"));
    await nc.flush();
    await eventually("two deliveries", () => r.received.length >= 2);
    await delay(200);
    assert.deepEqual(r.texts(), ["core", "with id"], "the duplicate id was dropped");
    const [core, identified] = r.received as [Delivery, Delivery];
    assert.equal(core.subject, `${prefix}.events.ext.a`);
    assert.deepEqual(core.headers, { "x-from": "outside" });
    assert.match(core.id, new RegExp(`^${stream}:\\d+$`));
    assert.ok(Math.abs(core.publishedAt - t0) < 5_000, "publishedAt is the stream's timestamp");
    assert.equal(core.attempt, 1);
    assert.equal(identified.id, `ext-${run}`);
    assert.deepEqual(identified.headers, {});
  });

  void it("with concurrency 1 delivers across its subjects in the order they were accepted", async () => {
    const name = newName();
    const s = `${prefix}.events.order`;
    await port.ensureConsumer(name, {
      subjects: [`${s}.a`, `${s}.b.*`, `${s}.c.>`],
      ackWaitMs: 30_000,
    });
    const expected: string[] = [];
    const publishSome = async (from: number): Promise<void> => {
      for (let i = from; i < from + 30; i++) {
        const subject = [`${s}.a`, `${s}.b.x`, `${s}.c.y.z`][i % 3] ?? "";
        if (i % 10 === 0) await port.send(name, { subject, data: text(`m${i}`) });
        else await port.publish({ subject, data: text(`m${i}`) });
        expected.push(`m${i}`);
      }
    };
    await publishSome(0); // waiting before the consumption starts
    const r = record(name, 1);
    await publishSome(30); // arriving while it runs
    await eventually("60 deliveries", () => r.received.length >= 60);
    assert.deepEqual(r.texts(), expected);
  });

  void it("a consumption started before its consumer exists, or before a new subject, gets them", async () => {
    const name = newName();
    const s = `${prefix}.events.early`;
    const r = record(name, 4);
    await delay(100); // the consumption found no consumer and waits
    await port.ensureConsumer(name, { subjects: [`${s}.a`], ackWaitMs: 30_000 });
    await port.publish({ subject: `${s}.a`, data: text("a") });
    await eventually("a", () => r.received.length === 1);
    await port.ensureConsumer(name, { subjects: [`${s}.a`, `${s}.b`], ackWaitMs: 30_000 });
    await port.publish({ subject: `${s}.b`, data: text("b") });
    await eventually("b", () => r.received.length === 2);
    assert.deepEqual(r.texts(), ["a", "b"]);
  });

  void it("rejects publishes and subscriptions outside <prefix>.events, and reserved headers", async () => {
    const data = text("x");
    for (const subject of [`${prefix}.direct.b1`, `${prefix}.dlq.b1.x`, "elsewhere.events.a"]) {
      await assert.rejects(port.publish({ subject, data }), /only carries subjects under/);
    }
    await assert.rejects(port.publish({ subject: prefix, data }), /only carries subjects/);
    for (const subjects of [[">"], [`${prefix}.>`], [`${prefix}.*.x`], [`${prefix}.events`]]) {
      await assert.rejects(
        port.ensureConsumer(newName(), { subjects, ackWaitMs: 1000 }),
        /only carries subjects/,
        JSON.stringify(subjects),
      );
    }
    const badHeaders: Record<string, string>[] = [
      { "nats-msg-id": "x" },
      { "Lfq-Id": "x" },
      { "a b": "x" },
    ];
    for (const headers of badHeaders) {
      await assert.rejects(
        port.publish({ subject: `${prefix}.events.h`, data, headers }),
        /header/,
        JSON.stringify(headers),
      );
    }
    await assert.rejects(
      port.publish({ subject: `${prefix}.events.h`, data, headers: { "x-a": "line\nbreak" } }),
      /line breaks/,
    );
    await assert.rejects(
      port.send(`nobody${run}`, { subject: `${prefix}.events.x`, data }),
      /no queue consumer/,
    );
  });

  void it("drops what a removed subject gets after the change, then deletes its consumer", async () => {
    const name = newName();
    const s = `${prefix}.events.retire`;
    await port.ensureConsumer(name, { subjects: [`${s}.old`], ackWaitMs: 30_000 });
    await port.publish({ subject: `${s}.old`, data: text("owned") });
    await port.ensureConsumer(name, { subjects: [`${s}.new`], ackWaitMs: 30_000 });
    await port.publish({ subject: `${s}.old`, data: text("too late") });
    await port.publish({ subject: `${s}.new`, data: text("new") });
    const r = record(name);
    await eventually("two deliveries", () => r.received.length >= 2);
    await eventually("pending 0", async () => (await port.pending(name)) === 0);
    assert.deepEqual(r.texts(), ["owned", "new"]);

    const ours = async (): Promise<string[]> => {
      const names: string[] = [];
      for await (const c of jsm.consumers.list(stream)) {
        if (c.name.startsWith(`${name}_`)) names.push(c.config.filter_subject ?? "");
      }
      return names.sort();
    };
    assert.deepEqual(await ours(), [`${prefix}.direct.${name}`, `${s}.new`, `${s}.old`]);
    await port.ensureConsumer(name, { subjects: [`${s}.new`], ackWaitMs: 30_000 });
    assert.deepEqual(await ours(), [`${prefix}.direct.${name}`, `${s}.new`], "drained: deleted");
  });

  void it("stop() naks what the client buffered, so it comes back at once, not after the ack wait", async () => {
    const name = newName();
    const s = `${prefix}.events.buffered`;
    await port.ensureConsumer(name, { subjects: [s], ackWaitMs: 300_000 });
    for (let i = 0; i < 20; i++) await port.publish({ subject: s, data: text(`m${i}`) });
    const first = record(name, 4, true);
    await eventually("four held", () => first.held.length === 4);
    await delay(200); // the client buffers the next pull batch meanwhile
    await first.consumption.stop();
    for (const d of first.held) await d.ack();
    const second = record(name, 4);
    await eventually("the other sixteen", () => second.received.length >= 16);
    assert.deepEqual(
      [...first.texts(), ...second.texts()].sort(),
      Array.from({ length: 20 }, (_, i) => `m${i}`).sort(),
    );
  });

  void it("a handler that throws gets its delivery back after the ack wait", async () => {
    const name = newName();
    const s = `${prefix}.events.throws`;
    await port.ensureConsumer(name, { subjects: [s], ackWaitMs: 1_000 });
    const attempts: string[] = [];
    const errors: string[] = [];
    const own = await openNatsQueue(nc, {
      prefix,
      stream,
      onError: (e) => errors.push(String(e)),
    });
    const consumption = own.consume(name, { concurrency: 1 }, (d) => {
      attempts.push(`${decode(d.data)}#${d.attempt}`);
      if (decode(d.data) === "throws" && d.attempt === 1) throw new Error("boom");
      void d.ack();
    });
    try {
      await own.publish({ subject: s, data: text("throws") });
      await own.publish({ subject: s, data: text("next") });
      await eventually("the second attempt", () => attempts.length === 3);
      assert.deepEqual(attempts, ["throws#1", "next#1", "throws#2"], "the slot was freed");
      assert.match(errors.join("\n"), /boom/);
    } finally {
      await consumption.stop();
      await own.close();
    }
  });

  void it("shares the connection: close() stops consumptions and leaves the connection open", async () => {
    const own = await openNatsQueue(nc, { prefix, stream });
    const name = newName();
    await own.ensureConsumer(name, { subjects: [`${prefix}.events.shared`], ackWaitMs: 30_000 });
    const seen: string[] = [];
    own.consume(name, { concurrency: 1 }, (d) => {
      seen.push(decode(d.data));
      void d.ack();
    });
    await own.publish({ subject: `${prefix}.events.shared`, data: text("one") });
    await eventually("one delivery", () => seen.length === 1);
    await own.close();
    assert.equal(nc.isClosed(), false);
    await assert.rejects(own.publish({ subject: `${prefix}.events.shared`, data: text("x") }), {
      message: /closed/,
    });
    await port.publish({ subject: `${prefix}.events.shared`, data: text("two") });
    await delay(300);
    assert.deepEqual(seen, ["one"], "no delivery after close");
    assert.equal(await port.pending(name), 1);
  });
});

describeWith(ownServer, "nats queue backend across a server restart", () => {
  let server: OwnServer;
  before(async () => {
    server = await OwnServer.start();
  });
  after(async () => {
    await server.remove();
  });

  void it("keeps consuming after the server restarts; nothing accepted is lost", async () => {
    const nc = await connectNats({ servers: server.url, name: "litefaas-test-queue-restart" });
    const port = await openNatsQueue(nc);
    const seen = new Set<string>();
    try {
      await port.ensureConsumer("restart", {
        subjects: ["litefaas.events.restart.>"],
        ackWaitMs: 5_000,
      });
      const consumption = port.consume("restart", { concurrency: 8 }, (d) => {
        seen.add(decode(d.data));
        void d.ack();
      });
      for (let i = 0; i < 50; i++) {
        await port.publish({ subject: "litefaas.events.restart.a", data: text(`before ${i}`) });
      }
      await eventually("the first 50", () => seen.size === 50);

      await server.stop();
      await server.start();

      // publishes made while the client reconnects may fail; the ones accepted must arrive
      const accepted: string[] = [];
      for (let i = 0; accepted.length < 50; i++) {
        const data = `after ${i}`;
        const ok = await port
          .publish({ subject: "litefaas.events.restart.b", data: text(data) })
          .then(
            () => true,
            () => false,
          );
        if (ok) accepted.push(data);
        else await delay(100);
      }
      await eventually("every message accepted after the restart", () =>
        accepted.every((d) => seen.has(d)),
      );
      await consumption.stop();
    } finally {
      await port.close();
      await nc.close();
    }
  });
});
