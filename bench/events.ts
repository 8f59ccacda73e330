// Events through a consumer function, on each backend:
//   throughput: a publisher function publishes N events (100 in flight) while a consumer
//     function (concurrency 64) takes them; events/s = N / (first publish → last handled).
//   latency: events published by the publisher function at half the target rate (5,000/s, bursts of 50
//     every 10 ms); each handler measures now − the publish time carried in the event.
// Beside them, on NATS, the same work with no platform: a Node JetStream client publishing and
// a pull consumer acking (the floor litefaas adds its work to), for throughput and for latency
// at the same 5,000/s in bursts of 50.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  jetstream,
  jetstreamManager,
  AckPolicy,
  RetentionPolicy,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { JetStreamPublisher } from "../src/backends/nats-queue/publisher.js";
import { coalesceWrites } from "../src/backends/nats/turn-writes.js";
import { startLitefaas } from "./servers.js";
import { removeCluster, sleep } from "./util.js";

const CONSUMER = `
let handled = 0;
let lastAt = 0;
const latencies = [];
export default {
  async message(msg) {
    handled++;
    lastAt = Date.now();
    if (typeof msg.data.t === "number") latencies.push(Date.now() - msg.data.t);
  },
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/reset") { handled = 0; latencies.length = 0; return new Response("ok"); }
    const sorted = latencies.slice().sort((a, b) => a - b);
    const at = (p) => sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
    return Response.json({ handled, lastAt, n: sorted.length, p50: at(50), p99: at(99) });
  },
};
`;

const PUBLISHER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n") ?? "1");
    const parallel = Number(url.searchParams.get("parallel") ?? "1");
    const stamp = url.searchParams.has("stamp");
    for (let i = 0; i < n; i += parallel) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + parallel); j++)
        batch.push(env.events.publish("bench.e", stamp ? { i: j, t: Date.now() } : { i: j }));
      await Promise.all(batch);
    }
    return Response.json({ published: n });
  },
};
`;

/** Events handled before measuring. */
const WARM_UP = 10_000;

export interface EventFigures {
  backend: string;
  /** Published by a function in the platform, consumed by another. */
  eventsPerSec: number;
  /** NATS only: published by an outside NATS client (how existing systems feed functions). */
  externalEventsPerSec?: number;
  latencyRate: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

interface Stats {
  handled: number;
  lastAt: number;
  n: number;
  p50: number | null;
  p99: number | null;
}

export async function eventFigures(
  backend: "sqlite" | "nats",
  natsUrl: string,
  total = 50_000,
): Promise<EventFigures> {
  const project = await mkdtemp(join(tmpdir(), "litefaas-bench-events-"));
  const name = `ev${Date.now().toString(36)}`;
  // a cluster of the run's own on the machine's NATS: fresh streams, removed afterwards
  const cluster = `bench-${name}`;
  await writeFile(
    join(project, "litefaas.yaml"),
    `project: ${name}\nfunctions:\n  sink:\n    main: sink.js\n    subjects: ["bench.*"]\n    concurrency: 64\n  source:\n    main: source.js\n    limits: { timeout: 5m }\n`,
  );
  await writeFile(join(project, "sink.js"), CONSUMER);
  await writeFile(join(project, "source.js"), PUBLISHER);
  // one instance takes the consumer's 64 at once, so the counts in it are all the counts
  const platform = await startLitefaas([
    "--per-instance",
    "128",
    ...(backend === "nats" ? ["--nats", natsUrl, "--cluster", cluster] : []),
  ]);
  const fn = (f: string, path: string) => `${platform.base}/fn/${name}/${f}${path}`;
  const stats = async () => (await (await fetch(fn("sink", "/stats"))).json()) as Stats;
  const waitFor = async (count: number) => {
    const giveUpAt = Date.now() + 300_000;
    for (let s = await stats(); ; s = await stats()) {
      if (s.handled >= count) return s;
      if (Date.now() > giveUpAt)
        throw new Error(`the consumer handled ${s.handled} of ${count} events in 5 minutes`);
      await sleep(20);
    }
  };
  try {
    await platform.deploy(project);
    // warm-up: instances, streams, and the JIT on every path (short runs measure the compiler)
    await fetch(fn("source", `/?n=${WARM_UP}&parallel=100`));
    await waitFor(WARM_UP);
    await fetch(fn("sink", "/reset"));

    const started = Date.now();
    const publishing = fetch(fn("source", `/?n=${total}&parallel=100`));
    await publishing;
    const done = await waitFor(total);
    const eventsPerSec = (total / Math.max(done.lastAt - started, 1)) * 1000;

    let externalEventsPerSec: number | undefined;
    if (backend === "nats") {
      await fetch(fn("sink", "/reset"));
      const nc = await connect({ servers: natsUrl });
      const js = jetstream(nc);
      const payload = new TextEncoder().encode('{"i":0}');
      const t0 = Date.now();
      for (let i = 0; i < total; i += 100) {
        const batch = [];
        for (let j = 0; j < 100; j++)
          batch.push(js.publish(`${cluster}.events.${name}.bench.e`, payload));
        await Promise.all(batch);
      }
      const external = await waitFor(total);
      externalEventsPerSec = (total / Math.max(external.lastAt - t0, 1)) * 1000;
      await nc.close();
    }

    await fetch(fn("sink", "/reset"));
    const rate = 5000;
    const seconds = 10;
    const bursts = (rate * seconds) / 50;
    const t0 = Date.now();
    const inflight: Array<Promise<unknown>> = [];
    for (let b = 0; b < bursts; b++) {
      const due = t0 + b * 10;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      inflight.push(fetch(fn("source", "/?n=50&parallel=50&stamp")).then((r) => r.text()));
    }
    await Promise.all(inflight);
    const paced = await waitFor(rate * seconds);
    return {
      backend,
      eventsPerSec,
      ...(externalEventsPerSec === undefined ? {} : { externalEventsPerSec }),
      latencyRate: rate,
      latencyP50Ms: paced.p50 ?? NaN,
      latencyP99Ms: paced.p99 ?? NaN,
    };
  } finally {
    await platform.stop();
    if (backend === "nats") await removeCluster(natsUrl, cluster);
    await rm(project, { recursive: true, force: true });
  }
}

function rawNames(prefix: string): { stream: string; subject: string } {
  const stream = `${prefix}${Date.now().toString(36).toUpperCase()}`;
  return { stream, subject: `${prefix.toLowerCase()}.${stream}` };
}

/** A stream as the platform's queue makes them (interest retention) with one durable "sink". */
async function addRawStream(jsm: JetStreamManager, stream: string, subject: string) {
  await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Interest });
  await jsm.consumers.add(stream, {
    durable_name: "sink",
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 1024,
  });
}

export interface RawLatency {
  rate: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * JetStream alone at the latency phase's load: 5,000/s in bursts of 50 every 10 ms, published
 * and consumed (pull consumer, 64 at a time, acked) by one Node process, stamped in a header at
 * publish. The publishes take the platform's path (core publish, PubAcks on one subscription,
 * one write per turn), the cheapest the client allows; the client's js.publish (a request each)
 * measured a p99 two to five times higher on this machine.
 */
export async function rawJetStreamLatency(natsUrl: string): Promise<RawLatency> {
  const nc = await connect({ servers: natsUrl });
  const reader = await connect({ servers: natsUrl });
  coalesceWrites(nc);
  coalesceWrites(reader);
  const jsm = await jetstreamManager(nc);
  const { stream, subject } = rawNames("BENCHLAT");
  const publisher = new JetStreamPublisher(nc);
  try {
    await addRawStream(jsm, stream, subject);
    const consumer = await jetstream(reader).consumers.get(stream, "sink");
    const rate = 5000;
    const total = rate * 10;
    const latencies: number[] = [];
    const messages = await consumer.consume({ max_messages: 64 });
    const consuming = (async () => {
      for await (const m of messages) {
        latencies.push(Date.now() - Number(m.headers?.get("t")));
        m.ack();
        if (latencies.length >= total) break;
      }
    })();
    const utf8 = new TextEncoder();
    const payload = utf8.encode('{"i":0}');
    const t0 = Date.now();
    const accepted: Array<Promise<unknown>> = [];
    for (let b = 0; b < total / 50; b++) {
      const wait = t0 + b * 10 - Date.now();
      if (wait > 0) await sleep(wait);
      const headers = utf8.encode(`NATS/1.0\r\nt: ${Date.now()}\r\n\r\n`);
      for (let j = 0; j < 50; j++) accepted.push(publisher.publish(subject, payload, headers));
    }
    await Promise.all(accepted);
    await consuming;
    latencies.sort((a, b) => a - b);
    const at = (p: number) => latencies[Math.ceil((p / 100) * latencies.length) - 1] ?? NaN;
    return { rate, p50Ms: at(50), p99Ms: at(99) };
  } finally {
    publisher.close();
    await jsm.streams.delete(stream).catch(() => undefined);
    await reader.close();
    await nc.close();
  }
}

/** JetStream alone: publish `total` (pipelined) and consume them with acks, from one Node process. */
export async function rawJetStream(
  natsUrl: string,
  total = 50_000,
): Promise<{ eventsPerSec: number }> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const { stream, subject } = rawNames("BENCHRAW");
  try {
    await addRawStream(jsm, stream, subject);
    const consumer = await js.consumers.get(stream, "sink");
    let handled = 0;
    let lastAt = 0;
    const messages = await consumer.consume({ max_messages: 512 });
    const consuming = (async () => {
      for await (const m of messages) {
        m.ack();
        handled++;
        lastAt = Date.now();
        if (handled >= total) break;
      }
    })();
    const started = Date.now();
    const payload = new TextEncoder().encode('{"i":0}');
    for (let i = 0; i < total; i += 100) {
      const batch = [];
      for (let j = 0; j < 100; j++) batch.push(js.publish(subject, payload));
      await Promise.all(batch);
    }
    await consuming;
    return { eventsPerSec: (total / Math.max(lastAt - started, 1)) * 1000 };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
}
