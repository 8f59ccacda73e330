// What a process uses to see what it does: the invocation records (their store and the
// recorder), the metrics, and spans over OTLP when asked. Picked and wired here, as the other
// backends are in index.ts.
import { hostname } from "node:os";
import type { NatsConnection } from "@nats-io/transport-node";
import { join } from "node:path";
import { natsRecords } from "../backends/nats-records/index.js";
import { openSqliteRecords } from "../backends/sqlite-records/index.js";
import type { BindingCall } from "../bindings/index.js";
import { InvocationRecorder } from "../observe/invocation-recorder.js";
import { createMetrics, type FunctionGauges } from "../observe/metrics.js";
import type { PlatformLog } from "../observe/platform-log.js";
import { UsageMeter } from "../observe/usage-meter.js";
import { readUsage, type UsageQuery, type UsageReport } from "../observe/usage-query.js";
import type { KvPort } from "../ports/kv.js";
import type { RecordsPort } from "../ports/records.js";
import type { FunctionVersion } from "../runtimes/types.js";
import type { ClusterNames } from "../shared/cluster-names.js";
import type { NodeConfig } from "./config.js";

export async function openObservability(options: {
  config: NodeConfig;
  names: ClusterNames;
  nats: NatsConnection | undefined;
  gauges: FunctionGauges;
  /** Every live version, to trim by age even when not invoked (control does it). */
  live: (() => FunctionVersion[]) | undefined;
  /** The platform's kv, where usage counters are kept. */
  kv: KvPort;
  /** Whether a function is deployed (only those are metered). */
  deployed: (project: string, name: string) => boolean;
  log: PlatformLog;
}) {
  const { config, names, nats, log } = options;
  const metrics = createMetrics(options.gauges);
  // every invocation's record: with NATS in the cluster's stream, so control sees every worker's
  const records: RecordsPort =
    nats === undefined
      ? openSqliteRecords(join(config.dataDir, "records.sqlite"))
      : await natsRecords(nats, {
          stream: names.recordsStream,
          prefix: names.recordsPrefix,
          replicas: config.replicas,
        });
  // spans over OTLP, only when asked: the SDK is not even loaded otherwise
  const tracing =
    config.otlp === undefined
      ? undefined
      : (await import("../observe/otlp-tracing.js")).startOtlpTracing(
          config.otlp,
          `${hostname()}:${process.pid}`,
        );
  if (config.otlp !== undefined) log.info(`spans: OTLP to ${config.otlp}`, { otlp: config.otlp });
  const report = (error: unknown, what: string) => log.error(what, { component: "usage", error });
  // usage per function and hour, durable: what users are billed on
  const usage = new UsageMeter({
    kv: options.kv,
    bucket: names.bucket("usage"),
    counted: options.deployed,
    onError: report,
  });
  const recorder = new InvocationRecorder({
    store: records,
    onRecord: (record, trace) => {
      metrics.record(record);
      usage.record(record);
      tracing?.invocation(record, trace);
    },
    ...(options.live === undefined ? {} : { functions: options.live }),
    onError: (error, what) => log.error(what, { component: "records", error }),
  });
  return {
    metrics,
    records,
    recorder,
    /** A binding call settled: counted, and a span when spans are sent. */
    bindingCall(call: BindingCall): void {
      metrics.bindingCall(call.project, call.fn, call.binding, call.op, call.ok);
      const parent = call.requestId === undefined ? undefined : recorder.traceOf(call.requestId);
      if (tracing !== undefined && parent !== undefined) tracing.bindingCall(call, parent);
    },
    traceparentOf: (requestId: string) => recorder.traceOf(requestId)?.traceparent,
    usage,
    /** Stored usage; this process's own counts are stored first, so they show at once. */
    async usageReport(query: UsageQuery): Promise<UsageReport> {
      await usage.flush();
      return readUsage(await usage.bucket(), query);
    },
    /** After the runtimes: what is pending is stored, what is buffered is sent. */
    async close(): Promise<void> {
      await recorder.close();
      await usage.close();
      await tracing?.close();
      await records.close();
    },
  };
}
