// Usage metering end to end, on the embedded backends and on NATS: after known traffic the
// admin API and the CLI report exactly the invocations, errors, billed GB-seconds (the sum of the
// records' billedGbSeconds) and egress bytes (the response bodies the client received, the
// gateway's error bodies included) per function; by hour, by day and in all; counts survive a
// restart; two processes of one cluster add into the same hours without losing counts; and bad
// queries are refused, saying why and how to fix them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { InvocationRecordEntry } from "../../src/ports/records.js";
import type { UsageFigures, UsageReport } from "../../src/observe/usage-query.js";
import { removeCluster, testCluster } from "../kit/cluster.js";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, startPlatform, type Platform } from "../kit/platform.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();
const HOUR_MS = 3_600_000;

/** What traffic should have counted: bytes received, and the ids whose records bill it. */
class Expected {
  ids: string[] = [];
  invocations = 0;
  errors = 0;
  egressBytes = 0;

  async call(platform: Platform, path: string, ok: boolean): Promise<void> {
    const response = await platform.fetch(path);
    const body = new Uint8Array(await response.arrayBuffer());
    assert.equal(response.ok, ok, `${path}: ${response.status}`);
    const id = response.headers.get("x-request-id");
    assert.ok(id !== null);
    this.ids.push(id);
    this.invocations++;
    if (!ok) this.errors++;
    this.egressBytes += body.byteLength;
  }

  /** The figures, GB-seconds summed from the records as the meter sums them (exact integers). */
  async figures(platform: Platform): Promise<UsageFigures> {
    let mibMs = 0;
    for (const id of this.ids)
      mibMs += Math.round((await record(platform, id)).billedGbSeconds * 1_024_000);
    return {
      invocations: this.invocations,
      errors: this.errors,
      gbSeconds: mibMs / 1_024_000,
      egressBytes: this.egressBytes,
    };
  }
}

const admin = (platform: Platform) => ({ authorization: `Bearer ${platform.token}` });

function record(platform: Platform, id: string): Promise<InvocationRecordEntry> {
  return eventuallyValue(`the record of ${id}`, async () => {
    const r = await platform.fetch(`/admin/v1/records/${encodeURIComponent(id)}`, {
      headers: admin(platform),
    });
    return r.status === 200 ? ((await r.json()) as InvocationRecordEntry) : undefined;
  });
}

async function usage(platform: Platform, query: string): Promise<UsageReport> {
  const r = await platform.fetch(`/admin/v1/usage?${query}`, { headers: admin(platform) });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as UsageReport;
}

/** The report once it has counted at least `expected` (it must then be exactly that). */
function usageReaching(
  platform: Platform,
  query: string,
  expected: UsageFigures,
): Promise<UsageReport> {
  return eventuallyValue(`usage (${query}) to reach ${JSON.stringify(expected)}`, async () => {
    const report = await usage(platform, query);
    const t = report.totals;
    return t.invocations >= expected.invocations && t.egressBytes >= expected.egressBytes
      ? report
      : undefined;
  });
}

const sum = (a: UsageFigures, b: UsageFigures): UsageFigures => ({
  invocations: a.invocations + b.invocations,
  errors: a.errors + b.errors,
  gbSeconds:
    (Math.round(a.gbSeconds * 1_024_000) + Math.round(b.gbSeconds * 1_024_000)) / 1_024_000,
  egressBytes: a.egressBytes + b.egressBytes,
});

const figuresOf = (f: UsageFigures): UsageFigures => ({
  invocations: f.invocations,
  errors: f.errors,
  gbSeconds: f.gbSeconds,
  egressBytes: f.egressBytes,
});

function usageSuite(label: string, args: string[]): void {
  void describe(`usage (${label})`, () => {
    let platform: Platform;
    const meter = new Expected();
    const other = new Expected();
    let started: number;

    before(async () => {
      started = Date.now();
      platform = await startPlatform({ args });
      const deployed = await platform.deploy("usage");
      assert.equal(deployed.code, 0, deployed.stderr);
    });
    after(() => platform.dispose());

    void it("counts invocations, errors, GB-seconds and egress bytes per function", async () => {
      for (const size of [0, 1, 10, 300, 5000])
        await meter.call(platform, `/fn/usage/meter?size=${size}`, true);
      for (let i = 0; i < 2; i++) await meter.call(platform, "/fn/usage/meter?fail=1", false);
      for (let i = 0; i < 3; i++) await other.call(platform, "/fn/usage/other", true);
      // an event: an invocation that sends nothing to a client
      const published = await platform.cli(["events", "publish", "usage", "use.ping", "{}"]);
      assert.equal(published.code, 0, published.stderr);
      const [event] = await eventuallyValue("the event's record", async () => {
        const r = await platform.fetch("/admin/v1/functions/usage/other/records?trigger=message", {
          headers: admin(platform),
        });
        const { records } = (await r.json()) as { records: InvocationRecordEntry[] };
        return records.length > 0 ? records : undefined;
      });
      assert.ok(event !== undefined);
      other.ids.push(event.id);
      other.invocations++;
      // a function nobody deployed gets no counters, whatever is asked of it
      assert.equal((await platform.fetch("/fn/usage/ghost")).status, 404);

      const expectedMeter = await meter.figures(platform);
      assert.equal(expectedMeter.invocations, 7);
      assert.equal(expectedMeter.errors, 2);
      const expectedOther = await other.figures(platform);
      assert.equal(expectedOther.egressBytes, 3 * "other here".length);

      const one = await usageReaching(platform, "project=usage&function=meter", expectedMeter);
      assert.equal(one.by, "total");
      assert.deepEqual(one.usage, [{ project: "usage", function: "meter", ...expectedMeter }]);
      assert.deepEqual(one.totals, expectedMeter);
      // what the records bill, as Lambda counts it (64 MiB × whole milliseconds)
      let billed = 0;
      for (const id of meter.ids) billed += (await record(platform, id)).billedGbSeconds;
      assert.ok(
        Math.abs(one.totals.gbSeconds - billed) < 1e-9,
        `${one.totals.gbSeconds} ${billed}`,
      );

      const project = await usageReaching(
        platform,
        "project=usage",
        sum(expectedMeter, expectedOther),
      );
      assert.deepEqual(project.usage, [
        { project: "usage", function: "meter", ...expectedMeter },
        { project: "usage", function: "other", ...expectedOther },
      ]);
      assert.deepEqual(project.totals, sum(expectedMeter, expectedOther));
      // everything: this platform has only this project
      const everything = await usage(platform, "since=1d");
      assert.deepEqual(everything.totals, project.totals);
    });

    void it("groups by hour and by day, and reads only the range asked", async () => {
      const total = (await usage(platform, "project=usage&function=meter")).totals;
      for (const by of ["hour", "day"] as const) {
        const report = await usage(platform, `project=usage&function=meter&by=${by}`);
        assert.equal(report.by, by);
        // the traffic may have crossed an hour (or a day): every row is a period it ran in
        const unit = by === "hour" ? HOUR_MS : 24 * HOUR_MS;
        const periods = report.usage.map((r) => Date.parse(r.period ?? ""));
        for (const p of periods) {
          assert.equal(p % unit, 0, `${by} period ${new Date(p).toISOString()}`);
          assert.ok(p > started - unit && p <= Date.now());
        }
        assert.deepEqual(report.totals, total);
        assert.ok(report.usage.every((r) => r.project === "usage" && r.function === "meter"));
      }
      // the coming hours hold nothing yet
      const later = new Date(Date.now() + HOUR_MS).toISOString();
      const ahead = await usage(
        platform,
        `since=${later}&until=${new Date(Date.now() + 2 * HOUR_MS).toISOString()}`,
      );
      assert.deepEqual(ahead.usage, []);
      assert.deepEqual(ahead.totals, { invocations: 0, errors: 0, gbSeconds: 0, egressBytes: 0 });
      // the range is reported from the start of its first hour
      const since = Date.now() - 90 * 60_000;
      const ranged = await usage(platform, `since=${since}`);
      assert.equal(Date.parse(ranged.since), Math.floor(since / HOUR_MS) * HOUR_MS);
    });

    void it("shows usage in the CLI, as a table and as JSON", async () => {
      const api = await usage(platform, "project=usage&function=meter&by=day");
      const json = await platform.cli(["usage", "usage/meter", "--by", "day", "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const printed = JSON.parse(json.stdout) as UsageReport;
      assert.deepEqual(printed.usage, api.usage);
      assert.deepEqual(printed.totals, api.totals);

      const text = await platform.cli(["usage", "usage", "--since", "7d"]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^usage of usage from .* until .* \(UTC\)$/m);
      assert.match(text.stdout, /FUNCTION\s+INVOCATIONS\s+ERRORS\s+GB-SECONDS\s+EGRESS/);
      assert.match(text.stdout, /^usage\/meter\s+7\s+2\s/m);
      assert.match(text.stdout, /^usage\/other\s+4\s+0\s/m);
      assert.match(text.stdout, /^total\s+11\s+2\s/m);

      const none = await platform.cli(["usage", "nobody"]);
      assert.equal(none.code, 0, none.stderr);
      assert.match(none.stdout, /^no usage of nobody from /);
    });

    void it("keeps the counts across a restart, the last ones counted before it too", async () => {
      const expected = figuresOf((await usage(platform, "project=usage&function=meter")).totals);
      const more = new Expected();
      for (let i = 0; i < 3; i++) await more.call(platform, "/fn/usage/meter?size=7", true);
      // stopped at once: what was counted is only in memory, and the stop stores it
      assert.equal(await platform.stop(), 0);
      platform = await platform.restart();
      const after = await usage(platform, "project=usage&function=meter");
      assert.deepEqual(after.totals, sum(expected, await more.figures(platform)));

      await more.call(platform, "/fn/usage/meter?size=1", true);
      const grown = await usageReaching(
        platform,
        "project=usage&function=meter",
        sum(expected, await more.figures(platform)),
      );
      assert.deepEqual(grown.totals, sum(expected, await more.figures(platform)));
    });

    void it("refuses bad queries, saying why and how to fix them", async () => {
      const refused = async (query: string, message: RegExp) => {
        const r = await platform.fetch(`/admin/v1/usage?${query}`, { headers: admin(platform) });
        assert.equal(r.status, 400, query);
        const body = (await r.clone().json()) as { error: { message: string; fix?: string } };
        assert.match(body.error.message, message);
        assert.ok(typeof body.error.fix === "string" && body.error.fix !== "", query);
        assert.equal(await errorCode(r), "INVALID_REQUEST");
      };
      await refused("by=week", /by "week" is not one of hour, day, total/);
      await refused("since=soon", /since "soon" is not a time/);
      await refused("until=yesterday", /until "yesterday" is not a time/);
      await refused("since=99999999999999999", /since "99999999999999999" is out of range/);
      await refused("since=1h&until=2h", /since \(.*\) is after until \(.*\)/);
      await refused(`since=${Date.now() + HOUR_MS}`, /is after until/);
      // names become list prefixes: a wildcard must not widen what is read
      await refused("project=*", /project "\*" is not a project's name/);
      await refused("project=usage&function=%3E", /function ">" is not a function's name/);
      await refused("project=usage.%3E", /project "usage\.>" is not a project's name/);
      await refused("function=meter", /function "meter" needs its project/);

      const anonymous = await platform.fetch("/admin/v1/usage");
      assert.equal(anonymous.status, 401);

      const badTarget = await platform.cli(["usage", "usage/meter/x"]);
      assert.equal(badTarget.code, 1);
      assert.match(badTarget.stderr, /"usage\/meter\/x" is not a project or <project>\/<function>/);
      const badBy = await platform.cli(["usage", "usage", "--by", "week"]);
      assert.equal(badBy.code, 1);
      assert.match(badBy.stderr, /by "week" is not one of/);
      assert.match(badBy.stderr, /fix: /);
    });
  });
}

usageSuite("embedded", []);
if (nats.skip === false) usageSuite("nats", ["--nats", nats.url]);

describeWith(nats, "usage: two processes of one cluster", () => {
  const cluster = testCluster();
  const token = `lf_${randomBytes(24).toString("base64url")}`;
  const args = ["--nats", nats.url, "--cluster", cluster];
  let a: Platform;
  let b: Platform;

  before(async () => {
    const env = { LITEFAAS_ADMIN_TOKEN: token };
    [a, b] = await Promise.all([startPlatform({ args, env }), startPlatform({ args, env })]);
    const deployed = await a.deploy("usage");
    assert.equal(deployed.code, 0, deployed.stderr);
    // b knows the function (asked of its admin API, so the wait invokes nothing)
    await eventuallyValue("b to know usage/meter", async () => {
      const r = await b.fetch("/admin/v1/functions/usage/meter", { headers: admin(b) });
      await r.body?.cancel();
      return r.status === 200 ? true : undefined;
    });
  });
  after(async () => {
    await Promise.all([a.dispose(), b.dispose()]);
    await removeCluster(nats.url, cluster);
  });

  void it("adds both processes' counts into the same hours, and keeps them when both stop", async () => {
    const traffic = new Expected();
    // at once on both: their flushes meet on the same keys
    await Promise.all(
      [a, b].flatMap((p, side) =>
        Array.from({ length: 20 }, (_, i) =>
          traffic.call(p, `/fn/usage/meter?size=${side * 100 + i}`, true),
        ),
      ),
    );
    for (let i = 0; i < 3; i++) await traffic.call(b, "/fn/usage/meter?fail=1", false);
    const expected = await traffic.figures(a);
    assert.equal(expected.invocations, 43);

    for (const p of [a, b]) {
      const seen = await usageReaching(p, "project=usage&function=meter", expected);
      assert.deepEqual(seen.totals, expected, `as ${p.url} reports it`);
    }
    const hours = await usage(a, "project=usage&function=meter&by=hour");
    assert.ok(hours.usage.length <= 2, "one key per hour, whichever process counted");

    await Promise.all([a.stop(), b.stop()]);
    a = await a.restart();
    assert.deepEqual((await usage(a, "project=usage&function=meter")).totals, expected);
  });
});
