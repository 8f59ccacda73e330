// Rate limits and quotas at the gateway, through real `litefaas up` processes: precision, the
// headers, callers and client IPs counted apart (X-Forwarded-For believed only from trusted
// proxies), quotas, and one limit for two processes sharing a NATS.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { errorCode, startPlatform, type Platform } from "../kit/platform.js";
import { removeCluster, testCluster } from "../kit/cluster.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();

/**
 * Sequential GETs to `path` on the given platforms in turn for `ms`: how many were admitted, and
 * what 10/s with a burst of 5 admits over the shortest and the longest window the gateway can
 * have seen (a slow machine delays the first and last requests, not the limiter's clock).
 */
async function hammer(
  platforms: Platform[],
  path: string,
  ms: number,
): Promise<{ admitted: number; least: number; most: number }> {
  let admitted = 0;
  const end = Date.now() + ms;
  let firstStart = 0;
  let firstEnd = 0;
  let lastStart = 0;
  let lastEnd = 0;
  for (let i = 0; Date.now() < end; i++) {
    lastStart = performance.now();
    if (i === 0) firstStart = lastStart;
    const res = await (platforms[i % platforms.length] as Platform).fetch(path);
    await res.arrayBuffer();
    lastEnd = performance.now();
    if (i === 0) firstEnd = lastEnd;
    if (res.status === 200) admitted++;
    else assert.equal(res.status, 429);
  }
  return {
    admitted,
    least: Math.floor(5 + (10 * (lastStart - firstEnd)) / 1000),
    most: Math.ceil(5 + (10 * (lastEnd - firstStart)) / 1000),
  };
}

describe("rate limits", () => {
  let platform: Platform;
  let untrusting: Platform;
  const key = async (p: Platform) => {
    const created = await p.cli(["keys", "create", "limited", "--json"]);
    assert.equal(created.code, 0, created.stderr);
    return (JSON.parse(created.stdout) as { key: string }).key;
  };

  before(async () => {
    [platform, untrusting] = await Promise.all([
      startPlatform({ args: ["--trusted-proxies", "127.0.0.1,::1"] }),
      startPlatform(),
    ]);
    for (const p of [platform, untrusting]) {
      const deployed = await p.deploy("rate-limits");
      assert.equal(deployed.code, 0, deployed.stderr);
    }
  });
  after(async () => {
    await Promise.all([platform.dispose(), untrusting.dispose()]);
  });

  it("admits 10/s with a burst of 5: 35 ± 2 over 3 s, then 429 with Retry-After and RateLimit-*", async () => {
    // 35 ± 2 over 3 s, the window measured as the gateway saw it
    const { admitted, least, most } = await hammer([platform], "/steady", 3000);
    assert.ok(
      admitted >= least - 2 && admitted <= most + 2,
      `admitted ${admitted}, ${least}..${most}`,
    );
    let refused: Response | undefined;
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const res = await platform.fetch("/steady");
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
    }
    assert.ok(refused !== undefined, "a request refused right after the burst");
    assert.equal(await errorCode(refused), "RATE_LIMITED");
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.equal(refused.headers.get("ratelimit-limit"), "5");
    assert.equal(refused.headers.get("ratelimit-remaining"), "0");
  });

  it("holds a function's /fn/ URL to the limits of its routes", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await platform.fetch("/fn/limited/hello/", {
        headers: { "x-forwarded-for": "198.51.100.50" },
      });
      statuses.push(res.status);
    }
    // the per-ip limit (1/h, burst 1) of the /ip route holds here too
    assert.deepEqual(statuses, [200, 429, 429]);
  });

  it("counts each caller apart", async () => {
    const [alice, bob] = [await key(platform), await key(platform)];
    const status = async (k: string) =>
      (await platform.fetch("/caller", { headers: { "x-api-key": k } })).status;
    assert.deepEqual(
      [await status(alice), await status(alice), await status(alice)],
      [200, 200, 429],
    );
    assert.equal(await status(bob), 200);
  });

  it("counts client IPs apart behind a trusted proxy, and ignores X-Forwarded-For otherwise", async () => {
    const via = (p: Platform, client: string) =>
      p.fetch("/ip", { headers: { "x-forwarded-for": client } }).then((r) => r.status);
    assert.deepEqual(
      [await via(platform, "198.51.100.1"), await via(platform, "198.51.100.1")],
      [200, 429],
    );
    assert.equal(await via(platform, "198.51.100.2"), 200);
    // not trusted: whatever the header says, the client is the socket's peer
    assert.deepEqual(
      [await via(untrusting, "198.51.100.1"), await via(untrusting, "198.51.100.2")],
      [200, 429],
    );
  });

  it("admits a key's quota, counting down, then refuses until the day ends", async () => {
    const k = await key(platform);
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const res = await platform.fetch("/quota", { headers: { "x-api-key": k } });
      assert.equal(res.status, 200);
      remaining.push(res.headers.get("ratelimit-remaining"));
    }
    assert.deepEqual(remaining, ["2", "1", "0"]);
    const refused = await platform.fetch("/quota", { headers: { "x-api-key": k } });
    assert.equal(refused.status, 429);
    const untilMidnight = Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1000);
    assert.ok(Math.abs(Number(refused.headers.get("retry-after")) - untilMidnight) <= 5);
  });
});

describeWith(nats, "rate limits across processes", () => {
  let a: Platform;
  let b: Platform;

  const cluster = testCluster();

  before(async () => {
    [a, b] = await Promise.all([
      startPlatform({ args: ["--nats", nats.url, "--cluster", cluster] }),
      startPlatform({ args: ["--nats", nats.url, "--cluster", cluster] }),
    ]);
    for (const p of [a, b]) {
      const deployed = await p.deploy("rate-limits");
      assert.equal(deployed.code, 0, deployed.stderr);
    }
  });
  after(async () => {
    await Promise.all([a.dispose(), b.dispose()]);
    await removeCluster(nats.url, cluster);
  });

  it("holds one limit for two gateways on one NATS, within the documented overshoot", async () => {
    const { admitted, least, most } = await hammer([a, b], "/steady", 3000);
    // one process alone: 35 ± 2; two may each spend a burst before they hear of each other
    assert.ok(
      admitted >= least - 2 && admitted <= most + 5 + 2,
      `admitted ${admitted}, ${least}..${most} + 5`,
    );
  });
});
