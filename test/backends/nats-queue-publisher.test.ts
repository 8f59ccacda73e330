// The NATS queue's JetStream publisher (PubAcks matched on one reply subscription) against the
// machine's nats-server: what it answers, and every way a publish can fail. Needs NATS with
// JetStream (test/kit/services.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, it } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { encodedHeaders } from "../../src/backends/nats-queue/headers.js";
import { JetStreamPublisher } from "../../src/backends/nats-queue/publisher.js";
import { connectNats } from "../../src/backends/nats/connection.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();
const run = randomBytes(4).toString("hex");
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describeWith(nats, "nats queue publisher", () => {
  const stream = `LFP${run.toUpperCase()}`;
  const small = `${stream}_SMALL`;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let publisher: JetStreamPublisher;

  before(async () => {
    nc = await connectNats({ servers: nats.url, name: "litefaas-test-publisher" });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`lfp${run}.>`] });
    await jsm.streams.add({ name: small, subjects: [`lfps${run}.>`], max_msg_size: 64 });
    publisher = new JetStreamPublisher(nc, 300);
  });
  after(async () => {
    publisher.close();
    for (const name of [stream, small]) await jsm.streams.delete(name).catch(() => false);
    await nc.close();
  });

  void it("answers with the stream and sequence, and a repeated Nats-Msg-Id as a duplicate", async () => {
    const headers = encodedHeaders({ "x-a": "one" }, { msgId: `m-${run}` });
    const [first, second] = await Promise.all([
      publisher.publish(`lfp${run}.a`, text("hello"), headers),
      publisher.publish(`lfp${run}.b`, text("other"), encodedHeaders({}, {})),
    ]);
    assert.deepEqual(first, { stream, seq: 1, duplicate: false });
    assert.deepEqual(second, { stream, seq: 2, duplicate: false });
    const again = await publisher.publish(`lfp${run}.a`, text("hello again"), headers);
    assert.deepEqual(again, { stream, seq: 1, duplicate: true });
    const stored = await jsm.streams.getMessage(stream, { seq: 1 });
    assert.equal(new TextDecoder().decode(stored?.data), "hello");
    assert.equal(stored?.header.get("x-a"), "one");
    assert.equal(stored?.header.get("Nats-Msg-Id"), `m-${run}`);
  });

  void it("refuses a subject no stream stores, naming it", async () => {
    await assert.rejects(
      publisher.publish(`nostream${run}.x`, text("lost?"), encodedHeaders({}, {})),
      new RegExp(`no JetStream stream stores subject "nostream${run}\\.x"`),
    );
  });

  void it("passes on the stream's refusal with its reason", async () => {
    await assert.rejects(
      publisher.publish(`lfps${run}.x`, new Uint8Array(1024), encodedHeaders({}, {})),
      new RegExp(`JetStream refused a message on "lfps${run}\\.x": .*size`, "i"),
    );
  });

  void it("fails a publish nobody acknowledges, saying it may or may not be stored", async () => {
    // a plain subscriber takes the message and never answers, as a server that stalls would
    const silent = nc.subscribe(`silent${run}.x`);
    try {
      await assert.rejects(
        publisher.publish(`silent${run}.x`, text("unanswered"), encodedHeaders({}, {})),
        /no acknowledgement from JetStream .* within 300 ms: it may or may not be stored/,
      );
    } finally {
      silent.unsubscribe();
    }
  });

  void it("fails what is waiting and refuses new publishes once closed", async () => {
    const own = new JetStreamPublisher(nc, 60_000);
    const silent = nc.subscribe(`silent${run}.y`);
    try {
      const waiting = own.publish(`silent${run}.y`, text("unanswered"), encodedHeaders({}, {}));
      await nc.flush();
      own.close();
      await assert.rejects(waiting, /the nats queue port is closed/);
      await assert.rejects(
        own.publish(`lfp${run}.a`, text("after close"), encodedHeaders({}, {})),
        /closed/,
      );
    } finally {
      silent.unsubscribe();
    }
  });
});
