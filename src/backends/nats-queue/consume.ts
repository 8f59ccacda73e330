// consume(): one pull loop per JetStream consumer of the queue consumer (consumers.ts), all
// sharing one semaphore (slots.ts), so never more than `concurrency` deliveries are unanswered,
// and a free slot goes to the lowest stream sequence waiting. A loop takes a slot before it hands
// a message over; while it waits, the library stops pulling for it (the next pull request is
// queued behind the messages in its iterator), so what the client buffers stays near one pull
// batch per JetStream consumer.
//
// The set of JetStream consumers is re-read when ensureConsumer or deleteConsumer runs in this
// port, and every RESYNC_MS for changes made by other processes. The library's iterators survive
// disconnects by themselves: on reconnect, or after two missed heartbeats, they check the
// consumer and pull again; a loop that ends anyway is restarted by the next resync.
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Consumption, Delivery } from "../../ports/queue.js";
import type { QueueContext } from "./context.js";
import { isConsumerNotFound, partsOf, readRegistry, type Part } from "./consumers.js";
import { toDelivery } from "./delivery.js";
import { checkConsumerName } from "./names.js";
import { Slots } from "./slots.js";

/** How often a consumption looks for JetStream consumers added or removed elsewhere. */
const RESYNC_MS = 5_000;
/** Messages asked for per pull, at most (fewer for a lower concurrency). */
const MAX_BATCH = 64;
/** A pull request lasts this long; heartbeats come every half of it. */
const PULL_EXPIRES_MS = 10_000;
/**
 * How long a pull loop may hold back the others' deliveries while its next message is on the way
 * (so the oldest of all goes first); the server answers much sooner.
 */
const HOLD_MS = 500;

interface Loop {
  part: Part;
  closing: boolean;
  messages?: ConsumerMessages;
  done: Promise<void>;
  /**
   * Keeps the slots from others' messages while this loop's next one, maybe older, is on its
   * way: when it starts, and (concurrency 1) after a delivery with more pending behind it.
   */
  hold?: () => void;
}

export function startConsumption(
  ctx: QueueContext,
  consumer: string,
  options: { concurrency: number },
  handler: (delivery: Delivery) => void,
): Consumption {
  checkConsumerName(consumer);
  const concurrency = Math.floor(options.concurrency);
  if (!(concurrency >= 1)) {
    throw new Error(`invalid concurrency ${options.concurrency}: at least 1`);
  }
  const { stream } = ctx.names;
  const batch = Math.min(concurrency, MAX_BATCH);
  const slots = new Slots(concurrency);
  const loops = new Map<string, Loop>();
  let stopped = false;

  /** An answer no caller waits for; one lost with the connection means a redelivery, no more. */
  const quietly = (send: () => void): void => {
    try {
      send();
    } catch {
      // the connection is closing: the server redelivers after the ack wait
    }
  };

  /** Received after stop() began: nak'd once the pull requests are gone (returnBuffered). */
  const buffered: JsMsg[] = [];

  /**
   * nats-server 2.9 loses track of a redelivery (until its ack wait passes again) and delivers
   * another message twice when it finds only pull requests whose subscriber left: it takes the
   * redelivery, finds nobody, and rewinds as if it had taken a new message. A consumer info
   * makes it drop such requests: so after the unsubscribes (flush), an info, then the naks. This
   * also spares later redeliveries (retries, ack waits) the requests this consumption leaves.
   */
  const returnBuffered = async (names: string[]): Promise<void> => {
    await ctx.nc.flush().catch(() => undefined);
    await Promise.all(
      names.map((name) => ctx.jsm.consumers.info(stream, name).catch(() => undefined)),
    );
    for (const m of buffered.splice(0)) quietly(() => m.nak());
    // on the wire before stop() resolves: a caller may close the connection then
    await ctx.nc.flush().catch(() => undefined);
  };

  const hand = (m: JsMsg): void => {
    const { delivery, abandon } = toDelivery(ctx, consumer, m, () => slots.release());
    try {
      handler(delivery);
    } catch (error) {
      ctx.report(error, `the handler of queue consumer ${consumer} threw`);
      abandon();
    }
  };

  /** Lets the others' messages have the slots again. */
  const unhold = (loop: Loop): void => {
    const release = loop.hold;
    loop.hold = undefined;
    release?.();
  };

  /** Hands `m` over once it has a slot; a promise only when it has to wait for one. */
  const receive = (loop: Loop, m: JsMsg): Promise<void> | undefined => {
    const held = loop.hold;
    loop.hold = undefined;
    // more behind it, with concurrency 1: the next one is older than later messages of others
    const expectMore = concurrency === 1 && m.info.pending > 0;
    if (loop.part.retiredAfter !== undefined && m.seq > loop.part.retiredAfter) {
      quietly(() => m.ack()); // published after its subject left the spec: not this consumer's
      if (expectMore) loop.hold = slots.hold(HOLD_MS);
      held?.();
      return undefined;
    }
    if (held === undefined && !stopped && !loop.closing && slots.tryAcquire()) {
      if (expectMore) loop.hold = slots.hold(HOLD_MS);
      hand(m);
      return undefined;
    }
    return receiveLater(loop, m, held, expectMore);
  };

  const receiveLater = async (
    loop: Loop,
    m: JsMsg,
    held: (() => void) | undefined,
    expectMore: boolean,
  ): Promise<void> => {
    const granting = stopped || loop.closing ? Promise.resolve(false) : slots.acquire(m.seq);
    held?.(); // waiting with its message: compared with the others' now
    const granted = await granting;
    if (!granted || stopped || loop.closing) {
      if (granted) slots.release();
      // stopping: back to the stream at once, for another consumption (see returnBuffered)
      if (stopped) buffered.push(m);
      else quietly(() => m.nak());
      return;
    }
    if (expectMore) loop.hold = slots.hold(HOLD_MS);
    hand(m);
  };

  const run = async (loop: Loop): Promise<void> => {
    const name = loop.part.name;
    try {
      const jc = await ctx.js.consumers.get(stream, name);
      if (loop.closing) return;
      const messages = await jc.consume({
        max_messages: batch,
        // pull again when a quarter is left, not the client's three quarters: a pull request
        // per 48 messages instead of per 16 (each is JSON the server parses and queues)
        threshold_messages: Math.floor(batch / 4),
        expires: PULL_EXPIRES_MS,
      });
      loop.messages = messages;
      if (loop.closing) {
        await messages.close();
        return;
      }
      void watchStatus(messages);
      const pulling = (async () => {
        for await (const m of messages) {
          const waiting = receive(loop, m);
          if (waiting !== undefined) await waiting;
        }
      })();
      // The first pull request went out as the iteration began; once the server has it (flush),
      // whatever is published later reaches this loop as it is stored, so with nothing pending
      // now the others need not wait for this loop.
      await ctx.nc
        .flush()
        .then(() => jc.info())
        .then((info) => info.num_pending === 0 && unhold(loop))
        .catch(() => unhold(loop));
      await pulling;
    } catch (error) {
      if (!isConsumerNotFound(error)) ctx.report(error, `consuming ${stream} > ${name}`);
    } finally {
      unhold(loop);
      if (loops.get(name) === loop) loops.delete(name);
    }
  };

  /** A consumer deleted under a loop: find out whether it is gone for good. */
  const watchStatus = async (messages: ConsumerMessages): Promise<void> => {
    for await (const status of messages.status()) {
      if (status.type === "consumer_deleted" || status.type === "consumer_not_found") resync();
    }
  };

  const close = (loop: Loop): void => {
    loop.closing = true;
    loop.messages?.close().catch(() => undefined);
  };

  const syncOnce = async (): Promise<void> => {
    const registry = await readRegistry(ctx, consumer);
    const parts = registry === undefined ? [] : partsOf(ctx, consumer, registry);
    const wanted = new Set(parts.map((p) => p.name));
    for (const [name, loop] of loops) {
      if (!wanted.has(name)) {
        loops.delete(name);
        close(loop);
      }
    }
    if (stopped) return;
    for (const part of parts) {
      const running = loops.get(part.name);
      if (running !== undefined) {
        running.part = part;
        continue;
      }
      const loop: Loop = {
        part,
        closing: false,
        done: Promise.resolve(),
        hold: slots.hold(HOLD_MS), // until it has its first message, or knows none is waiting
      };
      loops.set(part.name, loop);
      loop.done = run(loop);
    }
  };

  // one resync at a time; a request during one runs another after it
  let syncing: Promise<void> | undefined;
  let again = false;
  const resync = (): void => {
    if (stopped) return;
    if (syncing !== undefined) {
      again = true;
      return;
    }
    syncing = (async () => {
      do {
        again = false;
        await syncOnce().catch((error: unknown) => {
          ctx.report(error, `reading the consumers of queue consumer ${consumer}`);
        });
      } while (again && !stopped);
    })().finally(() => {
      syncing = undefined;
    });
  };

  let listeners = ctx.changed.get(consumer);
  if (listeners === undefined) {
    listeners = new Set();
    ctx.changed.set(consumer, listeners);
  }
  listeners.add(resync);
  const timer = setInterval(resync, RESYNC_MS);
  timer.unref();
  resync();

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      listeners.delete(resync);
      if (listeners.size === 0) ctx.changed.delete(consumer);
      slots.close();
      await syncing;
      const running = [...loops.values()];
      loops.clear();
      for (const loop of running) close(loop);
      // every loop sets aside what it still buffers, then ends
      await Promise.all(running.map((loop) => loop.done));
      await returnBuffered(running.map((loop) => loop.part.name));
    },
  };
}
