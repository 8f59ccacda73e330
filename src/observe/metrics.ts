// Prometheus metrics (prom-client), one registry per process: what it served, ran and queued.
// Invocation metrics come from invocation records (one observation point for every trigger);
// gateway metrics from access-log entries; gauges (instances, concurrency, queue depth, dead
// letters) are read when scraped. What every request touches is counted in hot-metrics.ts;
// prom-client keeps the rest and the process's own metrics.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { AccessEntry } from "../gateway/access-log.js";
import type { InvocationRecordEntry } from "../ports/records.js";
import { HotFamily } from "./hot-metrics.js";

/** Seconds: from a warm hello world to the 15-minute timeout. */
const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
];
const INIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface FunctionGauges {
  /** Every deployed function's live version, with its pool and queue now. */
  functions(): Array<{ project: string; function: string; version: number }>;
  usage(project: string, name: string): { instances: number; inflight: number };
  /** Queue figures are the cluster's, not the process's: only control reports them. */
  queues?: {
    pending(project: string, name: string): Promise<number>;
    deadLetters(project: string, name: string): Promise<number>;
  };
}

export interface Metrics {
  readonly contentType: string;
  /** The exposition text, gauges read now. */
  scrape(): Promise<string>;
  record(record: InvocationRecordEntry): void;
  access(entry: AccessEntry): void;
  bindingCall(project: string, fn: string, binding: string, op: string, ok: boolean): void;
  logLinesDropped(project: string, fn: string, count: number): void;
}

export function createMetrics(gauges: FunctionGauges): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // every request touches these: plain numbers, written out when scraped (hot-metrics.ts)
  const invocations = new HotFamily(
    "litefaas_invocations_total",
    "Invocations run on this process, by trigger and outcome (code: the error code, or none)",
  );
  const duration = new HotFamily(
    "litefaas_invocation_duration_seconds",
    "Invocation duration, until the answer's last byte",
    DURATION_BUCKETS,
  );
  const init = new HotFamily(
    "litefaas_init_duration_seconds",
    "How long cold starts waited for their new instance",
    INIT_BUCKETS,
  );
  const coldStarts = new HotFamily(
    "litefaas_cold_starts_total",
    "Invocations that started a new instance",
  );
  const billed = new HotFamily(
    "litefaas_billed_gb_seconds_total",
    "Memory limit in GB times duration rounded up to the millisecond, as Lambda bills",
  );
  const requests = new HotFamily(
    "litefaas_http_requests_total",
    "Requests the gateway answered, by what answered and status class; code: the gateway's error code",
  );
  const egress = new HotFamily(
    "litefaas_http_response_bytes_total",
    "Response body bytes the gateway sent to clients",
  );
  const bindingCalls = new HotFamily(
    "litefaas_binding_calls_total",
    "Calls from functions to their bindings (kv, sql, events), by operation and outcome",
  );
  const hot = [invocations, duration, init, coldStarts, billed, requests, egress, bindingCalls];
  const rateLimited = new Counter({
    name: "litefaas_rate_limited_total",
    help: "Requests refused by a rate limit",
    labelNames: ["project", "route"],
    registers: [registry],
  });
  const dropped = new Counter({
    name: "litefaas_log_lines_dropped_total",
    help: "Function log lines dropped at a bound (each drop is also said in the log)",
    labelNames: ["project", "function"],
    registers: [registry],
  });

  const pool = (name: string, help: string, read: (p: string, f: string) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["project", "function", "version"],
      registers: [registry],
      collect() {
        this.reset();
        for (const f of gauges.functions())
          this.set(
            { project: f.project, function: f.function, version: String(f.version) },
            read(f.project, f.function),
          );
      },
    });
  pool(
    "litefaas_instances",
    "Instances of the live version on this process",
    (p, f) => gauges.usage(p, f).instances,
  );
  pool(
    "litefaas_concurrent_invocations",
    "Invocations running on this process now",
    (p, f) => gauges.usage(p, f).inflight,
  );
  const queued = (name: string, help: string, read: (p: string, f: string) => Promise<number>) =>
    new Gauge({
      name,
      help,
      labelNames: ["project", "function"],
      registers: [registry],
      async collect() {
        this.reset();
        await Promise.all(
          gauges.functions().map(async (f) => {
            const value = await read(f.project, f.function).catch(() => undefined);
            if (value !== undefined) this.set({ project: f.project, function: f.function }, value);
          }),
        );
      },
    });
  const queues = gauges.queues;
  if (queues !== undefined) {
    queued("litefaas_queue_depth", "Events, async invocations and ticks waiting", (p, f) =>
      queues.pending(p, f),
    );
    queued("litefaas_dead_letters", "Messages in the function's dead-letter queue", (p, f) =>
      queues.deadLetters(p, f),
    );
  }

  return {
    contentType: registry.contentType,
    scrape: async () => (await registry.metrics()) + hot.map((f) => f.render()).join(""),
    record(r) {
      const v = String(r.version);
      const code = r.error?.code ?? "";
      const fnKey = `${r.project}\0${r.function}\0${v}`;
      const fn = () => ({ project: r.project, function: r.function, version: v });
      invocations.series(`${fnKey}\0${r.trigger}\0${r.outcome}\0${code}`, () => ({
        ...fn(),
        trigger: r.trigger,
        outcome: r.outcome,
        code,
      })).value++;
      duration.observe(
        duration.series(`${fnKey}\0${r.trigger}`, () => ({ ...fn(), trigger: r.trigger })),
        r.durationMs / 1000,
      );
      billed.series(`${r.project}\0${r.function}`, () => ({
        project: r.project,
        function: r.function,
      })).value += r.billedGbSeconds;
      if (r.cold) {
        coldStarts.series(fnKey, fn).value++;
        if (r.initMs !== undefined) init.observe(init.series(fnKey, fn), r.initMs / 1000);
      }
    },
    access(e) {
      const project = e.project ?? "";
      const fn = e.function ?? "";
      const status = `${Math.floor(e.status / 100)}xx`;
      const code = e.error ?? "";
      requests.series(`${project}\0${fn}\0${status}\0${code}`, () => ({
        project,
        function: fn,
        status,
        code,
      })).value++;
      if (e.bytes > 0)
        egress.series(`${project}\0${fn}`, () => ({ project, function: fn })).value += e.bytes;
      if (code === "RATE_LIMITED") rateLimited.inc({ project, route: e.route ?? "" });
    },
    bindingCall(project, fn, binding, op, ok) {
      const outcome = ok ? "ok" : "error";
      bindingCalls.series(`${project}\0${fn}\0${binding}\0${op}\0${outcome}`, () => ({
        project,
        function: fn,
        binding,
        op,
        outcome,
      })).value++;
    },
    logLinesDropped(project, fn, count) {
      dropped.inc({ project, function: fn }, count);
    },
  };
}
