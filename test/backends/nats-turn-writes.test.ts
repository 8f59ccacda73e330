// One socket write per event-loop turn on a NATS connection (backends/nats/turn-writes.ts),
// against the machine's nats-server. It reaches into the client's protocol handler, so these
// tests are what says a client upgrade moved it. Needs NATS (test/kit/services.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "../../src/backends/nats/connection.js";
import { coalesceWrites, writesCoalesced } from "../../src/backends/nats/turn-writes.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();
const run = randomBytes(4).toString("hex");

/** Counts the socket writes of `nc` (the transport's send). */
function countWrites(nc: NatsConnection): { writes: number } {
  const transport = (nc as unknown as { protocol: { transport: { send(d: Uint8Array): void } } })
    .protocol.transport;
  const counter = { writes: 0 };
  const send = transport.send.bind(transport);
  transport.send = (d) => {
    counter.writes++;
    send(d);
  };
  return counter;
}

/** `n` publishes, each from a promise chain of its own, all within one turn. */
async function publishFromChains(nc: NatsConnection, subject: string, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      for (let hop = 0; hop < i % 4; hop++) await Promise.resolve();
      nc.publish(subject, String(i));
    }),
  );
}

/** Subscribed (the server knows) to `n` messages on `subject`; `all` gives their payloads. */
async function receive(
  nc: NatsConnection,
  subject: string,
  n: number,
): Promise<{ all: Promise<string[]> }> {
  const sub = nc.subscribe(subject, { max: n });
  await nc.flush();
  const all = (async () => {
    const got: string[] = [];
    for await (const m of sub) got.push(m.string());
    return got;
  })();
  return { all };
}

describeWith(nats, "nats writes once per turn", () => {
  void it("sends what separate promise chains publish in one turn in one write", async () => {
    const subject = `lfw${run}.one`;
    const reader = await connect({ servers: nats.url });
    const nc = await connectNats({ servers: nats.url, name: "litefaas-test-writes" });
    try {
      assert.equal(writesCoalesced(nc), true, "connectNats coalesces");
      const received = await receive(reader, subject, 40);
      const counter = countWrites(nc);
      await publishFromChains(nc, subject, 40);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(counter.writes, 1, "forty publishes from forty chains, one write");
      assert.deepEqual(
        (await received.all).map(Number).sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, i) => i),
      );

      // the client on its own flushes after the first microtask: several writes for the same
      const plain = await connect({ servers: nats.url });
      try {
        const plainCounter = countWrites(plain);
        await publishFromChains(plain, `${subject}.plain`, 40);
        await new Promise((resolve) => setImmediate(resolve));
        assert.ok(plainCounter.writes > 1, `the client alone wrote ${plainCounter.writes} time(s)`);
      } finally {
        await plain.close();
      }
    } finally {
      await nc.close();
      await reader.close();
    }
  });

  void it("writes what the turn queued before it closes", async () => {
    const subject = `lfw${run}.close`;
    const reader = await connect({ servers: nats.url });
    try {
      const received = await receive(reader, subject, 25);
      const nc = await connect({ servers: nats.url });
      assert.equal(coalesceWrites(nc), true);
      assert.equal(coalesceWrites(nc), true, "a second call changes nothing");
      for (let i = 0; i < 25; i++) nc.publish(subject, String(i));
      await nc.close();
      assert.deepEqual(
        await received.all,
        Array.from({ length: 25 }, (_, i) => String(i)),
      );
    } finally {
      await reader.close();
    }
  });

  void it("answers flush() and request() as the client does", async () => {
    const nc = await connectNats({ servers: nats.url, name: "litefaas-test-writes" });
    try {
      const subject = `lfw${run}.echo`;
      nc.subscribe(subject, {
        callback: (_, m) => {
          m.respond(`echo ${m.string()}`);
        },
      });
      await nc.flush();
      const answers = await Promise.all(
        ["a", "b", "c"].map(async (s) => (await nc.request(subject, s)).string()),
      );
      assert.deepEqual(answers, ["echo a", "echo b", "echo c"]);
    } finally {
      await nc.close();
    }
  });
});
