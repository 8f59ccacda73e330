// The bus port's one conformance suite, run against every backend (test/backends/*-bus.test.ts).
// It pins what callers may rely on: subjects match as NATS matches them, a queue group gets each
// message once, a subscriber can answer on the reply subject, a message with a reply subject and
// no subscriber at all comes back as "no responders", and inboxes are never shared. Subjects are
// fresh per test, so a shared server needs no reset.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import type { BusMessage, BusPort } from "../../src/ports/bus.js";
import { eventually } from "../kit/eventually.js";

export interface BusUnderTest {
  /** Two ports on one bus, as two processes would have (the same one twice in process). */
  a: BusPort;
  b: BusPort;
  cleanup(): Promise<void>;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

export function busConformance(backend: string, open: () => Promise<BusUnderTest>): void {
  void describe(`bus port conformance (${backend})`, () => {
    let bus: BusUnderTest;
    const root = `t${randomBytes(4).toString("hex")}`;
    let n = 0;
    const space = () => `${root}.${++n}`;
    /** What a subscription received, in order. */
    const collect = (port: BusPort, subject: string, queue?: string) => {
      const got: BusMessage[] = [];
      const sub = port.subscribe(subject, (m) => got.push(m), queue === undefined ? {} : { queue });
      return { got, sub };
    };
    /** Lets subscriptions reach the server before publishing (NATS sends them asynchronously). */
    const settle = () => delay(100);

    before(async () => {
      bus = await open();
    });
    after(async () => {
      await bus.a.close();
      await bus.b.close();
      await bus.cleanup();
    });

    it("delivers data and headers to every plain subscriber of a subject", async () => {
      const s = space();
      const one = collect(bus.a, `${s}.x`);
      const two = collect(bus.b, `${s}.x`);
      await settle();
      await bus.a.publish(`${s}.x`, text("hello"), { "Trace-Id": "t1" });
      await eventually("both subscribers", () =>
        Promise.resolve(one.got.length === 1 && two.got.length === 1),
      );
      for (const { got } of [one, two]) {
        assert.equal(decode(got[0]?.data ?? new Uint8Array()), "hello");
        assert.equal(got[0]?.headers["trace-id"], "t1");
        assert.equal(got[0]?.subject, `${s}.x`);
        assert.equal(got[0]?.reply, undefined);
      }
      one.sub.unsubscribe();
      two.sub.unsubscribe();
    });

    it("matches '*' to one token and '>' to the rest, and nothing else", async () => {
      const s = space();
      const star = collect(bus.b, `${s}.*.paid`);
      const rest = collect(bus.b, `${s}.>`);
      await settle();
      for (const subject of [`${s}.a.paid`, `${s}.a.b.paid`, `${s}.a`, `${s}x.a.paid`])
        await bus.a.publish(subject, text(subject));
      await eventually("the matches", () => Promise.resolve(rest.got.length === 3));
      await delay(100);
      assert.deepEqual(
        star.got.map((m) => m.subject),
        [`${s}.a.paid`],
      );
      assert.deepEqual(rest.got.map((m) => m.subject).sort(), [
        `${s}.a`,
        `${s}.a.b.paid`,
        `${s}.a.paid`,
      ]);
      star.sub.unsubscribe();
      rest.sub.unsubscribe();
    });

    it("gives each message to one member of a queue group, and spreads them", async () => {
      const s = space();
      const one = collect(bus.a, s, "workers");
      const two = collect(bus.b, s, "workers");
      await settle();
      for (let i = 0; i < 40; i++) await bus.a.publish(s, text(String(i)));
      await eventually("all 40", () => Promise.resolve(one.got.length + two.got.length === 40));
      await delay(100);
      assert.equal(one.got.length + two.got.length, 40, "none twice");
      assert.ok(one.got.length > 0 && two.got.length > 0, `${one.got.length}/${two.got.length}`);
      one.sub.unsubscribe();
      two.sub.unsubscribe();
    });

    it("carries answers to the reply subject the sender gave", async () => {
      const s = space();
      const server = bus.b.subscribe(s, (m) => {
        if (m.reply !== undefined) void bus.b.publish(m.reply, text(`re: ${decode(m.data)}`));
      });
      const inbox = bus.a.inbox();
      const answers = collect(bus.a, inbox);
      await settle();
      await bus.a.publish(s, text("ping"), {}, { reply: inbox });
      await eventually("the answer", () => Promise.resolve(answers.got.length === 1));
      assert.equal(decode(answers.got[0]?.data ?? new Uint8Array()), "re: ping");
      assert.equal(answers.got[0]?.noResponders, undefined);
      server.unsubscribe();
      answers.sub.unsubscribe();
    });

    it("tells the reply subject when nobody at all subscribes to the subject", async () => {
      const inbox = bus.a.inbox();
      const answers = collect(bus.a, inbox);
      await settle();
      await bus.a.publish(space(), text("anyone?"), {}, { reply: inbox });
      await eventually("no responders", () => Promise.resolve(answers.got.length === 1));
      assert.equal(answers.got[0]?.noResponders, true);
      assert.equal(answers.got[0]?.data.length, 0);
      answers.sub.unsubscribe();
    });

    it("never hands out one inbox twice, and stops delivering once unsubscribed", async () => {
      const inboxes = new Set([bus.a.inbox(), bus.a.inbox(), bus.b.inbox(), bus.b.inbox()]);
      assert.equal(inboxes.size, 4);
      const s = space();
      const sub = collect(bus.b, s);
      await settle();
      await bus.a.publish(s, text("1"));
      await eventually("the first", () => Promise.resolve(sub.got.length === 1));
      sub.sub.unsubscribe();
      await settle();
      await bus.a.publish(s, text("2"));
      await delay(200);
      assert.equal(sub.got.length, 1);
    });
  });
}
