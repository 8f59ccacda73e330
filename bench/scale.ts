// Cold starts across many distinct functions, and memory with many deployed and many warm.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLitefaas } from "./servers.js";
import { percentile, rssMiB, sleep } from "./util.js";

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

/** A project of `count` distinct functions (each its own code, so no cache is shared). */
async function manyFunctions(count: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "litefaas-bench-many-"));
  const lines = ["project: many", "functions:"];
  for (let i = 0; i < count; i++) {
    lines.push(`  f${i}:`, `    main: f${i}.js`);
    await writeFile(
      join(dir, `f${i}.js`),
      `const id = ${i};\nexport default { fetch() { return new Response("function " + id); } };\n`,
    );
  }
  await writeFile(join(dir, "litefaas.yaml"), `${lines.join("\n")}\n`);
  return dir;
}

/** One GET over a keep-alive connection, timed from send to the last body byte. */
export function timedGet(agent: Agent, url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(url, { agent }, (res) => {
      res.on("data", () => undefined);
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new Error(`${url.pathname}: HTTP ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

export function summarize(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    n: sorted.length,
  };
}

export async function coldStarts(
  count: number,
): Promise<{ cold: LatencySummary; warm: LatencySummary; paced: LatencySummary }> {
  const platform = await startLitefaas();
  const dir = await manyFunctions(count * 2);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await platform.deploy(dir);
    await sleep(500); // let the prepared-isolate supply fill
    const cold: number[] = [];
    const warm: number[] = [];
    // back to back: the supply refills only as fast as it can between requests
    for (let i = 0; i < count; i++)
      cold.push(await timedGet(agent, new URL(`${platform.base}/fn/many/f${i}/`)));
    for (let i = 0; i < count; i++)
      warm.push(await timedGet(agent, new URL(`${platform.base}/fn/many/f${i}/`)));
    // paced at 20 requests/s: the steady state where the supply keeps up
    const paced: number[] = [];
    for (let i = count; i < count * 2; i++) {
      await sleep(50);
      paced.push(await timedGet(agent, new URL(`${platform.base}/fn/many/f${i}/`)));
    }
    return { cold: summarize(cold), warm: summarize(warm), paced: summarize(paced) };
  } finally {
    agent.destroy();
    await platform.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function memoryAtScale(
  deployed: number,
  warmCount: number,
): Promise<{ idleMiB: number; warmMiB: number; warm: number; deployed: number }> {
  const platform = await startLitefaas();
  const dir = await manyFunctions(deployed);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  try {
    await platform.deploy(dir);
    await sleep(1000);
    const idleMiB = rssMiB(platform.pid);
    for (let i = 0; i < warmCount; i += 8) {
      await Promise.all(
        Array.from({ length: Math.min(8, warmCount - i) }, (_, k) =>
          timedGet(agent, new URL(`${platform.base}/fn/many/f${i + k}/`)),
        ),
      );
    }
    await sleep(1000);
    return { idleMiB, warmMiB: rssMiB(platform.pid), warm: warmCount, deployed };
  } finally {
    agent.destroy();
    await platform.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
