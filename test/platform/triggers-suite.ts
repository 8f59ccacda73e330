// The triggers suite, written once and run per backend set: pub/sub subjects, async invocations
// and cron through a real `litefaas up` — delivery, retries, the dead-letter queue, destinations,
// ordering, backpressure, scale from zero, redeploys, and SIGKILL with nothing lost.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { eventuallyValue } from "../kit/eventually.js";
import { FIXTURES, startPlatform, type Platform } from "../kit/platform.js";

export interface TriggersSuiteOptions {
  /** Extra `up` flags selecting backends, e.g. ["--nats", url]. */
  args: string[];
  label: string;
  /**
   * Publish on a subject of a project from outside the platform (NATS mode: a plain NATS client
   * on the documented subject).
   */
  externalPublish?: (project: string, subject: string, data: Uint8Array) => Promise<void>;
}

/** Work through a whole platform, restarts included, may take longer than one call. */
const GIVE_UP_MS = 90_000;
const eventually = <T>(what: string, probe: () => Promise<T | undefined>, giveUpMs = GIVE_UP_MS) =>
  eventuallyValue(what, probe, giveUpMs);
const FUNCTIONS = [
  "recorder",
  "ordered",
  "poison",
  "auditor",
  "bulk",
  "durable",
  "asyncfn",
  "ticker",
  "sparse",
  "legacy",
];

interface Recorded {
  id: string;
  subject: string;
  data: unknown;
  type: string;
  headers: Record<string, string>;
  attempt: number;
  publishedAt: number;
}

export function triggersSuite({ args, label, externalPublish }: TriggersSuiteOptions): void {
  void describe(`triggers end to end (${label})`, () => {
    let platform: Platform;
    let project: string;
    const p = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const admin = () => ({ authorization: `Bearer ${platform.token}` });
    const get = async <T>(path: string): Promise<T> => {
      const response = await platform.fetch(path, { headers: admin() });
      assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
      return (await response.json()) as T;
    };
    const journal = <T>(fn: string, prefix: string) =>
      get<Record<string, T>>(`/fn/${p}/${fn}/journal?prefix=${encodeURIComponent(prefix)}`);
    const publish = async (subject: string, data: string, contentType = "application/json") => {
      const response = await platform.fetch(`/admin/v1/projects/${p}/events/${subject}`, {
        method: "POST",
        headers: { ...admin(), "content-type": contentType },
        body: data,
      });
      assert.equal(response.status, 202, await response.clone().text());
    };
    const dlq = (fn: string) =>
      get<{
        items: Array<{ id: string; attempts: number; reason: string; subject: string }>;
        count: number;
      }>(`/admin/v1/functions/${p}/${fn}/dlq`);

    before(async () => {
      project = await mkdtemp(join(tmpdir(), "litefaas-triggers-"));
      await cp(join(FIXTURES, "triggers"), project, { recursive: true });
      const manifest = join(project, "litefaas.yaml");
      await writeFile(
        manifest,
        (await readFile(manifest, "utf8")).replace("project: triggers", `project: ${p}`),
      );
      platform = await startPlatform({ args });
      const deployed = await platform.deploy(project);
      assert.equal(deployed.code, 0, deployed.stderr);
    });
    after(async () => {
      try {
        for (const fn of FUNCTIONS) await platform.cli(["rm", `${p}/${fn}`, "--purge"]);
      } finally {
        await platform.dispose();
        await rm(project, { recursive: true, force: true });
      }
    });

    it("delivers published events to the functions whose subjects match, from zero instances", async () => {
      const before = await get<{ instances: number }>(`/admin/v1/functions/${p}/recorder`);
      assert.equal(before.instances, 0, "the consumer has not started an instance yet");
      const t0 = Date.now();
      await publish("orders.created", JSON.stringify({ order: 1 }));
      await publish("orders.42.paid", "plain words", "text/plain; charset=utf-8");
      await publish("orders.42.shipped", JSON.stringify({ order: 3 })); // matches nothing
      await publish("orders.7.paid", "\u0000\u00ff", "application/octet-stream");
      const seen = await eventually("three recorded messages", async () => {
        const entries = Object.values(await journal<Recorded>("recorder", "m:"));
        return entries.length >= 3 ? entries : undefined;
      });
      await delay(300);
      const all = Object.values(await journal<Recorded>("recorder", "m:"));
      assert.equal(
        all.length,
        3,
        `only matching subjects: ${JSON.stringify(all.map((m) => m.subject))}`,
      );
      const bySubject = new Map(seen.map((m) => [m.subject, m]));
      const created = bySubject.get("orders.created");
      assert.deepEqual(created?.data, { order: 1 });
      assert.equal(created?.type, "object");
      assert.equal(created?.attempt, 1);
      assert.ok(
        (created?.publishedAt ?? 0) >= t0 - 1000 && (created?.publishedAt ?? 0) <= Date.now(),
      );
      assert.equal(created?.headers["content-type"], "application/json");
      assert.equal(
        Object.keys(created?.headers ?? {}).some((h) => h.startsWith("litefaas-")),
        false,
      );
      assert.equal(bySubject.get("orders.42.paid")?.data, "plain words");
      assert.deepEqual(bySubject.get("orders.7.paid")?.data, { bytes: [0, 0xc3, 0xbf] });
      assert.ok(new Set(seen.map((m) => m.id)).size === 3, "ids are unique");
    });

    it("events published by a function reach other functions' subjects", async () => {
      const response = await platform.fetch(
        `/fn/${p}/bulk/burst?subject=orders.created&n=2&from=100`,
      );
      assert.equal(response.status, 200, await response.clone().text());
      await eventually("the function-published events", async () => {
        const entries = Object.values(await journal<Recorded>("recorder", "m:"));
        const ns = entries.map((e) => (e.data as { n?: number }).n);
        return ns.includes(100) && ns.includes(101) ? true : undefined;
      });
    });

    if (externalPublish !== undefined) {
      it("events published by any NATS client on the documented subject are delivered", async () => {
        await externalPublish(p, "orders.created", new TextEncoder().encode('{"external":true}'));
        await eventually("the external event", async () => {
          const entries = Object.values(await journal<Recorded>("recorder", "m:"));
          const hit = entries.find((e) => (e.data as { external?: boolean }).external === true);
          return hit === undefined ? undefined : hit;
        });
      });
    }

    it("concurrency 1 keeps each subject's order, retries included", async () => {
      for (let n = 0; n < 30; n++)
        await publish("seq.a", JSON.stringify(n === 10 ? { n, failFirst: true } : { n }));
      const entries = await eventually("30 ordered messages", async () => {
        const found = await journal<number>("ordered", "o:seq.a:");
        return Object.keys(found).length >= 30 ? found : undefined;
      });
      const order = Object.keys(entries)
        .sort()
        .map((k) => entries[k]);
      assert.deepEqual(
        order,
        Array.from({ length: 30 }, (_, n) => n),
      );
    });

    it("a poison message reaches the DLQ after exactly `attempts` tries with the backoff, while others flow", async () => {
      await publish("work.x", JSON.stringify({ n: -1, poison: true }));
      for (let n = 0; n < 20; n++) await publish("work.x", JSON.stringify({ n }));
      const ok = await eventually("the 20 good messages", async () => {
        const found = await journal<string>("poison", "ok:");
        return Object.keys(found).length >= 20 ? found : undefined;
      });
      assert.equal(Object.keys(ok).length, 20);
      const dead = await eventually("the poison message in the DLQ", async () => {
        const page = await dlq("poison");
        // the count and the listing are two reads: on NATS they may disagree for a moment
        return page.count === 1 && page.items.length === 1 ? page : undefined;
      });
      const item = dead.items[0];
      assert.equal(item?.attempts, 3);
      assert.match(item?.reason ?? "", /FUNCTION_ERROR/);
      assert.equal(item?.subject, "work.x");
      const tries = await journal<{ at: number; attempt: number }>(
        "poison",
        `at:${item?.id ?? ""}:`,
      );
      const times = Object.values(tries).sort((a, b) => a.attempt - b.attempt);
      assert.deepEqual(
        times.map((t) => t.attempt),
        [1, 2, 3],
        "exactly three tries",
      );
      const gaps = [
        (times[1]?.at ?? 0) - (times[0]?.at ?? 0),
        (times[2]?.at ?? 0) - (times[1]?.at ?? 0),
      ];
      assert.ok((gaps[0] ?? 0) >= 190, `first backoff ≥ 200ms, got ${gaps[0]}`);
      assert.ok((gaps[1] ?? 0) >= 390, `second backoff ≥ 400ms (exponential), got ${gaps[1]}`);
      // destinations: one failure record, twenty success records
      const records = await eventually("the destination records", async () => {
        const found = await journal<{
          requestContext: { condition: string; attempts: number };
          error?: { code: string };
        }>("auditor", "r:audit.");
        return Object.keys(found).length >= 21 ? found : undefined;
      });
      const failed = Object.entries(records).filter(([k]) => k.startsWith("r:audit.failed:"));
      assert.equal(failed.length, 1);
      assert.equal(failed[0]?.[1].requestContext.condition, "RetriesExhausted");
      assert.equal(failed[0]?.[1].requestContext.attempts, 3);
      assert.equal(failed[0]?.[1].error?.code, "FUNCTION_ERROR");
      assert.equal(Object.keys(records).filter((k) => k.startsWith("r:audit.ok:")).length, 20);

      // redrive: back through the function with attempts reset, and back in the DLQ after 3 more
      const redrive = await platform.fetch(`/admin/v1/functions/${p}/poison/dlq/redrive`, {
        method: "POST",
        headers: { ...admin(), "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(redrive.status, 200, await redrive.clone().text());
      assert.deepEqual(await redrive.json(), { redriven: 1 });
      await eventually("three more tries after the redrive", async () => {
        const tries = await journal<number>("poison", `tries:${item?.id ?? ""}`);
        return tries[`tries:${item?.id ?? ""}`] === 6 ? true : undefined;
      });
      const retried = await journal<{ attempt: number }>("poison", `at:${item?.id ?? ""}:`);
      assert.deepEqual(
        Object.entries(retried)
          .sort(([a], [b]) => Number(a.split(":").pop()) - Number(b.split(":").pop()))
          .map(([, v]) => v.attempt),
        [1, 2, 3, 1, 2, 3],
        "a redriven message starts again at attempt 1",
      );
      const again = await eventually("the poison message back in the DLQ", async () => {
        const page = await dlq("poison");
        return page.count === 1 && page.items[0]?.attempts === 3 ? page : undefined;
      });
      assert.equal(again.items.length, 1);
    });

    it("a Lambda handler gets messages as SQS records; batchItemFailures fails them", async () => {
      await publish("legacy.a", JSON.stringify({ hello: "sqs" }));
      await publish("legacy.b", "please fail", "text/plain");
      const records = await eventually("the SQS records", async () => {
        const response = await platform.fetch(`/fn/${p}/legacy/`);
        const found = (await response.json()) as Array<{
          body: string;
          attributes: Record<string, string>;
          eventSource: string;
        }>;
        return found.filter((r) => r.body === "please fail").length >= 2 && found.length >= 3
          ? found
          : undefined;
      });
      const hello = records.find((r) => r.body === '{"hello":"sqs"}');
      assert.equal(hello?.eventSource, "litefaas:events");
      assert.equal(hello?.attributes["ApproximateReceiveCount"], "1");
      const retried = records
        .filter((r) => r.body === "please fail")
        .map((r) => r.attributes["ApproximateReceiveCount"]);
      assert.deepEqual(retried.slice(0, 2), ["1", "2"]);
    });

    it("works off a burst of 10,000 at the consumer's concurrency, without buffering it in memory", async () => {
      const rssBefore = await rssOf(platform);
      let peak = rssBefore;
      const sampler = setInterval(() => {
        void rssOf(platform).then((rss) => (peak = Math.max(peak, rss)));
      }, 200);
      try {
        // from outside, 16 requests at a time: no function isolate holds the payloads
        const pad = "x".repeat(16_000);
        let next = 0;
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            for (let n = next++; n < 10_000; n = next++)
              await publish("bulk.b", JSON.stringify({ n, pad }));
          }),
        );
        const stats = await eventually(
          "10,000 handled",
          async () => {
            const s = (await (await platform.fetch(`/fn/${p}/bulk/stats`)).json()) as {
              handled: number;
              distinct: number;
              maxInflight: number;
            };
            return s.distinct >= 10_000 ? s : undefined;
          },
          240_000,
        );
        assert.equal(stats.distinct, 10_000);
        assert.ok(stats.handled >= 10_000);
        assert.ok(stats.maxInflight <= 8, `concurrency 8 holds: saw ${stats.maxInflight} at once`);
        assert.ok(stats.maxInflight >= 2, "work did run concurrently");
      } finally {
        clearInterval(sampler);
      }
      // 10,000 × 16 kB = 160 MB went through: a platform that held the backlog would grow by at
      // least that, on top of the garbage the HTTP bodies leave until V8 collects it (~120 MiB)
      const grown = (peak - rssBefore) / 1024 / 1024;
      assert.ok(grown < 160, `platform memory grew ${grown.toFixed(0)} MiB during the burst`);
    });

    it("runs async invocations: 202 at once, then the status, result and idempotency", async () => {
      const submit = await platform.fetch(`/fn/${p}/asyncfn/work?x=1&async=1`, {
        method: "POST",
        body: "payload",
        headers: { "idempotency-key": `k-${p}` },
      });
      assert.equal(submit.status, 202);
      const accepted = (await submit.json()) as { id: string; status: string; statusUrl: string };
      assert.equal(accepted.status, "queued");
      assert.equal(submit.headers.get("location"), `/invocations/${accepted.id}`);
      const again = await platform.fetch(`/fn/${p}/asyncfn/work?x=1`, {
        method: "POST",
        body: "payload",
        headers: { "idempotency-key": `k-${p}`, "x-litefaas-invocation": "async" },
      });
      assert.equal(again.status, 202);
      assert.equal(((await again.json()) as { id: string }).id, accepted.id);
      assert.equal(again.headers.get("idempotent-replayed"), "true");
      const done = await eventually("the invocation to succeed", async () => {
        const record = (await (await platform.fetch(accepted.statusUrl)).json()) as {
          status: string;
          attempts: number;
          result?: { status: number; body: string; headers: Record<string, string> };
        };
        return record.status === "succeeded" ? record : undefined;
      });
      assert.equal(done.attempts, 1);
      assert.equal(done.result?.status, 201);
      assert.equal(done.result?.headers["x-made-by"], "asyncfn");
      const echoed = JSON.parse(done.result?.body ?? "{}") as {
        echo: string;
        method: string;
        search: string;
        runs: number;
      };
      assert.deepEqual(echoed, {
        echo: "payload",
        method: "POST",
        search: "?x=1",
        runs: 1,
        attempt: "1",
      });
      await delay(300);
      const runs = await journal<number>("asyncfn", "runs:");
      assert.equal(runs[`runs:${accepted.id}`], 1, "one key, one run");

      const failing = await platform.fetch(`/fn/${p}/asyncfn/?fail=1&async=1`, { method: "POST" });
      const failed = (await failing.json()) as { id: string };
      const record = await eventually("the failing invocation to fail", async () => {
        const r = (await (await platform.fetch(`/invocations/${failed.id}`)).json()) as {
          status: string;
          attempts: number;
          error?: { code: string };
        };
        return r.status === "failed" ? r : undefined;
      });
      assert.equal(record.attempts, 2);
      assert.equal(record.error?.code, "FUNCTION_ERROR");
      const dead = await eventually("the failed invocation in the DLQ", async () => {
        const page = await dlq("asyncfn");
        return page.items.find((i) => i.id === failed.id);
      });
      assert.equal(dead.attempts, 2);

      const missing = await platform.fetch("/invocations/00000000-0000-4000-8000-000000000000");
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "NOT_FOUND");
    });

    it("runs cron ticks once each, on time, with the scheduled handler", async () => {
      const ticks = await eventually("three ticks", async () => {
        const found = await journal<number>("ticker", "tick:");
        return Object.keys(found).length >= 3 ? found : undefined;
      });
      for (const [key, runs] of Object.entries(ticks)) {
        assert.equal(runs, 1, `${key} ran once`);
        assert.equal(Number(key.slice(5)) % 1000, 0, "ticks are whole seconds");
      }
      const info = await journal<{ cron: string; type: string; at: number }>("ticker", "info:");
      const first = Object.entries(info)[0];
      assert.equal(first?.[1].cron, "* * * * * *");
      assert.equal(first?.[1].type, "scheduled");
      assert.ok((first?.[1].at ?? 0) >= Number(first?.[0].slice(5)), "never before its time");
    });

    it("loses nothing when killed with SIGKILL mid-burst, and runs a missed tick on start", async () => {
      const response = await platform.fetch(
        `/fn/${p}/durable/burst?subject=durable.k&n=2000&parallel=20`,
      );
      assert.equal(response.status, 200, await response.clone().text());
      const asyncIds: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await platform.fetch(`/fn/${p}/asyncfn/k${i}?async=1`, {
          method: "POST",
          body: `k${i}`,
        });
        asyncIds.push(((await r.json()) as { id: string }).id);
      }
      await eventually("part of the burst handled", async () => {
        const s = (await (await platform.fetch(`/fn/${p}/durable/count`)).json()) as {
          count: number;
        };
        return s.count >= 100 ? true : undefined;
      });
      const killedAt = Date.now();
      await platform.stop("SIGKILL");
      await delay(4500); // the sparse schedule ticks every 4 s: one passes while down
      const restartedAt = Date.now();
      platform = await platform.restart();
      const final = await eventually("all 2,000 handled after the restart", async () => {
        const s = (await (await platform.fetch(`/fn/${p}/durable/count`)).json()) as {
          count: number;
        };
        return s.count >= 2000 ? s : undefined;
      });
      assert.equal(final.count, 2000);
      for (const id of asyncIds) {
        await eventually(`async invocation ${id}`, async () => {
          const r = (await (await platform.fetch(`/invocations/${id}`)).json()) as {
            status: string;
          };
          return r.status === "succeeded" ? true : undefined;
        });
      }
      // the platform says which tick it ran on start; it ran once, and it was missed while down
      const said = await eventually("the missed tick to be run", async () => {
        const logs = await platform.cli(["logs", `${p}/sparse`, "--json"]);
        const lines = logs.stdout
          .split("\n")
          .filter((l) => l.includes("missed while the platform was down"))
          .map((l) => JSON.parse(l) as { ts: number; message: string })
          .filter((l) => l.ts >= restartedAt);
        return lines.length > 0 ? lines : undefined;
      });
      assert.equal(said.length, 1, "one missed tick runs, however many were missed");
      const iso = /tick of (\S+),/.exec(said[0]?.message ?? "")?.[1] ?? "";
      const missed = Date.parse(iso);
      assert.ok(missed > killedAt, `the tick run (${iso}) came after the kill`);
      const runs = await eventually("the missed tick's run", async () => {
        const found = await journal<number>("sparse", `tick:${missed}`);
        return found[`tick:${missed}`];
      });
      assert.equal(runs, 1);
    });

    it("a redeploy mid-stream loses nothing", async () => {
      const manifest = join(project, "litefaas.yaml");
      const response = await platform.fetch(
        `/fn/${p}/durable/burst?subject=durable.r&n=1000&from=5000&parallel=20`,
      );
      assert.equal(response.status, 200, await response.clone().text());
      await writeFile(
        manifest,
        (await readFile(manifest, "utf8")).replace('GENERATION: "1"', 'GENERATION: "2"'),
      );
      const deployed = await platform.deploy(project);
      assert.equal(deployed.code, 0, deployed.stderr);
      const generation = (await (
        await platform.fetch(`/fn/${p}/durable/generation`)
      ).json()) as string;
      assert.equal(generation, "2");
      const final = await eventually("all 3,000 handled", async () => {
        const s = (await (await platform.fetch(`/fn/${p}/durable/count`)).json()) as {
          count: number;
        };
        return s.count >= 3000 ? s : undefined;
      });
      assert.equal(final.count, 3000);
    });

    it("refuses a deploy whose subjects or schedule have no handler, naming the fix", async () => {
      const broken = await mkdtemp(join(tmpdir(), "litefaas-triggers-broken-"));
      try {
        await writeFile(
          join(broken, "litefaas.yaml"),
          `project: ${p}b\nfunctions:\n  web:\n    main: web.ts\n    subjects: ["a.b"]\n`,
        );
        await writeFile(
          join(broken, "web.ts"),
          'export default { fetch() { return new Response("hi") } };\n',
        );
        const result = await platform.deploy(broken);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /no message handler/);
        assert.match(result.stderr, /async message/);
      } finally {
        await rm(broken, { recursive: true, force: true });
      }
    });
  });
}

/** Resident memory of the platform process, in bytes. */
async function rssOf(platform: Platform): Promise<number> {
  const status = await readFile(`/proc/${platform.pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return Number(kb ?? "0") * 1024;
}
