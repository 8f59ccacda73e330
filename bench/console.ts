// The console's first paint and load in headless Chromium on loopback: a new browser context each
// time (cold cache), the sign-in page's first contentful paint, and after signing in, how long
// until the functions list shows. Target: first paint under 1 s.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { startLitefaas } from "./servers.js";
import { percentile } from "./util.js";

export interface ConsoleFigures {
  runs: number;
  firstPaintMs: { p50: number; max: number };
  listShownMs: { p50: number; max: number };
  editorShownMs: { p50: number; max: number };
  transferredKiB: number;
}

const CHROMIUM = process.env["LITEFAAS_TEST_CHROMIUM"] ?? "/usr/bin/chromium";

export async function consoleFigures(runs = 10): Promise<ConsoleFigures> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium`);
  const server = await startLitefaas();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const paints: number[] = [];
  const lists: number[] = [];
  const editors: number[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      let transferred = 0;
      page.on("response", (response) => {
        const length = Number(response.headers()["content-length"] ?? "0");
        if (response.url().includes("/console/")) transferred += length;
      });
      await page.goto(`${server.base}/console/`);
      await page.getByLabel("Admin token").waitFor();
      const paint = await page.evaluate<number | undefined>(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime",
      );
      if (paint !== undefined) paints.push(paint);
      await page.getByLabel("Admin token").fill(server.token);
      const signedIn = performance.now();
      await page.keyboard.press("Enter");
      await page.locator("table.list tbody tr").first().waitFor();
      lists.push(performance.now() - signedIn);
      const opened = performance.now();
      await page.goto(`${server.base}/console/#/functions/bench/hello/code`);
      await page.locator('.editor[data-ready="true"]').waitFor();
      editors.push(performance.now() - opened);
      bytes = transferred;
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const figure = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), max: sorted.at(-1) ?? NaN };
  };
  return {
    runs,
    firstPaintMs: figure(paints),
    listShownMs: figure(lists),
    editorShownMs: figure(editors),
    transferredKiB: bytes / 1024,
  };
}
