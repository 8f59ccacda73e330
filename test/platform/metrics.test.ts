// GET /metrics end to end: behind the admin token (or open when asked), and the counts right —
// invocations by trigger and outcome, cold starts, duration and init histograms, billed
// GB-seconds, binding calls, gateway answers and rate-limit refusals, instances, dead letters,
// and the process's own metrics.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, startPlatform, type Platform } from "../kit/platform.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus's text format, the sample lines of it. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key = "", value = ""] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key] = value;
    samples.push({ name: match[1] ?? "", labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

void describe("metrics", () => {
  let platform: Platform;
  const scrape = async () => {
    const r = await platform.fetch("/metrics", {
      headers: { authorization: `Bearer ${platform.token}` },
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parse(await r.text());
  };

  before(async () => {
    platform = await startPlatform();
    const deployed = await platform.deploy("metrics");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(() => platform.dispose());

  void it("refuses /metrics without the admin token", async () => {
    const none = await platform.fetch("/metrics");
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="litefaas-admin"');
    assert.equal(await errorCode(none), "UNAUTHORIZED");
    const wrong = await platform.fetch("/metrics", { headers: { authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
  });

  void it("counts invocations, cold starts, durations, billing and binding calls", async () => {
    for (let i = 0; i < 3; i++)
      assert.equal((await platform.fetch("/fn/metrics/work/")).status, 200);
    assert.equal((await platform.fetch("/fn/metrics/work/?fail=1")).status, 500);
    assert.equal(await (await platform.fetch("/fn/metrics/work/?kv=1")).text(), "v");

    const fn = { project: "metrics", function: "work", version: "1" };
    // records (and so metrics) are made as each answer completes: wait for the fifth
    const m = await eventuallyValue("five invocations counted", async () => {
      const s = await scrape();
      return value(s, "litefaas_invocation_duration_seconds_count", fn) === 5 ? s : undefined;
    });
    assert.equal(
      value(m, "litefaas_invocations_total", { ...fn, trigger: "http", outcome: "ok" }),
      4,
    );
    assert.equal(
      value(m, "litefaas_invocations_total", {
        ...fn,
        trigger: "http",
        outcome: "error",
        code: "FUNCTION_ERROR",
      }),
      1,
    );
    assert.equal(value(m, "litefaas_cold_starts_total", fn), 1);
    assert.equal(value(m, "litefaas_init_duration_seconds_count", fn), 1);
    assert.ok(value(m, "litefaas_init_duration_seconds_sum", fn) > 0);
    assert.ok(value(m, "litefaas_billed_gb_seconds_total", { project: "metrics" }) > 0);
    const kv = { project: "metrics", function: "work", binding: "kv", outcome: "ok" };
    assert.equal(value(m, "litefaas_binding_calls_total", { ...kv, op: "put" }), 1);
    assert.equal(value(m, "litefaas_binding_calls_total", { ...kv, op: "get" }), 1);
    assert.ok(value(m, "litefaas_instances", fn) >= 1);
    assert.equal(value(m, "litefaas_concurrent_invocations", fn), 0);
    assert.equal(
      value(m, "litefaas_http_requests_total", {
        project: "metrics",
        function: "work",
        status: "2xx",
      }),
      4,
    );
    assert.ok(value(m, "litefaas_http_response_bytes_total", { function: "work" }) >= 4);
    // the process's own, from prom-client
    assert.ok(value(m, "process_cpu_user_seconds_total") > 0);
    assert.ok(value(m, "nodejs_heap_size_used_bytes") > 0);
  });

  void it("counts rate-limit refusals and gateway errors by code", async () => {
    assert.equal((await platform.fetch("/limited")).status, 200);
    assert.equal((await platform.fetch("/limited")).status, 429);
    assert.equal((await platform.fetch("/fn/metrics/nobody")).status, 404);
    const m = await scrape();
    assert.equal(value(m, "litefaas_rate_limited_total", { project: "metrics" }), 1);
    assert.equal(
      value(m, "litefaas_http_requests_total", { status: "4xx", code: "RATE_LIMITED" }),
      1,
    );
    assert.equal(
      value(m, "litefaas_http_requests_total", { status: "4xx", code: "FUNCTION_NOT_FOUND" }),
      1,
    );
    // a name nobody deployed does not become a label: any client could make endless ones
    assert.equal(
      m.filter((s) => s.name.startsWith("litefaas_http_") && s.labels["function"] === "nobody")
        .length,
      0,
    );
  });

  void it("counts message invocations and shows the dead-letter queue's size", async () => {
    const published = await platform.cli(["events", "publish", "metrics", "m.x", '{"fail":true}']);
    assert.equal(published.code, 0, published.stderr);
    const m = await eventuallyValue("the dead letter counted", async () => {
      const s = await scrape();
      return value(s, "litefaas_dead_letters", { function: "sink" }) === 1 ? s : undefined;
    });
    assert.equal(
      value(m, "litefaas_invocations_total", {
        function: "sink",
        trigger: "message",
        outcome: "error",
      }),
      1,
    );
    assert.equal(value(m, "litefaas_queue_depth", { function: "sink" }), 0);
  });

  void it("serves /metrics without a token when started with --metrics-open", async () => {
    const open = await startPlatform({ args: ["--metrics-open"] });
    try {
      const r = await open.fetch("/metrics");
      assert.equal(r.status, 200);
      assert.ok(value(parse(await r.text()), "process_cpu_user_seconds_total") > 0);
    } finally {
      await open.dispose();
    }
  });
});
