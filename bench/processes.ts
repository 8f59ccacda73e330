// Process functions: Python and a shell bootstrap (AWS's custom-runtime tutorial), each
// deployed many times over and called once (cold: a sandboxed process started end to end
// through the gateway), then one of them called back to back (warm). Cold starts are measured
// twice: spaced 300 ms apart (a function scaling from zero now and then: the prepared process
// has been replaced), and back to back (each start waits for a process started just before). Beside them, the same
// hello world in an isolate, whose warm latency is the gateway's own share: the difference is
// what the process runtime adds per invocation.
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timedGet, summarize, type LatencySummary } from "./scale.js";
import { startLitefaas } from "./servers.js";
import { ROOT, sleep } from "./util.js";
import { wrk, type WrkResult } from "./wrk.js";

export interface ProcessFigures {
  runtime: string;
  cold: LatencySummary;
  coldBackToBack: LatencySummary;
  warm: LatencySummary;
  throughput: WrkResult;
}

const PYTHON = `def handler(event, context):\n    return {"statusCode": 200, "body": "Hello, world!"}\n`;

/** A project of `count` copies of one function of `runtime`, each its own folder (own process). */
async function copies(runtime: "python" | "shell", count: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `litefaas-bench-${runtime}-`));
  const lines = [`project: ${runtime}s`, "functions:"];
  for (let i = 0; i < count; i++) {
    const folder = join(dir, `f${i}`);
    if (runtime === "python") {
      // its own folder: each version's task root, and so each process, is its own
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, "main.py"), `${PYTHON}# ${i}\n`);
      lines.push(`  f${i}:`, `    main: f${i}/main.py`);
    } else {
      await cp(join(ROOT, "test/fixtures/polyglot/functions/report"), folder, { recursive: true });
      lines.push(
        `  f${i}:`,
        "    runtime: process",
        `    main: f${i}/bootstrap`,
        "    handler: function.handler",
      );
    }
  }
  await writeFile(join(dir, "litefaas.yaml"), `${lines.join("\n")}\n`);
  return dir;
}

export async function processFigures(
  runtime: "python" | "shell",
  count: number,
  duration: string,
  connections: number,
): Promise<ProcessFigures> {
  const platform = await startLitefaas();
  const dir = await copies(runtime, 2 * count);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await platform.deploy(dir);
    await sleep(500);
    const url = (i: number) => new URL(`${platform.base}/fn/${runtime}s/f${i}/`);
    const cold: number[] = [];
    for (let i = 0; i < count; i++) {
      await sleep(300);
      cold.push(await timedGet(agent, url(i)));
    }
    const coldBackToBack: number[] = [];
    for (let i = count; i < 2 * count; i++) coldBackToBack.push(await timedGet(agent, url(i)));
    const warm: number[] = [];
    for (let i = 0; i < 500; i++) warm.push(await timedGet(agent, url(0)));
    // one instance serves one invocation at a time: as many connections as instances may start
    await wrk(url(0).href, "2s", connections);
    const throughput = await wrk(url(0).href, duration, connections);
    return {
      runtime,
      cold: summarize(cold),
      coldBackToBack: summarize(coldBackToBack),
      warm: summarize(warm),
      throughput,
    };
  } finally {
    agent.destroy();
    await platform.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The isolate's warm hello world on the same path, for the gateway's own share. */
export async function isolateWarm(): Promise<LatencySummary> {
  const platform = await startLitefaas();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const samples: number[] = [];
    for (let i = 0; i < 50; i++) await timedGet(agent, new URL(platform.url));
    for (let i = 0; i < 500; i++) samples.push(await timedGet(agent, new URL(platform.url)));
    return summarize(samples);
  } finally {
    agent.destroy();
    await platform.stop();
  }
}
