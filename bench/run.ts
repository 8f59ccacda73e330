// npm run bench: litefaas beside its peers, on this machine, in one run.
//   1. warm hello world: bare Node http, litefaas (full gateway), workerd — wrk -t1 -c50
//   2. cold start: ≥200 deployed, never-run functions, one request each, end to end
//   3. memory: 1,000 functions deployed, 500 warm, resident set of the platform process
//   4. kv: binding calls from inside a function, SQLite and NATS
//   5. events: throughput through a consumer function and publish→handler latency, SQLite and
//      NATS, beside raw JetStream
//   6. gateway: hello world through a plain route and one with JWT + rate limit + CORS
//   7. processes: Python and a shell bootstrap, cold and warm, beside the isolate's warm
//   8. cluster: hello world through gateway and worker processes over NATS, beside one process
//   9. console: first paint, functions list and editor in headless Chromium, cold cache
// Results print as a table with ratios and are written to bench/results/<date>.json.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bindingFigures, type BindingFigures } from "./bindings.js";
import { clusterFigures } from "./cluster.js";
import { consoleFigures } from "./console.js";
import {
  eventFigures,
  rawJetStream,
  rawJetStreamLatency,
  type EventFigures,
  type RawLatency,
} from "./events.js";
import { gatewayFigures } from "./gateway.js";
import { isolateWarm, processFigures } from "./processes.js";
import { coldStarts, memoryAtScale } from "./scale.js";
import { startBareNode, startLitefaas, startWorkerd, type Server } from "./servers.js";
import { requireWrk, wrk, type WrkResult } from "./wrk.js";
import { ROOT, formatTable } from "./util.js";

const DURATION = process.env["BENCH_DURATION"] ?? "10s";
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? "50");
const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);

async function throughput(): Promise<Record<string, WrkResult>> {
  const results: Record<string, WrkResult> = {};
  const servers: Array<[string, () => Promise<Server>]> = [
    ["bare node http", startBareNode],
    ["litefaas", startLitefaas],
    ["workerd", startWorkerd],
  ];
  for (const [name, start] of servers) {
    const server = await start();
    try {
      await wrk(server.url, "2s", CONNECTIONS); // warm-up: JIT, pools, instances
      results[name] = await wrk(server.url, DURATION, CONNECTIONS);
      process.stdout.write(
        `  ${name}: ${Math.round(results[name].rps)} req/s, p99 ${results[name].p99Ms.toFixed(2)} ms\n`,
      );
    } finally {
      await server.stop();
    }
  }
  return results;
}

async function main() {
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import("node:os")).cpus().length,
  };
  if (wanted("throughput")) {
    requireWrk();
    process.stdout.write(`warm hello world, wrk -t1 -c${CONNECTIONS} -d${DURATION}:\n`);
    const t = await throughput();
    const bare = t["bare node http"];
    const lf = t["litefaas"];
    const wd = t["workerd"];
    report["throughput"] = t;
    if (bare !== undefined && lf !== undefined && wd !== undefined) {
      report["ratios"] = {
        litefaasVsBareNode: lf.rps / bare.rps,
        litefaasVsWorkerd: lf.rps / wd.rps,
      };
      process.stdout.write(
        `\n${formatTable([
          ["server", "req/s", "p50 ms", "p99 ms"],
          ...Object.entries(t).map(([n, r]) => [
            n,
            String(Math.round(r.rps)),
            r.p50Ms.toFixed(2),
            r.p99Ms.toFixed(2),
          ]),
        ])}\n` +
          `litefaas / bare node: ${((lf.rps / bare.rps) * 100).toFixed(1)}% (target ≥ 60%)\n` +
          `litefaas / workerd:   ${(lf.rps / wd.rps).toFixed(2)}× (target ≥ 1.5×)\n` +
          `litefaas p99: ${lf.p99Ms.toFixed(2)} ms (target < 5 ms)\n`,
      );
    }
  }
  if (wanted("cold")) {
    process.stdout.write(
      "\ncold start, 200 distinct functions, deployed and never run, one request each:\n",
    );
    const cold = await coldStarts(200);
    report["coldStart"] = cold;
    process.stdout.write(
      `  paced, 20 a second (the prepared-isolate supply keeps up): p50 ${cold.paced.p50.toFixed(2)} ms, ` +
        `p99 ${cold.paced.p99.toFixed(2)} ms (targets ≤ 3 / ≤ 10 ms)\n` +
        `  back to back (the supply runs dry): p50 ${cold.cold.p50.toFixed(2)} ms, p99 ${cold.cold.p99.toFixed(2)} ms; ` +
        `same client, warm: p50 ${cold.warm.p50.toFixed(2)} ms\n`,
    );
  }
  if (wanted("memory")) {
    process.stdout.write("\nmemory, 1,000 functions deployed, 500 warm:\n");
    const memory = await memoryAtScale(1000, 500);
    report["memory"] = memory;
    process.stdout.write(
      `  resident: ${memory.idleMiB.toFixed(0)} MiB after deploy, ${memory.warmMiB.toFixed(0)} MiB with ${memory.warm} warm (target < 1024 MiB)\n`,
    );
  }
  if (wanted("kv")) {
    process.stdout.write(
      "\nKV from inside a function (sequential, one invocation; and per request):\n",
    );
    const natsUrl = process.env["LITEFAAS_BENCH_NATS"] ?? "nats://127.0.0.1:4222";
    const figures: BindingFigures[] = [await bindingFigures("sqlite", natsUrl)];
    try {
      figures.push(await bindingFigures("nats", natsUrl));
    } catch (error) {
      process.stdout.write(
        `  NATS skipped: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
    report["kv"] = figures;
    process.stdout.write(
      `${formatTable([
        [
          "backend",
          "get ops/s",
          "put ops/s",
          "req p50 noop",
          "req p50 get",
          "req p99 get",
          "raw get p50",
          "binding overhead p50",
        ],
        ...figures.map((f) => [
          f.backend,
          String(Math.round(f.getOpsPerSec)),
          String(Math.round(f.putOpsPerSec)),
          `${f.requestNoopP50.toFixed(3)} ms`,
          `${f.requestGetP50.toFixed(3)} ms`,
          `${f.requestGetP99.toFixed(3)} ms`,
          `${f.rawGetP50.toFixed(3)} ms`,
          `${f.overheadP50Us.toFixed(0)} µs (target ≤ 50)`,
        ]),
      ])}\n`,
    );
  }
  if (wanted("events")) {
    process.stdout.write("\nevents through a consumer function (concurrency 64):\n");
    const natsUrl = process.env["LITEFAAS_BENCH_NATS"] ?? "nats://127.0.0.1:4222";
    const figures: EventFigures[] = [await eventFigures("sqlite", natsUrl)];
    let raw: { eventsPerSec: number } | undefined;
    let rawLatency: RawLatency | undefined;
    try {
      figures.push(await eventFigures("nats", natsUrl));
      raw = await rawJetStream(natsUrl);
      rawLatency = await rawJetStreamLatency(natsUrl);
    } catch (error) {
      process.stdout.write(
        `  NATS skipped: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
    report["events"] = { litefaas: figures, rawJetStream: raw, rawJetStreamLatency: rawLatency };
    process.stdout.write(
      `${formatTable([
        [
          "backend",
          "events/s fn→fn (target ≥ 10,000)",
          "events/s NATS client→fn",
          "latency at",
          "p50",
          "p99 (target ≤ 20 ms)",
        ],
        ...figures.map((f) => [
          `litefaas ${f.backend}`,
          String(Math.round(f.eventsPerSec)),
          f.externalEventsPerSec === undefined ? "" : String(Math.round(f.externalEventsPerSec)),
          `${f.latencyRate}/s`,
          `${f.latencyP50Ms} ms`,
          `${f.latencyP99Ms} ms`,
        ]),
        ...(raw === undefined
          ? []
          : [
              [
                "raw JetStream (no platform)",
                "",
                String(Math.round(raw.eventsPerSec)),
                rawLatency === undefined ? "" : `${rawLatency.rate}/s`,
                rawLatency === undefined ? "" : `${rawLatency.p50Ms} ms`,
                rawLatency === undefined ? "" : `${rawLatency.p99Ms} ms`,
              ],
            ]),
      ])}\n`,
    );
  }
  if (wanted("gateway")) {
    requireWrk();
    process.stdout.write(`\ngateway cost, wrk -t1 -c${CONNECTIONS} -d${DURATION}:\n`);
    const g = await gatewayFigures(DURATION, CONNECTIONS);
    report["gateway"] = g;
    process.stdout.write(
      `${formatTable([
        ["route", "req/s", "p50", "p99 (target ≤ 5 ms)"],
        [
          "plain",
          String(Math.round(g.plain.rps)),
          `${g.plain.p50Ms.toFixed(2)} ms`,
          `${g.plain.p99Ms.toFixed(2)} ms`,
        ],
        [
          "JWT + rate limit + CORS",
          String(Math.round(g.guarded.rps)),
          `${g.guarded.p50Ms.toFixed(2)} ms`,
          `${g.guarded.p99Ms.toFixed(2)} ms`,
        ],
      ])}\ncost: ${(g.cost * 100).toFixed(1)} % of throughput (target ≤ 15 %)\n`,
    );
  }
  if (wanted("cluster")) {
    requireWrk();
    const natsUrl = process.env["LITEFAAS_BENCH_NATS"] ?? "nats://127.0.0.1:4222";
    process.stdout.write(
      `\nprocesses over NATS, hello world, wrk -t1 -c${CONNECTIONS} and -c1, -d${DURATION}:\n`,
    );
    const c = await clusterFigures(natsUrl, DURATION, CONNECTIONS);
    report["cluster"] = c;
    process.stdout.write(
      `${formatTable([
        ["setup", "req/s", "p50", "p99", "p50 at 1 conn", "CPU per request (ms) by process"],
        ...c.setups.map((s) => [
          s.setup,
          String(Math.round(s.loaded.rps)),
          `${s.loaded.p50Ms.toFixed(2)} ms`,
          `${s.loaded.p99Ms.toFixed(2)} ms`,
          `${s.single.p50Ms.toFixed(3)} ms`,
          Object.entries(s.cpuPerRequestMs)
            .map(([role, ms]) => `${role} ${ms.toFixed(3)}`)
            .join(", "),
        ]),
      ])}\nthe NATS hop adds ${c.hopP50Ms.toFixed(3)} ms at p50 (target ≤ 0.5 ms)\n` +
        c.setups
          .map(
            (s) =>
              `${s.setup}: a deploy through control serves at the gateway in ${s.deployToServedMs.map((ms) => ms.toFixed(0)).join(", ")} ms (target ≤ 1 s)`,
          )
          .join("\n") +
        "\n",
    );
  }
  if (wanted("processes")) {
    requireWrk();
    process.stdout.write(
      "\nprocess functions, distinct copies cold (300 ms apart, then back to back), then one warm:\n",
    );
    const isolate = await isolateWarm();
    const figures = [
      await processFigures("python", 30, DURATION, 4),
      await processFigures("shell", 10, DURATION, 4),
    ];
    report["processes"] = { isolateWarm: isolate, figures };
    process.stdout.write(
      `${formatTable([
        [
          "runtime",
          "cold p50 (target ≤ 60 ms)",
          "cold p99",
          "back to back p50",
          "p99",
          "warm p50",
          "warm p99",
          "over isolate",
          "req/s (-c4)",
        ],
        [
          "isolate (reference)",
          "",
          "",
          "",
          "",
          `${isolate.p50.toFixed(2)} ms`,
          `${isolate.p99.toFixed(2)} ms`,
          "",
          "",
        ],
        ...figures.map((f) => [
          f.runtime,
          `${f.cold.p50.toFixed(1)} ms`,
          `${f.cold.p99.toFixed(1)} ms`,
          `${f.coldBackToBack.p50.toFixed(1)} ms`,
          `${f.coldBackToBack.p99.toFixed(1)} ms`,
          `${f.warm.p50.toFixed(2)} ms`,
          `${f.warm.p99.toFixed(2)} ms`,
          `${(f.warm.p50 - isolate.p50).toFixed(2)} ms (target ≤ 0.3)`,
          String(Math.round(f.throughput.rps)),
        ]),
      ])}\n`,
    );
  }
  if (wanted("console")) {
    process.stdout.write("\nthe console in headless Chromium on loopback, cold cache each run:\n");
    const c = await consoleFigures(10);
    report["console"] = c;
    const ms = (f: { p50: number; max: number }) =>
      `${f.p50.toFixed(0)} ms (max ${f.max.toFixed(0)})`;
    process.stdout.write(
      `${formatTable([
        [
          "first paint (target < 1 s)",
          "functions list after sign-in",
          "editor ready",
          "transferred",
        ],
        [
          ms(c.firstPaintMs),
          ms(c.listShownMs),
          ms(c.editorShownMs),
          `${c.transferredKiB.toFixed(0)} KiB`,
        ],
      ])}\n`,
    );
  }
  const dir = join(ROOT, "bench/results");
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}.json`);
  // a run of some parts replaces those parts of the day's results and keeps the others
  const earlier = await readFile(file, "utf8")
    .then((text) => JSON.parse(text) as Record<string, unknown>)
    .catch((): Record<string, unknown> => ({}));
  const dates = { ...(earlier["dates"] as Record<string, string> | undefined) };
  for (const part of Object.keys(report))
    if (!["date", "node", "cpus"].includes(part)) dates[part] = String(report["date"]);
  await writeFile(file, `${JSON.stringify({ ...earlier, ...report, dates }, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${file}\n`);
}

await main();
