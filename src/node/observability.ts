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
  say: (line: string) => void;
}) {
  const { config, names, nats, say } = options;
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
  if (config.otlp !== undefined) say(`spans: OTLP to ${config.otlp}`);
  const recorder = new InvocationRecorder({
    store: records,
    onRecord: (record, trace) => {
      metrics.record(record);
      tracing?.invocation(record, trace);
    },
    ...(options.live === undefined ? {} : { functions: options.live }),
    onError: (error, what) =>
      say(`${what}: ${error instanceof Error ? error.message : String(error)}`),
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
    /** After the runtimes: what is pending is stored, what is buffered is sent. */
    async close(): Promise<void> {
      await recorder.close();
      await tracing?.close();
      await records.close();
    },
  };
}
