// Token buckets, quotas and their sharing between processes, on a clock the test drives; and the
// client address behind trusted proxies.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { ClientAddress } from "../../src/gateway/limits/client-ip.js";
import { RateLimiter, SHARE_MS } from "../../src/gateway/limits/rate-limiter.js";
import type { RateLimitPolicy } from "../../src/shared/routes.js";

const rate = (name: string, perSecond: number, burst: number): RateLimitPolicy => ({
  kind: "rate",
  key: `shop/${name}`,
  name,
  rate: perSecond,
  burst,
  by: "caller",
});
const quota = (name: string, limit: number, periodMs: number): RateLimitPolicy => ({
  kind: "quota",
  key: `shop/${name}`,
  name,
  limit,
  periodMs,
  by: "caller",
});
const everyone = () => "all";

/** Requests every `stepMs` from t0 to t0 + durationMs inclusive; how many were admitted. */
function hammer(
  limiter: RateLimiter,
  policies: RateLimitPolicy[],
  t0: number,
  durationMs: number,
  stepMs = 10,
) {
  let admitted = 0;
  for (let t = t0; t <= t0 + durationMs; t += stepMs) {
    if (limiter.take(policies, everyone, t)?.ok === true) admitted++;
  }
  return admitted;
}

void describe("rate limiter: token bucket", () => {
  void it("admits the burst and then the rate: 10/s burst 5 over 3 s is 35", () => {
    const limiter = new RateLimiter();
    try {
      assert.equal(hammer(limiter, [rate("r", 10, 5)], 1_000_000, 3000), 35);
    } finally {
      limiter.close();
    }
  });

  void it("says how many remain, when the bucket is full again, and when to retry", () => {
    const limiter = new RateLimiter();
    try {
      const policy = rate("r", 2, 3);
      const t = 5_000_000;
      const first = limiter.take([policy], everyone, t);
      assert.deepEqual(
        { ok: first?.ok, remaining: first?.remaining, reset: first?.resetSeconds },
        { ok: true, remaining: 2, reset: 1 },
      );
      limiter.take([policy], everyone, t);
      limiter.take([policy], everyone, t);
      const refused = limiter.take([policy], everyone, t);
      assert.equal(refused?.ok, false);
      assert.equal(refused?.remaining, 0);
      assert.equal(refused?.retryAfterSeconds, 1);
      assert.equal(refused?.resetSeconds, 2);
      assert.equal(
        limiter.take([policy], everyone, t + 500)?.ok,
        true,
        "one token after 0.5 s at 2/s",
      );
    } finally {
      limiter.close();
    }
  });

  void it("counts scopes apart", () => {
    const limiter = new RateLimiter();
    try {
      const policy = rate("r", 1, 1);
      assert.equal(limiter.take([policy], () => "alice", 0)?.ok, true);
      assert.equal(limiter.take([policy], () => "alice", 0)?.ok, false);
      assert.equal(limiter.take([policy], () => "bob", 0)?.ok, true);
    } finally {
      limiter.close();
    }
  });

  void it("takes nothing from any policy when one refuses", () => {
    const limiter = new RateLimiter();
    try {
      const loose = rate("loose", 1, 2);
      const tight = rate("tight", 1, 1);
      assert.equal(limiter.take([loose, tight], everyone, 0)?.ok, true);
      const refused = limiter.take([loose, tight], everyone, 0);
      assert.equal(refused?.ok, false);
      assert.equal(refused?.policy.name, "tight");
      // loose still has its second token: the refused request did not use it
      assert.equal(limiter.take([loose], everyone, 0)?.ok, true);
      assert.equal(limiter.take([loose], everyone, 0)?.ok, false);
    } finally {
      limiter.close();
    }
  });
});

void describe("rate limiter: quotas", () => {
  void it("admits the quota per fixed window, then refuses until the window ends", () => {
    const limiter = new RateLimiter();
    try {
      const hour = 3_600_000;
      const policy = quota("q", 3, hour);
      const start = 10 * hour;
      const remaining = [0, 1, 2].map(
        (i) => limiter.take([policy], everyone, start + i)?.remaining,
      );
      assert.deepEqual(remaining, [2, 1, 0]);
      const refused = limiter.take([policy], everyone, start + 60_000);
      assert.equal(refused?.ok, false);
      assert.equal(refused?.retryAfterSeconds, 3540);
      assert.equal(limiter.take([policy], everyone, start + hour)?.ok, true, "a new window");
    } finally {
      limiter.close();
    }
  });
});

void describe("rate limiter: several processes", () => {
  void it("holds the limit for the cluster, within the documented overshoot", () => {
    // two processes, each told of the other's admissions every SHARE_MS (simulated here)
    const outbox: Array<{ to: "a" | "b"; entries: Array<[string, number, number?]> }> = [];
    const a = new RateLimiter({ send: (entries) => outbox.push({ to: "b", entries }) });
    const b = new RateLimiter({ send: (entries) => outbox.push({ to: "a", entries }) });
    const policy = rate("r", 10, 5);
    let admitted = 0;
    const t0 = 2_000_000;
    try {
      for (let t = t0; t <= t0 + 3000; t += 10) {
        for (const limiter of [a, b])
          if (limiter.take([policy], everyone, t)?.ok === true) admitted++;
        if ((t - t0) % SHARE_MS === 0) {
          (a as unknown as { flush(): void }).flush();
          (b as unknown as { flush(): void }).flush();
          for (const { to, entries } of outbox.splice(0)) (to === "a" ? a : b).absorb(entries, t);
        }
      }
      // alone it would be 35; two processes may each spend a burst before they hear of each
      // other, and the debt that follows pays most of it back
      assert.ok(admitted >= 35 && admitted <= 35 + 5 + 1, `admitted ${admitted}`);
    } finally {
      a.close();
      b.close();
    }
  });
});

void describe("client address", () => {
  const request = (peer: string, forwarded?: string) =>
    ({
      socket: { remoteAddress: peer },
      headers: forwarded === undefined ? {} : { "x-forwarded-for": forwarded },
    }) as unknown as IncomingMessage;

  void it("ignores X-Forwarded-For from a peer it does not trust", () => {
    assert.equal(new ClientAddress([]).of(request("203.0.113.9", "1.2.3.4")), "203.0.113.9");
    assert.equal(
      new ClientAddress(["10.0.0.0/8"]).of(request("203.0.113.9", "1.2.3.4")),
      "203.0.113.9",
    );
  });

  void it("takes the nearest untrusted hop behind trusted proxies", () => {
    const address = new ClientAddress(["10.0.0.0/8", "::1"]);
    assert.equal(address.of(request("10.1.2.3", "198.51.100.7, 10.9.9.9")), "198.51.100.7");
    // a client prepending a made-up address cannot hide behind it
    assert.equal(address.of(request("::1", "1.1.1.1, 198.51.100.7")), "198.51.100.7");
    assert.equal(address.of(request("::ffff:10.0.0.1", "192.0.2.4")), "192.0.2.4");
    assert.equal(address.of(request("10.0.0.1")), "10.0.0.1");
  });

  void it("refuses an entry that is not an address or range", () => {
    assert.throws(
      () => new ClientAddress(["10.0.0.0/8", "proxy.example"]),
      /"proxy.example" is not an IP/,
    );
    assert.throws(() => new ClientAddress(["10.0.0.0/x"]), /not an IP address or CIDR range/);
  });
});
