// W3C trace context end to end: a traceparent at the gateway is continued by the invocation
// (ctx.traceId, the request's traceparent naming the invocation's span), carried into the events
// it publishes and the invocations they cause, into async invocations, and into the records;
// and with --otlp, the spans reach an OTLP/HTTP receiver with the same ids and parents.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { InvocationRecordEntry } from "../../src/ports/records.js";
import { eventuallyValue } from "../kit/eventually.js";
import { startPlatform, type Platform } from "../kit/platform.js";

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status?: { code?: number };
}

/** OTLP/JSON ids are hex; some encoders send base64: read either. */
const hex = (id: string | undefined): string =>
  id === undefined || id === ""
    ? ""
    : /^[0-9a-f]+$/.test(id)
      ? id
      : Buffer.from(id, "base64").toString("hex");

/** An OTLP/HTTP receiver: every span it is sent. */
async function otlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; server: Server }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        resourceSpans?: Array<{
          scopeSpans?: Array<{
            spans?: Array<
              Omit<ReceivedSpan, "attributes"> & {
                attributes?: Array<{ key: string; value: Record<string, unknown> }>;
              }
            >;
          }>;
        }>;
      };
      for (const rs of body.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? []) {
            const attributes: Record<string, unknown> = {};
            for (const a of s.attributes ?? []) attributes[a.key] = Object.values(a.value)[0];
            spans.push({
              ...s,
              traceId: hex(s.traceId),
              spanId: hex(s.spanId),
              parentSpanId: hex(s.parentSpanId),
              attributes,
            });
          }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, spans, server };
}

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

void describe("trace context", () => {
  let platform: Platform;
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  const admin = () => ({ authorization: `Bearer ${platform.token}` });
  const record = (id: string) =>
    eventuallyValue(`the record of ${id}`, async () => {
      const r = await platform.fetch(`/admin/v1/records/${id}`, { headers: admin() });
      return r.status === 200 ? ((await r.json()) as InvocationRecordEntry) : undefined;
    });
  const backRecords = async () => {
    const r = await platform.fetch("/admin/v1/functions/tracing/back/records?limit=100", {
      headers: admin(),
    });
    return ((await r.json()) as { records: InvocationRecordEntry[] }).records;
  };

  before(async () => {
    receiver = await otlpReceiver();
    platform = await startPlatform({ args: ["--otlp", receiver.url] });
    const deployed = await platform.deploy("tracing");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    await platform.dispose();
    receiver.server.close();
  });

  void it("continues a caller's trace into the function, its events and their consumers", async () => {
    const r = await platform.fetch("/fn/tracing/front/", {
      headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` },
    });
    assert.equal(r.status, 200);
    const id = r.headers.get("x-request-id") ?? "";
    const seen = (await r.json()) as {
      traceId: string;
      traceparent: string;
      ctxTraceparent: string;
    };
    assert.equal(seen.traceId, TRACE);
    assert.equal(seen.ctxTraceparent, seen.traceparent);
    // the function's request names the invocation's own span as the parent of what it does
    const [, traceId, span, flags] = seen.traceparent.split("-");
    assert.equal(traceId, TRACE);
    assert.notEqual(span, CALLER_SPAN);
    assert.match(span ?? "", /^[0-9a-f]{16}$/);
    assert.equal(flags, "01");
    assert.equal((await record(id)).traceId, TRACE);

    // the event it published carried the trace: the consumer's invocation is in it, its parent
    // the front invocation's span
    const back = await eventuallyValue("the consumer's record in the trace", async () =>
      (await backRecords()).find((b) => b.traceId === TRACE),
    );
    assert.equal(back.trigger, "message");
    const line = back.logs[0]?.message ?? "";
    assert.match(line, new RegExp(`^trace ${TRACE} parent 00-${TRACE}-[0-9a-f]{16}-01$`));

    // over OTLP: the invocation span (parent: the caller's), the publish (its child), and the
    // consumer's invocation (whose parent is the front invocation's span)
    const spans = await eventuallyValue("the trace's three spans at the receiver", () => {
      const inTrace = receiver.spans.filter((s) => s.traceId === TRACE);
      return Promise.resolve(inTrace.length >= 3 ? inTrace : undefined);
    });
    const front = spans.find((s) => s.name === "tracing/front");
    const publish = spans.find((s) => s.name === "events.publish");
    const consumer = spans.find((s) => s.name === "tracing/back");
    assert.ok(front !== undefined && publish !== undefined && consumer !== undefined);
    assert.equal(front.spanId, span);
    assert.equal(front.parentSpanId, CALLER_SPAN);
    assert.equal(front.attributes["faas.trigger"], "http");
    assert.equal(front.attributes["faas.invocation_id"], id);
    assert.equal(front.attributes["http.response.status_code"], 200);
    assert.equal(publish.parentSpanId, front.spanId);
    assert.equal(consumer.parentSpanId, front.spanId);
    assert.equal(consumer.attributes["faas.trigger"], "pubsub");
  });

  void it("starts a trace when the request has none, or an invalid one", async () => {
    for (const traceparent of [
      undefined,
      "00-zz-00f067aa0ba902b7-01",
      `00-${"0".repeat(32)}-${CALLER_SPAN}-01`,
    ]) {
      const r = await platform.fetch("/fn/tracing/front/", {
        headers: traceparent === undefined ? {} : { traceparent },
      });
      const seen = (await r.json()) as {
        traceId: string;
        ctxTraceparent: string;
        traceparent: string | null;
      };
      assert.match(seen.traceId, /^[0-9a-f]{32}$/);
      assert.match(seen.ctxTraceparent, new RegExp(`^00-${seen.traceId}-[0-9a-f]{16}-01$`));
      // a request that came without one is passed on as it came; one that came with an invalid
      // one gets the invocation's in its place
      assert.equal(seen.traceparent, traceparent === undefined ? null : seen.ctxTraceparent);
      assert.notEqual(seen.traceId, "0".repeat(32));
      const id = r.headers.get("x-request-id") ?? "";
      assert.equal((await record(id)).traceId, seen.traceId);
      const span = await eventuallyValue("its root span", () =>
        Promise.resolve(
          receiver.spans.find((s) => s.traceId === seen.traceId && s.name === "tracing/front"),
        ),
      );
      assert.equal(span.parentSpanId, "", "a new trace's first span has no parent");
    }
  });

  void it("carries the trace into an async invocation", async () => {
    const trace = "0af7651916cd43dd8448eb211c80319c";
    const r = await platform.fetch("/fn/tracing/front/", {
      method: "POST",
      headers: { traceparent: `00-${trace}-b7ad6b7169203331-01`, "x-litefaas-invocation": "async" },
    });
    assert.equal(r.status, 202);
    const { id } = (await r.json()) as { id: string };
    const ran = await record(id);
    assert.equal(ran.trigger, "async");
    assert.equal(ran.traceId, trace);
  });
});
