// Spans over OTLP (--otlp <url>), with the OpenTelemetry SDK: one span per invocation, made from
// its record when it ends, and one per binding call, as a child of its invocation's. The spans
// carry the ids the platform already handed on in traceparent headers (trace-context.ts), so a
// span made here joins the trace its caller started and is the parent of what the invocation
// did. Loaded only when --otlp is given.
import {
  context,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
} from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type IdGenerator,
} from "@opentelemetry/sdk-trace-base";
import type { InvocationRecordEntry } from "../ports/records.js";
import type { InvocationTrace } from "./invocation-recorder.js";
import { newSpanId, newTraceId } from "./trace-context.js";

export interface BindingSpan {
  project: string;
  fn: string;
  binding: string;
  op: string;
  ok: boolean;
  start: number;
  end: number;
}

export interface Tracing {
  invocation(record: InvocationRecordEntry, trace: InvocationTrace): void;
  bindingCall(call: BindingSpan, parent: InvocationTrace): void;
  /** Sends what is buffered; resolves when sent (or given up). */
  close(): Promise<void>;
}

/**
 * The SDK draws a span's id (and a root span's trace id) from its IdGenerator once per span, in
 * startSpan: this one hands out the ids set just before, so the span has the id already given
 * out in traceparent headers.
 */
class GivenIds implements IdGenerator {
  traceId: string | undefined;
  spanId: string | undefined;
  generateTraceId(): string {
    const id = this.traceId ?? newTraceId();
    this.traceId = undefined;
    return id;
  }
  generateSpanId(): string {
    const id = this.spanId ?? newSpanId();
    this.spanId = undefined;
    return id;
  }
}

const FAAS_TRIGGER: Record<InvocationRecordEntry["trigger"], string> = {
  http: "http",
  message: "pubsub",
  async: "other",
  scheduled: "timer",
  replay: "other",
};

export function startOtlpTracing(url: string, instance: string): Tracing {
  const ids = new GivenIds();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": "litefaas",
      "service.instance.id": instance,
    }),
    idGenerator: ids,
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1000 }),
    ],
  });
  const tracer = provider.getTracer("litefaas");

  const span = (
    name: string,
    kind: SpanKind,
    traceId: string,
    spanId: string,
    parentId: string | undefined,
    flags: string,
    start: number,
    end: number,
    attributes: Attributes,
    error: { code: string; message: string } | undefined,
  ) => {
    const traceFlags = flags === "00" ? TraceFlags.NONE : TraceFlags.SAMPLED;
    const parent =
      parentId === undefined
        ? context.active()
        : trace.setSpanContext(context.active(), {
            traceId,
            spanId: parentId,
            traceFlags,
            isRemote: true,
          });
    ids.traceId = traceId;
    ids.spanId = spanId;
    const s = tracer.startSpan(name, { kind, startTime: start, attributes }, parent);
    ids.traceId = undefined;
    ids.spanId = undefined;
    if (error !== undefined) {
      s.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
      s.setAttribute("error.type", error.code);
    }
    s.end(end);
  };

  return {
    invocation(r, t) {
      const attributes: Attributes = {
        "faas.name": r.function,
        "faas.version": String(r.version),
        "faas.invocation_id": r.id,
        "faas.trigger": FAAS_TRIGGER[r.trigger],
        "faas.coldstart": r.cold,
        "litefaas.project": r.project,
        "litefaas.trigger": r.trigger,
        "litefaas.attempt": r.attempt,
        "litefaas.worker": r.worker,
      };
      if (r.status !== undefined) attributes["http.response.status_code"] = r.status;
      if (r.initMs !== undefined) attributes["litefaas.init_ms"] = r.initMs;
      span(
        `${r.project}/${r.function}`,
        r.trigger === "http" || r.trigger === "replay" ? SpanKind.SERVER : SpanKind.CONSUMER,
        t.traceId,
        t.spanId,
        t.parentId,
        t.flags,
        r.start,
        r.start + r.durationMs,
        attributes,
        r.outcome === "error" ? (r.error ?? { code: "ERROR", message: "failed" }) : undefined,
      );
    },
    bindingCall(c, parent) {
      span(
        `${c.binding}.${c.op}`,
        SpanKind.CLIENT,
        parent.traceId,
        newSpanId(),
        parent.spanId,
        parent.flags,
        c.start,
        c.end,
        {
          "litefaas.project": c.project,
          "faas.name": c.fn,
          "litefaas.binding": c.binding,
          "litefaas.operation": c.op,
        },
        c.ok ? undefined : { code: "BINDING_ERROR", message: `${c.binding}.${c.op} failed` },
      );
    },
    close: () => provider.shutdown(),
  };
}
