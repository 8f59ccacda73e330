// The queue port's one conformance suite, written once and run against every backend
// (test/backends/*-queue.test.ts). It pins what callers may rely on whatever the backend:
// - a publish reaches every consumer whose subjects match it when it is accepted (exact, "*",
//   ">"), and no other; a consumer created later does not get it; send reaches the named
//   consumer only (even one with no subjects), with the subject given;
// - a message keeps its id (the publisher's, else a unique one), subject, bytes (copied in),
//   headers (names lower-cased) and publishedAt on every delivery, redelivery and redrive;
//   attempt is 1 on the first delivery and one more on each later one;
// - an id accepted within the deduplication window is not stored again (publish and send);
// - ack: never again; retry(delay): again not before the delay, slot freed at once;
//   deadLetter(reason): never again, kept in the consumer's dead-letter queue;
// - at most `concurrency` deliveries unanswered at a time; an answer lets the next in;
// - with concurrency 1 a consumer gets its messages in the order they were accepted;
// - dead letters list oldest first, page with limit/after, redrive as attempt 1, purge;
// - stop(): no delivery after it resolves; what it left unanswered comes back after the ack
//   wait with the next attempt; pending() counts every message not yet answered;
// - ensureConsumer again changes the subjects and keeps what is pending; deleteConsumer drops
//   pending messages and dead letters; consumers and accepted messages outlive close();
// - invalid consumer names, overlapping subjects in one consumer and publishes on wildcard or
//   malformed subjects are rejected.
// Every test uses fresh consumer names (t<run>_<n>) and subjects (litefaas.events.t<run>.<n>.…),
// so a backend that keeps state between runs (a NATS server) needs no reset. Absence is checked
// by sending a marker behind what must not arrive and waiting for the marker, then a little more.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { after, afterEach, before, describe, it } from "node:test";
import type {
  Consumption,
  DeadLetter,
  Delivery,
  OutgoingMessage,
  QueueMessage,
  QueuePort,
} from "../../src/ports/queue.js";
import { eventually } from "../kit/eventually.js";

export interface QueueUnderTest {
  port: QueuePort;
  /**
   * Opens the backend again on the same storage, after the suite closed `port`; the suite goes
   * on with the port returned (and closes it at the end). Without it the reopen test is skipped.
   */
  reopen?: () => Promise<QueuePort>;
  /** Called after the suite deleted its consumers and closed the port: remove files, stop servers. */
  cleanup(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (s: string): Uint8Array => encoder.encode(s);
const decode = (bytes: Uint8Array): string => decoder.decode(bytes);

/** An ack wait no test reaches: deliveries held in a test do not come back by themselves. */
const LONG_ACK_WAIT_MS = 300_000;
/** Date.now() and timers keep different clocks; a lower bound on a delay allows this much. */
const CLOCK_SLACK_MS = 10;
/** After a marker arrived, how long to keep looking for something that must not arrive. */
const QUIET_MS = 200;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what}: expected a Uint8Array, got ${String(actual)}`);
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`);
  assert.ok(asBuffer(actual).equals(asBuffer(expected)), `${what}: bytes differ`);
}

/** Polls until `probe` returns true; fails (rather than hangs) if that never happens. */

/** The same message: every field a delivery or dead letter shares with what was accepted. */
function assertSameMessage(actual: QueueMessage, expected: QueueMessage, what: string): void {
  assert.equal(actual.id, expected.id, `${what}: id`);
  assert.equal(actual.subject, expected.subject, `${what}: subject`);
  assertBytes(actual.data, expected.data, `${what}: data`);
  assert.deepEqual({ ...actual.headers }, { ...expected.headers }, `${what}: headers`);
  assert.equal(actual.publishedAt, expected.publishedAt, `${what}: publishedAt`);
}

type Mode = "ack" | "hold" | "dead";

/** One consumption run by a test, recording what it was handed. */
class Inbox {
  readonly received: Delivery[] = [];
  /** Epoch ms each delivery reached the handler, index for index with `received`. */
  readonly arrivedAt: number[] = [];
  /** Deliveries handed over and not yet answered (mode "hold"). */
  readonly held: Delivery[] = [];
  unanswered = 0;
  maxUnanswered = 0;
  /** Deliveries that reached the handler after stop() resolved. */
  afterStop = 0;
  /** Answers the handler gave by itself (modes "ack" and "dead") that failed. */
  readonly errors: unknown[] = [];
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly answers: Array<Promise<void>> = [];
  private readonly consumption: Consumption;

  constructor(
    port: QueuePort,
    consumer: string,
    concurrency: number,
    private readonly mode: Mode,
  ) {
    this.consumption = port.consume(consumer, { concurrency }, (d) => {
      this.take(d);
    });
  }

  private take(d: Delivery): void {
    if (this.stopped) this.afterStop++;
    this.received.push(d);
    this.arrivedAt.push(Date.now());
    this.unanswered++;
    this.maxUnanswered = Math.max(this.maxUnanswered, this.unanswered);
    const fail = (error: unknown) => {
      this.errors.push(error);
    };
    if (this.mode === "ack") this.ack(d).catch(fail);
    else if (this.mode === "dead") this.deadLetter(d, `dead ${decode(d.data)}`).catch(fail);
    else this.held.push(d);
  }

  ack(d: Delivery): Promise<void> {
    return this.answer(d, () => d.ack());
  }
  retry(d: Delivery, delayMs: number): Promise<void> {
    return this.answer(d, () => d.retry(delayMs));
  }
  deadLetter(d: Delivery, reason: string): Promise<void> {
    return this.answer(d, () => d.deadLetter(reason));
  }

  private answer(d: Delivery, how: () => Promise<void>): Promise<void> {
    const i = this.held.indexOf(d);
    if (i >= 0) this.held.splice(i, 1);
    this.unanswered--;
    const answered = how();
    this.answers.push(answered.catch(() => undefined));
    return answered;
  }

  texts(): string[] {
    return this.received.map((d) => decode(d.data));
  }
  has(message: QueueMessage): boolean {
    return this.received.some((d) => d.id === message.id);
  }
  find(data: string): Delivery | undefined {
    return this.received.find((d) => decode(d.data) === data);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.consumption.stop();
      this.stopped = true;
      await Promise.all(this.answers);
      assert.deepEqual(this.errors, [], "answers failed");
    })();
    return this.stopping;
  }
}

export function queueConformance(backend: string, open: () => Promise<QueueUnderTest>): void {
  void describe(`queue port conformance: ${backend}`, () => {
    const run = randomBytes(4).toString("hex");
    const created = new Set<string>();
    const inboxes = new Set<Inbox>();
    let subject: QueueUnderTest | undefined;
    let counter = 0;

    const port = (): QueuePort => {
      if (subject === undefined) throw new Error("the backend under test is not open");
      return subject.port;
    };
    /** A subject space of the test's own: litefaas.events.t<run>.<n> */
    const space = (): string => `litefaas.events.t${run}.${++counter}`;
    const newName = (): string => `t${run}_${++counter}`;
    const consumer = async (subjects: string[], ackWaitMs = LONG_ACK_WAIT_MS): Promise<string> => {
      const name = newName();
      created.add(name);
      await port().ensureConsumer(name, { subjects, ackWaitMs });
      return name;
    };
    const receive = (name: string, mode: Mode, concurrency = 1): Inbox => {
      const inbox = new Inbox(port(), name, concurrency, mode);
      inboxes.add(inbox);
      return inbox;
    };
    const publish = (s: string, data: string, extra: Partial<OutgoingMessage> = {}) =>
      port().publish({ subject: s, data: text(data), ...extra });
    /** Sends a marker behind whatever went to `name` before; returns once `inbox` has it. */
    const settle = async (name: string, inbox: Inbox): Promise<QueueMessage> => {
      const marker = await port().send(name, {
        subject: `litefaas.events.t${run}.marker`,
        data: text(`marker ${++counter}`),
      });
      await eventually(`the marker to reach ${name}`, () => inbox.has(marker));
      await delay(QUIET_MS);
      return marker;
    };
    /** What an inbox got, markers left out. */
    const got = (inbox: Inbox): string[] => inbox.texts().filter((t) => !t.startsWith("marker "));
    const deadLettersOf = async (name: string): Promise<DeadLetter[]> => {
      const items: DeadLetter[] = [];
      let after: string | undefined;
      for (let pages = 0; ; pages++) {
        assert.ok(pages < 10_000, "pagination never ends");
        const page = await port().deadLetters.list(name, after === undefined ? {} : { after });
        items.push(...page.items);
        if (page.cursor === undefined) return items;
        after = page.cursor;
      }
    };

    before(async () => {
      subject = await open();
    });
    afterEach(async () => {
      for (const inbox of inboxes) await inbox.stop();
      inboxes.clear();
    });
    after(async () => {
      if (subject === undefined) return;
      for (const inbox of inboxes) await inbox.stop();
      for (const name of created) await subject.port.deleteConsumer(name);
      await subject.port.close();
      await subject.cleanup();
    });

    void it("publish reaches every consumer whose subjects match (exact, *, >) and no other", async () => {
      const s = space();
      const names = {
        exact: await consumer([`${s}.a.b`]),
        star: await consumer([`${s}.a.*`]),
        rest: await consumer([`${s}.>`]),
        sibling: await consumer([`${s}.a.c`]),
        deeper: await consumer([`${s}.a.b.*`]),
        shallow: await consumer([`${s}.*`]),
        two: await consumer([`${s}.x`, `${s}.y.>`]),
        elsewhere: await consumer([`litefaas.events.t${run}.elsewhere.>`]),
      };
      const inbox = Object.fromEntries(
        Object.entries(names).map(([k, name]) => [k, receive(name, "ack")]),
      );
      await publish(`${s}.a.b`, "a.b");
      await publish(`${s}.a`, "a");
      await publish(`${s}.y.z.w`, "y.z.w");
      await publish(`${s}.x`, "x");
      await publish(`${s}.a.b.c`, "a.b.c");
      for (const [k, name] of Object.entries(names)) await settle(name, inbox[k] as Inbox);
      const expected: Record<keyof typeof names, string[]> = {
        exact: ["a.b"],
        star: ["a.b"],
        rest: ["a.b", "a", "y.z.w", "x", "a.b.c"],
        sibling: [],
        deeper: ["a.b.c"],
        shallow: ["a", "x"],
        two: ["y.z.w", "x"],
        elsewhere: [],
      };
      for (const [k, want] of Object.entries(expected)) {
        const box = inbox[k] as Inbox;
        assert.deepEqual(got(box), want, `what consumer "${k}" got`);
        for (const d of box.received.filter((d) => !decode(d.data).startsWith("marker ")))
          assert.equal(d.subject, `${s}.${decode(d.data)}`, `subject delivered to "${k}"`);
      }
    });

    void it("a consumer created after a publish does not get it", async () => {
      const s = space();
      const early = await consumer([`${s}.e`]);
      await publish(`${s}.e`, "before");
      const late = await consumer([`${s}.e`]);
      await publish(`${s}.e`, "after");
      const earlyInbox = receive(early, "ack");
      const lateInbox = receive(late, "ack");
      await settle(early, earlyInbox);
      await settle(late, lateInbox);
      assert.deepEqual(got(earlyInbox), ["before", "after"]);
      assert.deepEqual(got(lateInbox), ["after"]);
    });

    void it("send reaches the named consumer only, with the subject given, whatever its subjects", async () => {
      const s = space();
      const one = await consumer([`${s}.a`]);
      const twin = await consumer([`${s}.a`]);
      const none = await consumer([]);
      const boxes = [receive(one, "ack"), receive(twin, "ack"), receive(none, "ack")] as const;
      const toOne = await port().send(one, { subject: `${s}.a`, data: text("to one") });
      const toNone = await port().send(none, { subject: `${s}.b.c`, data: text("to none") });
      assert.equal(toOne.subject, `${s}.a`);
      assert.equal(toNone.subject, `${s}.b.c`);
      await settle(one, boxes[0]);
      await settle(twin, boxes[1]);
      await settle(none, boxes[2]);
      assert.deepEqual(got(boxes[0]), ["to one"]);
      assert.deepEqual(got(boxes[1]), [], "a consumer with the same subjects gets no send");
      assert.deepEqual(got(boxes[2]), ["to none"], "a consumer without subjects gets sends");
      assertSameMessage(boxes[0].received[0] as Delivery, toOne, "sent to one");
      assertSameMessage(boxes[2].received[0] as Delivery, toNone, "sent to none");
    });

    void it("delivers id, subject, bytes, headers and publishedAt as accepted, attempt 1", async () => {
      const s = space();
      const name = await consumer([`${s}.>`]);
      const big = new Uint8Array(randomBytes(512 * 1024));
      const source = Uint8Array.from({ length: 256 }, (_, i) => i);
      const given = `id-${run}-fields`;
      const t0 = Date.now();
      const accepted = [
        await port().publish({
          subject: `${s}.given`,
          data: new Uint8Array(0),
          id: given,
          headers: { "X-Trace-Id": "abc-123", "content-type": "application/json" },
        }),
        await port().publish({ subject: `${s}.big`, data: big }),
        await (() => {
          // the bytes are copied when publish is called: a caller may reuse its buffer at once
          const publishing = port().publish({ subject: `${s}.bytes`, data: source, headers: {} });
          source.fill(7);
          return publishing;
        })(),
        await port().send(name, { subject: `${s}.sent`, data: big.subarray(10, 20) }),
      ];
      const t1 = Date.now();

      const [first, second, third, fourth] = accepted as [
        QueueMessage,
        QueueMessage,
        QueueMessage,
        QueueMessage,
      ];
      for (const m of [second, third, fourth]) assert.deepEqual(m.headers, {}, m.subject);
      assertBytes(
        third.data,
        Uint8Array.from({ length: 256 }, (_, i) => i),
        "accepted bytes",
      );
      assert.equal(first.id, given, "the publisher's id is kept");
      assert.deepEqual(first.headers, {
        "x-trace-id": "abc-123",
        "content-type": "application/json",
      });
      for (const m of accepted) {
        assert.ok(typeof m.id === "string" && m.id.length > 0, `id ${JSON.stringify(m.id)}`);
        assert.ok(
          m.publishedAt >= t0 - CLOCK_SLACK_MS && m.publishedAt <= t1 + CLOCK_SLACK_MS,
          `publishedAt ${m.publishedAt} outside [${t0}, ${t1}]`,
        );
      }
      assert.equal(new Set(accepted.map((m) => m.id)).size, 4, "ids are unique");
      assert.deepEqual(
        accepted.map((m) => m.subject),
        [`${s}.given`, `${s}.big`, `${s}.bytes`, `${s}.sent`],
      );

      const inbox = receive(name, "ack", 4);
      await eventually("four deliveries", () => inbox.received.length >= 4);
      const expectedData = [
        new Uint8Array(0),
        big,
        Uint8Array.from({ length: 256 }, (_, i) => i),
        big.subarray(10, 20),
      ];
      for (const [i, m] of accepted.entries()) {
        const d = inbox.received.find((x) => x.id === m.id);
        assert.ok(d !== undefined, `delivery of ${m.subject}`);
        assertSameMessage(d, { ...m, data: expectedData[i] ?? new Uint8Array(0) }, m.subject);
        assert.equal(d.attempt, 1, `${m.subject}: attempt`);
      }

      // ids made by the backend are unique across many messages too
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) => publish(`${s}.many`, `m${i}`)),
      );
      assert.equal(new Set(many.map((m) => m.id)).size, 50);
      await eventually("the 50 more", () => inbox.received.length >= 54);
    });

    void it("publishing or sending the same id twice within the window delivers it once", async () => {
      const s = space();
      const one = await consumer([`${s}.d`]);
      const two = await consumer([`${s}.*`]);
      const published = `id-${run}-pub`;
      const sent = `id-${run}-send`;
      const a = await publish(`${s}.d`, "first", { id: published });
      const b = await publish(`${s}.d`, "second", { id: published });
      assert.equal(a.id, published);
      assert.equal(b.id, published);
      const c = await port().send(one, { subject: `${s}.d`, data: text("sent once"), id: sent });
      const d = await port().send(one, { subject: `${s}.d`, data: text("sent twice"), id: sent });
      assert.equal(c.id, sent);
      assert.equal(d.id, sent);
      await publish(`${s}.d`, "after");
      const boxOne = receive(one, "ack");
      const boxTwo = receive(two, "ack");
      await settle(one, boxOne);
      await settle(two, boxTwo);
      assert.deepEqual(got(boxOne), ["first", "sent once", "after"]);
      assert.deepEqual(got(boxTwo), ["first", "after"]);
    });

    void it("an acked message is never delivered again, also after consumption restarts", async () => {
      const s = space();
      const name = await consumer([`${s}.a`]);
      const first = receive(name, "ack");
      const m = await publish(`${s}.a`, "once");
      await eventually("the delivery", () => first.has(m));
      await first.stop();
      await eventually("pending 0 after the ack", async () => (await port().pending(name)) === 0);
      await publish(`${s}.a`, "next");
      const second = receive(name, "ack");
      await settle(name, second);
      assert.deepEqual(got(first), ["once"]);
      assert.deepEqual(got(second), ["next"]);
    });

    void it("retry delivers again not before the delay, attempt 2, same message, slot freed", async () => {
      const s = space();
      const name = await consumer([`${s}.r`]);
      const inbox = receive(name, "hold", 1);
      const m = await publish(`${s}.r`, "again", { headers: { "x-k": "v" } });
      const other = await publish(`${s}.r`, "other");
      await eventually("the first delivery", () => inbox.held.length === 1);
      const d1 = inbox.held[0] as Delivery;
      assert.equal(d1.id, m.id);
      assert.equal(d1.attempt, 1);
      const retryAt = Date.now();
      await inbox.retry(d1, 500);
      // the slot is free while the retry waits: the next message comes in first
      await eventually("the other message", () => inbox.has(other));
      const o = inbox.held[0] as Delivery;
      assert.equal(o.id, other.id);
      await inbox.ack(o);
      await eventually("the redelivery", () => inbox.received.length === 3);
      const d2 = inbox.received[2] as Delivery;
      const waited = (inbox.arrivedAt[2] ?? 0) - retryAt;
      assert.ok(waited >= 500 - CLOCK_SLACK_MS, `redelivered after ${waited} ms, asked for 500`);
      assertSameMessage(d2, m, "redelivery");
      assert.equal(d2.attempt, 2);
      await inbox.retry(d2, 0);
      await eventually("the third delivery", () => inbox.received.length === 4);
      const d3 = inbox.received[3] as Delivery;
      assertSameMessage(d3, m, "third delivery");
      assert.equal(d3.attempt, 3);
      await inbox.ack(d3);
      await eventually("pending 0", async () => (await port().pending(name)) === 0);
      await delay(QUIET_MS);
      assert.equal(inbox.received.length, 4, "an acked retry is not delivered again");
    });

    void it("deadLetter keeps the message, attempts, reason and time, and never delivers it again", async () => {
      const s = space();
      const name = await consumer([`${s}.>`]);
      const inbox = receive(name, "hold", 1);
      const m = await publish(`${s}.bad`, "cannot parse", {
        id: `id-${run}-dead`,
        headers: { "Content-Type": "text/plain", "x-empty": "" },
      });
      await eventually("the first delivery", () => inbox.held.length === 1);
      await inbox.retry(inbox.held[0] as Delivery, 0);
      await eventually("the second delivery", () => inbox.received.length === 2);
      const d2 = inbox.held[0] as Delivery;
      assert.equal(d2.attempt, 2);
      const t0 = Date.now();
      await inbox.deadLetter(d2, "bad input: 'x' at 3");
      const t1 = Date.now();

      assert.equal(await port().deadLetters.count(name), 1);
      const page = await port().deadLetters.list(name);
      assert.equal(page.items.length, 1);
      assert.equal(page.cursor, undefined);
      const listed = page.items[0] as DeadLetter;
      const fetched = await port().deadLetters.get(name, m.id);
      assert.ok(fetched !== undefined, "get finds the dead letter by message id");
      for (const [what, dl] of [
        ["listed", listed],
        ["fetched", fetched],
      ] as const) {
        assertSameMessage(dl, m, what);
        assert.deepEqual(dl.headers, { "content-type": "text/plain", "x-empty": "" });
        assert.equal(dl.attempts, 2, `${what}: attempts`);
        assert.equal(dl.reason, "bad input: 'x' at 3", `${what}: reason`);
        assert.ok(
          dl.failedAt >= t0 - CLOCK_SLACK_MS && dl.failedAt <= t1 + CLOCK_SLACK_MS,
          `${what}: failedAt ${dl.failedAt} outside [${t0}, ${t1}]`,
        );
      }
      assert.equal(await port().deadLetters.get(name, `id-${run}-nope`), undefined);
      assert.equal(await port().pending(name), 0);
      await settle(name, inbox);
      assert.deepEqual(got(inbox), ["cannot parse", "cannot parse"]);
    });

    void it("never more than `concurrency` deliveries unanswered; an answer lets the next in", async () => {
      const s = space();
      const name = await consumer([`${s}.c`]);
      for (let i = 0; i < 10; i++) await publish(`${s}.c`, `c${i}`);
      const inbox = receive(name, "hold", 3);
      await eventually("three deliveries", () => inbox.held.length === 3);
      await delay(QUIET_MS);
      assert.equal(inbox.received.length, 3, "a fourth came in while three were unanswered");

      await inbox.ack(inbox.held[0] as Delivery);
      await eventually("a fourth after an ack", () => inbox.received.length === 4);
      await inbox.retry(inbox.held[0] as Delivery, 0);
      await eventually("a fifth after a retry", () => inbox.received.length === 5);
      await inbox.deadLetter(inbox.held[0] as Delivery, "test");
      await eventually("a sixth after a dead letter", () => inbox.received.length === 6);
      await delay(QUIET_MS);
      assert.equal(inbox.received.length, 6);
      assert.equal(inbox.held.length, 3);

      await eventually("every message answered", async () => {
        for (const d of [...inbox.held]) await inbox.ack(d);
        return inbox.held.length === 0 && (await port().pending(name)) === 0;
      });
      assert.ok(inbox.maxUnanswered <= 3, `${inbox.maxUnanswered} unanswered at once`);
      const texts = new Set(inbox.texts());
      assert.equal(texts.size, 10, `delivered: ${[...texts].join(", ")}`);
      // ten messages, one retried once
      assert.equal(inbox.received.length, 11);
    });

    void it("500 messages, all acked, are each delivered exactly once", async () => {
      const s = space();
      const name = await consumer([`${s}.>`]);
      const inbox = receive(name, "ack", 16);
      const ids: string[] = [];
      for (let i = 0; i < 500; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: 50 }, (_, j) => publish(`${s}.n.${(i + j) % 7}`, `n${i + j}`)),
        );
        ids.push(...batch.map((m) => m.id));
      }
      await eventually("500 deliveries", () => inbox.received.length >= 500);
      await eventually("pending 0", async () => (await port().pending(name)) === 0);
      await delay(QUIET_MS);
      assert.equal(inbox.received.length, 500, "some message was delivered twice");
      assert.deepEqual(inbox.received.map((d) => d.id).sort(), [...ids].sort());
      assert.ok(inbox.received.every((d) => d.attempt === 1));
      assert.ok(inbox.maxUnanswered <= 16);
    });

    void it("with concurrency 1 messages on one subject arrive in publish order", async () => {
      const s = space();
      const name = await consumer([`${s}.o`]);
      const expected: string[] = [];
      for (let i = 0; i < 100; i++) {
        await publish(`${s}.o`, `o${i}`);
        expected.push(`o${i}`);
      }
      const inbox = receive(name, "ack", 1);
      for (let i = 100; i < 200; i++) {
        await publish(`${s}.o`, `o${i}`);
        expected.push(`o${i}`);
      }
      await eventually("200 deliveries", () => inbox.received.length >= 200);
      assert.deepEqual(inbox.texts(), expected);
    });

    void it("dead letters list oldest first, in pages with limit and after", async () => {
      const s = space();
      const name = await consumer([`${s}.l`]);
      const inbox = receive(name, "dead", 1);
      const accepted: QueueMessage[] = [];
      for (let i = 0; i < 7; i++) accepted.push(await publish(`${s}.l`, `l${i}`));
      await eventually("7 dead letters", async () => (await port().deadLetters.count(name)) === 7);
      await inbox.stop();

      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        assert.ok(++pages < 100, "pagination never ends");
        const page = await port().deadLetters.list(
          name,
          after === undefined ? { limit: 3 } : { limit: 3, after },
        );
        assert.ok(page.items.length <= 3, `a page of ${page.items.length} exceeds limit 3`);
        if (pages === 1) assert.notEqual(page.cursor, undefined, "more follow: a cursor");
        seen.push(...page.items.map((d) => d.id));
        if (page.cursor === undefined) break;
        assert.equal(typeof page.cursor, "string");
        after = page.cursor;
      }
      assert.deepEqual(
        seen,
        accepted.map((m) => m.id),
      );
      assert.ok(pages >= 3);
      const all = await deadLettersOf(name);
      assert.deepEqual(
        all.map((d) => [decode(d.data), d.reason, d.attempts]),
        accepted.map((m) => [decode(m.data), `dead ${decode(m.data)}`, 1]),
      );
      for (let i = 1; i < all.length; i++)
        assert.ok((all[i]?.failedAt ?? 0) >= (all[i - 1]?.failedAt ?? 0), "oldest first");
      const fourth = await port().deadLetters.get(name, accepted[4]?.id ?? "");
      assert.equal(fourth === undefined ? undefined : decode(fourth.data), "l4");
    });

    void it("redrive sends dead letters back as attempt 1 and takes them out of the queue", async () => {
      const s = space();
      const name = await consumer([`${s}.rd`]);
      const dead = receive(name, "dead", 1);
      const accepted: QueueMessage[] = [];
      for (let i = 0; i < 5; i++)
        accepted.push(await publish(`${s}.rd`, `rd${i}`, { headers: { "x-i": String(i) } }));
      await eventually("5 dead letters", async () => (await port().deadLetters.count(name)) === 5);
      await dead.stop();
      const [m0, m1, m2, m3, m4] = accepted as [
        QueueMessage,
        QueueMessage,
        QueueMessage,
        QueueMessage,
        QueueMessage,
      ];

      assert.equal(await port().deadLetters.redrive(name, [m1.id, m3.id, `id-${run}-nope`]), 2);
      assert.equal(await port().deadLetters.count(name), 3);
      assert.equal(await port().deadLetters.get(name, m1.id), undefined);
      assert.deepEqual(
        (await deadLettersOf(name)).map((d) => d.id),
        [m0.id, m2.id, m4.id],
      );
      const inbox = receive(name, "ack", 1);
      await eventually("the two redriven", () => inbox.has(m1) && inbox.has(m3));
      for (const m of [m1, m3]) {
        const d = inbox.received.find((x) => x.id === m.id);
        assert.ok(d !== undefined);
        assertSameMessage(d, m, `redriven ${decode(m.data)}`);
        assert.equal(d.attempt, 1);
      }

      assert.equal(await port().deadLetters.redrive(name), 3);
      assert.equal(await port().deadLetters.count(name), 0);
      await eventually("the other three", () => [m0, m2, m4].every((m) => inbox.has(m)));
      for (const m of [m0, m2, m4]) {
        const d = inbox.received.find((x) => x.id === m.id);
        assert.ok(d !== undefined);
        assertSameMessage(d, m, `redriven ${decode(m.data)}`);
        assert.equal(d.attempt, 1);
      }
      assert.equal(await port().deadLetters.redrive(name), 0);
      await settle(name, inbox);
      assert.equal(got(inbox).length, 5, `got ${got(inbox).join(", ")}`);
      assert.equal(await port().deadLetters.count(name), 0);
    });

    void it("purge deletes dead letters (named or all) and says how many; queues are per consumer", async () => {
      const s = space();
      const one = await consumer([`${s}.p`]);
      const two = await consumer([`${s}.p`]);
      const deadOne = receive(one, "dead", 1);
      const deadTwo = receive(two, "dead", 1);
      const accepted: QueueMessage[] = [];
      for (let i = 0; i < 4; i++) accepted.push(await publish(`${s}.p`, `p${i}`));
      await eventually("4 dead letters each", async () => {
        const [a, b] = await Promise.all([
          port().deadLetters.count(one),
          port().deadLetters.count(two),
        ]);
        return a === 4 && b === 4;
      });
      await deadOne.stop();
      await deadTwo.stop();
      const [m0, m1] = accepted as [QueueMessage, QueueMessage];

      assert.equal(await port().deadLetters.purge(one, [m0.id, `id-${run}-nope`]), 1);
      assert.equal(await port().deadLetters.count(one), 3);
      assert.equal(await port().deadLetters.get(one, m0.id), undefined);
      assert.notEqual(await port().deadLetters.get(two, m0.id), undefined, "two's copy stays");
      assert.equal(await port().deadLetters.purge(one), 3);
      assert.equal(await port().deadLetters.count(one), 0);
      assert.deepEqual((await port().deadLetters.list(one)).items, []);
      assert.equal(await port().deadLetters.purge(one), 0);
      assert.equal(await port().deadLetters.count(two), 4, "purging one left two's alone");

      // a redrive of two's dead letter goes to two only
      assert.equal(await port().deadLetters.redrive(two, [m1.id]), 1);
      const boxOne = receive(one, "ack");
      const boxTwo = receive(two, "ack");
      await eventually("two gets the redriven message", () => boxTwo.has(m1));
      await settle(one, boxOne);
      assert.deepEqual(got(boxOne), []);
      assert.equal(await port().deadLetters.count(two), 3);
    });

    void it("no delivery after stop() resolves; the rest wait for the next consume", async () => {
      const s = space();
      const name = await consumer([`${s}.s`]);
      const first = receive(name, "ack", 4);
      await publish(`${s}.s`, "s0");
      await eventually("s0", () => first.received.length === 1);
      await first.stop();
      await publish(`${s}.s`, "s1");
      await publish(`${s}.s`, "s2");
      await delay(QUIET_MS);
      assert.equal(first.afterStop, 0, "delivered after stop");
      assert.deepEqual(first.texts(), ["s0"]);
      await eventually("pending 2", async () => (await port().pending(name)) === 2);
      const second = receive(name, "ack", 4);
      await eventually("s1 and s2", () => second.received.length === 2);
      assert.deepEqual([...second.texts()].sort(), ["s1", "s2"]);
      assert.ok(second.received.every((d) => d.attempt === 1));
    });

    void it("deliveries left unanswered come back after the ack wait with the next attempt", async () => {
      const s = space();
      const ackWaitMs = 1000;
      const name = await consumer([`${s}.w`], ackWaitMs);
      const first = receive(name, "hold", 2);
      const t0 = Date.now();
      const answered = await publish(`${s}.w`, "answered after stop");
      const dropped = await publish(`${s}.w`, "never answered");
      await eventually("both held", () => first.held.length === 2);
      await first.stop();
      // a delivery handed out before stop may still be answered
      const late = first.received.find((d) => d.id === answered.id);
      assert.ok(late !== undefined);
      await first.ack(late);
      assert.equal(first.afterStop, 0);

      const second = receive(name, "ack", 2);
      await eventually("the unanswered delivery to come back", () => second.has(dropped));
      const d = second.received.find((x) => x.id === dropped.id);
      assert.ok(d !== undefined);
      assert.equal(d.attempt, 2);
      assertSameMessage(d, dropped, "redelivery");
      const waited = (second.arrivedAt[second.received.indexOf(d)] ?? 0) - t0;
      assert.ok(waited >= ackWaitMs - CLOCK_SLACK_MS, `came back after ${waited} ms`);
      await settle(name, second);
      assert.deepEqual(got(second), ["never answered"], "the one acked after stop came back");
    });

    void it("a delivery kept in progress is not delivered again, however long it is held", async () => {
      const s = space();
      const ackWaitMs = 1000;
      const name = await consumer([`${s}.p`], ackWaitMs);
      const inbox = receive(name, "hold", 2);
      const held = await publish(`${s}.p`, "held in progress");
      await eventually("held", () => inbox.held.length === 1);
      const d = inbox.received.find((x) => x.id === held.id);
      assert.ok(d !== undefined);
      // three ack waits, reporting progress twice per wait
      for (let i = 0; i < 6; i++) {
        await delay(ackWaitMs / 2);
        d.inProgress();
      }
      assert.equal(inbox.received.length, 1, "not handed out again while in progress");
      await inbox.ack(d);
      d.inProgress(); // after the answer: nothing
      await settle(name, inbox);
      assert.deepEqual(got(inbox), ["held in progress"]);
    });

    void it("ensureConsumer again changes the subjects and keeps pending messages", async () => {
      const s = space();
      const name = await consumer([`${s}.old`]);
      await publish(`${s}.old`, "p1");
      await eventually("pending 1", async () => (await port().pending(name)) === 1);
      await port().ensureConsumer(name, { subjects: [`${s}.new`, `${s}.also.*`], ackWaitMs: 5000 });
      assert.equal(await port().pending(name), 1, "pending messages stay");
      await publish(`${s}.old`, "p2");
      await publish(`${s}.new`, "p3");
      await publish(`${s}.also.x`, "p4");
      const inbox = receive(name, "ack");
      await settle(name, inbox);
      assert.deepEqual(got(inbox), ["p1", "p3", "p4"]);
    });

    void it("deleteConsumer drops its pending messages and dead letters; later publishes skip it", async () => {
      const s = space();
      const name = await consumer([`${s}.x`]);
      const witness = await consumer([`${s}.x`]);
      const dead = receive(name, "dead");
      await publish(`${s}.x`, "dead 1");
      await publish(`${s}.x`, "dead 2");
      await eventually("2 dead letters", async () => (await port().deadLetters.count(name)) === 2);
      await dead.stop();
      for (let i = 0; i < 3; i++) await publish(`${s}.x`, `pending ${i}`);
      await eventually("pending 3", async () => (await port().pending(name)) === 3);

      await port().deleteConsumer(name);
      assert.equal(await port().pending(name), 0);
      assert.equal(await port().deadLetters.count(name), 0);
      assert.deepEqual((await port().deadLetters.list(name)).items, []);
      await publish(`${s}.x`, "while deleted");
      await eventually("another consumer to keep its 6 messages", async () => {
        return (await port().pending(witness)) === 6;
      });

      await port().ensureConsumer(name, { subjects: [`${s}.x`], ackWaitMs: LONG_ACK_WAIT_MS });
      assert.equal(await port().pending(name), 0, "a consumer made again starts empty");
      assert.equal(await port().deadLetters.count(name), 0);
      await publish(`${s}.x`, "recreated");
      const inbox = receive(name, "ack");
      await settle(name, inbox);
      assert.deepEqual(got(inbox), ["recreated"]);
    });

    void it("pending counts every message not yet answered", async () => {
      const s = space();
      const name = await consumer([`${s}.c`]);
      assert.equal(await port().pending(name), 0);
      for (let i = 0; i < 4; i++) await publish(`${s}.c`, `c${i}`);
      await port().send(name, { subject: `${s}.sent`, data: text("sent") });
      await eventually("pending 5", async () => (await port().pending(name)) === 5);
      const inbox = receive(name, "hold", 1);
      await eventually("a delivery", () => inbox.held.length === 1);
      assert.equal(await port().pending(name), 5, "a delivery not yet answered is pending");
      await inbox.ack(inbox.held[0] as Delivery);
      await eventually("pending 4", async () => (await port().pending(name)) === 4);
      await eventually("a delivery", () => inbox.held.length === 1);
      await inbox.deadLetter(inbox.held[0] as Delivery, "x");
      await eventually("pending 3", async () => (await port().pending(name)) === 3);
      await eventually("a delivery", () => inbox.held.length === 1);
      await inbox.retry(inbox.held[0] as Delivery, 3_600_000);
      await eventually("a delivery", () => inbox.held.length === 1);
      assert.equal(await port().pending(name), 3, "a message waiting to be retried is pending");
    });

    void it("rejects invalid consumer names, overlapping subjects and wildcard publishes", async () => {
      const s = space();
      for (const name of ["", "a.b", "a b", "a*", "a>", "ключ", "x".repeat(201)]) {
        await assert.rejects(
          port().ensureConsumer(name, { subjects: [`${s}.a`], ackWaitMs: 1000 }),
          Error,
          `consumer name ${JSON.stringify(name)} was accepted`,
        );
      }
      const name = newName();
      created.add(name);
      await assert.rejects(
        port().ensureConsumer(name, { subjects: [`${s}.a.*`, `${s}.a.b`], ackWaitMs: 1000 }),
        Error,
        "overlapping subjects were accepted",
      );
      for (const bad of [`${s}.*`, `${s}.>`, `${s}..a`, `${s}.`, "", `${s}.a b`]) {
        await assert.rejects(
          port().publish({ subject: bad, data: text("x") }),
          Error,
          `publish on ${JSON.stringify(bad)} was accepted`,
        );
      }
    });

    void it("consumers and accepted messages outlive close(): a port opened again delivers them", async (t) => {
      const under = subject;
      assert.ok(under !== undefined);
      const reopen = under.reopen;
      if (reopen === undefined) {
        t.skip("the backend gives no reopen hook");
        return;
      }
      const s = space();
      const name = await consumer([`${s}.c`]);
      const published = await publish(`${s}.c`, "published before close");
      const sent = await port().send(name, { subject: `${s}.d`, data: text("sent before close") });
      for (const inbox of inboxes) await inbox.stop();
      inboxes.clear();
      await under.port.close();
      under.port = await reopen();

      const after = await publish(`${s}.c`, "published after reopen");
      const inbox = receive(name, "ack");
      await eventually("all three", () => [published, sent, after].every((m) => inbox.has(m)));
      for (const m of [published, sent, after]) {
        const d = inbox.received.find((x) => x.id === m.id);
        assert.ok(d !== undefined);
        assertSameMessage(d, m, decode(m.data));
        assert.equal(d.attempt, 1);
      }
      await settle(name, inbox);
      assert.equal(got(inbox).length, 3);
    });
  });
}
