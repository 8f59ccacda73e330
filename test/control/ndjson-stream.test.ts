// Live NDJSON answers (log follow, events tail) to a client that stops reading: what waits for it
// stays bounded, what could not wait is counted and reported once the client reads again, in
// order, and nothing else goes missing. A real HTTP server and client on loopback.
import assert from "node:assert/strict";
import { createServer, get, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { streamNdjson } from "../../src/control/ndjson-stream.js";
import { eventually } from "../kit/eventually.js";

const MAX_UNSENT = 64 * 1024;
const PAD = "x".repeat(4096);
/** 128 KiB: the first values are never dropped, and the bound is on what comes after them. */
const FIRST = { first: true, pad: PAD.repeat(32) };
const FIRST_BYTES = JSON.stringify(FIRST).length + 1;

interface Line {
  first?: boolean;
  i?: number;
  dropped?: number;
}

describe("live NDJSON answers", () => {
  let base = "";
  let server: ReturnType<typeof createServer>;
  let answer: ServerResponse | undefined;
  let send: ((value: unknown) => void) | undefined;
  let stopped = 0;

  before(async () => {
    server = createServer((_req, res) => {
      answer = res;
      streamNdjson(
        res,
        [FIRST],
        (s) => {
          send = s;
          return () => stopped++;
        },
        (count) => ({ dropped: count }),
        MAX_UNSENT,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A client that has the head and reads nothing until `resume`. */
  const stalledClient = async () => {
    const response = await new Promise<IncomingMessage>((resolve) => get(base, resolve));
    response.pause();
    const lines: Line[] = [];
    let pending = "";
    return {
      response,
      lines,
      resume() {
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          pending += chunk;
          const complete = pending.split("\n");
          pending = complete.pop() ?? "";
          for (const raw of complete) if (raw !== "") lines.push(JSON.parse(raw) as Line);
        });
        response.resume();
      },
    };
  };

  it("drops what a stalled client cannot take, keeps the rest bounded, and says how many", async () => {
    const client = await stalledClient();
    assert.equal(client.response.headers["content-type"], "application/x-ndjson");
    const res = answer;
    assert.ok(res !== undefined && send !== undefined);
    // what may wait: the first values (some may have left already), the bound, and the line
    // that crossed it (with the response's head)
    const limit = FIRST_BYTES + MAX_UNSENT + PAD.length + 512;
    // until what waits is past the bound whatever the kernel's buffers took (sure to drop
    // then), and 500 more; the socket takes what it can between bursts
    const past = FIRST_BYTES + MAX_UNSENT + 512;
    let total = 0;
    let mostUnsent = 0;
    for (let more = 500; more > 0 && total < 200_000;) {
      send({ i: total++, pad: PAD });
      mostUnsent = Math.max(mostUnsent, res.writableLength);
      if (mostUnsent > past) more--;
      if (total % 100 === 0) await turn();
    }
    assert.ok(
      mostUnsent <= limit,
      `at most one line past the bound waited (${mostUnsent} bytes, bound ${limit})`,
    );

    client.resume();
    // caught up: every value arrived or was reported dropped
    const accounted = () =>
      client.lines.reduce((n, l) => n + (l.dropped ?? (l.i === undefined ? 0 : 1)), 0);
    await eventually("every value sent or reported dropped", () => accounted() === total);
    send({ i: total });
    await eventually("the line sent after the report", () =>
      client.lines.some((l) => l.i === total),
    );

    const [head, ...rest] = client.lines;
    assert.equal(head?.first, true, "the first value came first, whole");
    // values in order; a gap only right after a report, exactly as long as the report says
    let next = 0;
    let reported = 0;
    let dropped = 0;
    for (const line of rest) {
      if (line.dropped !== undefined) {
        assert.equal(reported, 0, "one report per gap");
        reported = line.dropped;
        dropped += line.dropped;
        continue;
      }
      assert.equal(line.i, next + reported, `line ${line.i} follows ${next - 1} and the report`);
      next = (line.i ?? 0) + 1;
      reported = 0;
    }
    assert.equal(next, total + 1, "the line sent after the report came last");
    assert.ok(dropped > 0, "a burst past the bound to a stalled reader dropped lines");
    assert.equal(rest.filter((l) => l.i !== undefined).length + dropped, total + 1);

    const before = stopped;
    client.response.destroy();
    await eventually("the subscription ended with the client", () => stopped === before + 1);
  });

  it("loses nothing for a client that reads as fast as lines come", async () => {
    const client = await stalledClient();
    client.resume();
    assert.ok(send !== undefined);
    for (let i = 0; i < 2000; i++) {
      send({ i, pad: PAD });
      if (i % 10 === 9) await turn();
    }
    await eventually("all 2000 lines", () => client.lines.length === 2001);
    assert.equal(client.lines.filter((l) => l.dropped !== undefined).length, 0, "nothing dropped");
    client.response.destroy();
  });
});
