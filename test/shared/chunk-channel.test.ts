// The response-body channel between a streaming function and the HTTP client: order,
// backpressure (push settles only once the chunk was taken), end, failure, and a consumer
// that goes away.
import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";
import { describe, it } from "node:test";
import { ChunkChannel } from "../../src/shared/chunk-channel.js";

/** A promise and whether it has settled yet, observable without awaiting it. */
function track(promise: Promise<unknown>): { settled: () => boolean; promise: Promise<unknown> } {
  let settled = false;
  const tracked = promise.then(
    (value) => {
      settled = true;
      return value;
    },
    (error: unknown) => {
      settled = true;
      throw error;
    },
  );
  return { settled: () => settled, promise: tracked };
}

/** Lets every queued callback run, several rounds deep, so "still pending" means pending. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

async function collect(channel: ChunkChannel): Promise<Array<string | Uint8Array>> {
  const chunks: Array<string | Uint8Array> = [];
  for await (const chunk of channel) chunks.push(chunk);
  return chunks;
}

void describe("ChunkChannel", () => {
  void it("delivers chunks in the order pushed, strings and bytes alike, then ends", async () => {
    const channel = new ChunkChannel();
    const bytes = Uint8Array.of(1, 2, 3);
    const consumer = collect(channel);
    const producer = (async () => {
      for (let i = 0; i < 20; i++) await channel.push(`chunk ${i}`);
      await channel.push(bytes);
      channel.end();
    })();
    const [chunks] = await Promise.all([consumer, producer]);
    assert.deepEqual(chunks, [...Array.from({ length: 20 }, (_, i) => `chunk ${i}`), bytes]);
    assert.equal(chunks.at(-1), bytes, "a chunk is passed through, not copied");
  });

  void it("keeps order when chunks are pushed before anyone reads", async () => {
    const channel = new ChunkChannel();
    const pushes = ["a", "b", "c"].map((c) => channel.push(c));
    channel.end();
    assert.deepEqual(await collect(channel), ["a", "b", "c"]);
    await Promise.all(pushes);
  });

  void it("push settles only once the consumer took the chunk (backpressure)", async () => {
    const channel = new ChunkChannel();
    const first = track(channel.push("first"));
    const second = track(channel.push("second"));
    await settle();
    assert.equal(first.settled(), false, "nobody read: the first push is pending");
    assert.equal(second.settled(), false, "nobody read: the second push is pending");

    const iterator = channel[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: "first", done: false });
    await first.promise;
    await settle();
    assert.equal(second.settled(), false, "one read releases one push");

    assert.deepEqual(await iterator.next(), { value: "second", done: false });
    await second.promise;
  });

  void it("a push to a waiting consumer settles at once", async () => {
    const channel = new ChunkChannel();
    const iterator = channel[Symbol.asyncIterator]();
    const read = iterator.next();
    await channel.push("x");
    assert.deepEqual(await read, { value: "x", done: false });
  });

  void it("end finishes a waiting reader, drains queued chunks first, and ignores later pushes", async () => {
    const waiting = new ChunkChannel();
    const read = waiting[Symbol.asyncIterator]().next();
    waiting.end();
    assert.deepEqual(await read, { value: undefined, done: true });

    const channel = new ChunkChannel();
    const queued = channel.push("queued");
    channel.end();
    await channel.push("after end"); // settles, and is dropped
    assert.deepEqual(await collect(channel), ["queued"]);
    await queued;
    assert.deepEqual(await channel[Symbol.asyncIterator]().next(), {
      value: undefined,
      done: true,
    });
  });

  void it("fail rejects a waiting reader and every later read", async () => {
    const channel = new ChunkChannel();
    const iterator = channel[Symbol.asyncIterator]();
    const read = iterator.next();
    const boom = new Error("the function's stream failed");
    channel.fail(boom);
    await assert.rejects(read, (error: unknown) => error === boom);
    await assert.rejects(iterator.next(), (error: unknown) => error === boom);
    await channel.push("after failure"); // settles at once
  });

  void it("fail releases pushes still waiting for the consumer and drops their chunks", async () => {
    const channel = new ChunkChannel();
    const pushes = [track(channel.push("a")), track(channel.push("b"))];
    await settle();
    assert.ok(pushes.every((p) => !p.settled()));
    const boom = new Error("reset");
    channel.fail(boom);
    await Promise.all(pushes.map((p) => p.promise));
    await assert.rejects(collect(channel), (error: unknown) => error === boom);
  });

  void it("a consumer that stops early (break) releases the producer", async () => {
    const channel = new ChunkChannel();
    let pushed = 0;
    const producer = (async () => {
      for (let i = 0; i < 10; i++) {
        await channel.push(`chunk ${i}`);
        pushed++;
      }
      channel.end();
    })();
    const received: Array<string | Uint8Array> = [];
    for await (const chunk of channel) {
      received.push(chunk);
      if (received.length === 2) break;
    }
    await producer; // would never settle if the producer were still blocked
    assert.deepEqual(received, ["chunk 0", "chunk 1"]);
    assert.equal(pushed, 10);
  });

  void it("a consumer that stops early after end() still releases queued pushes", async () => {
    const channel = new ChunkChannel();
    const pushes = ["a", "b", "c"].map((c) => track(channel.push(c)));
    channel.end();
    for await (const chunk of channel) {
      assert.equal(chunk, "a");
      break;
    }
    await Promise.all(pushes.map((p) => p.promise));
    assert.ok(pushes.every((p) => p.settled()));
  });
});
