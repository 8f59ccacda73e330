// W3C traceparent parsing and the ids the platform makes: what the spec says to accept, and
// everything it says to treat as no traceparent at all.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  newSpanId,
  newTraceId,
  parseTraceparent,
  setTraceparent,
  traceparentIn,
} from "../../src/observe/trace-context.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

void describe("trace context", () => {
  void it("reads a valid traceparent, and a later version's with more after the flags", () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), {
      traceId: TRACE,
      parentId: SPAN,
      flags: "01",
    });
    assert.deepEqual(parseTraceparent(`cc-${TRACE}-${SPAN}-00-what-comes-later`), {
      traceId: TRACE,
      parentId: SPAN,
      flags: "00",
    });
  });

  void it("treats as absent what the spec says is invalid", () => {
    for (const bad of [
      undefined,
      "",
      `00-${TRACE}-${SPAN}`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${"0".repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${"0".repeat(16)}-01`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
      `0-${TRACE}-${SPAN}-01`,
    ])
      assert.equal(parseTraceparent(bad), undefined, String(bad));
  });

  void it("makes ids of the right length, different every time", () => {
    const traces = new Set(Array.from({ length: 2000 }, () => newTraceId()));
    const spans = new Set(Array.from({ length: 2000 }, () => newSpanId()));
    assert.equal(traces.size, 2000);
    assert.equal(spans.size, 2000);
    for (const t of traces) assert.match(t, /^[0-9a-f]{32}$/);
    for (const s of spans) assert.match(s, /^[0-9a-f]{16}$/);
  });

  void it("finds and sets traceparent in a flat header list whatever its case", () => {
    const headers = ["Host", "x", "TraceParent", "old", "Accept", "*/*"];
    assert.equal(traceparentIn(headers), "old");
    setTraceparent(headers, "new");
    assert.deepEqual(headers, ["Host", "x", "TraceParent", "new", "Accept", "*/*"]);
    const none = ["Host", "x"];
    assert.equal(traceparentIn(none), undefined);
    setTraceparent(none, "added");
    assert.deepEqual(none, ["Host", "x", "traceparent", "added"]);
  });
});
