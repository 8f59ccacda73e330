// The peak memory in a process function's invocation records, through a real `litefaas up`: a
// Python function that touches 48 MiB on request shows a peak at least 40 MiB above one that
// does not, within its memory limit. What is promised depends on the machine
// (docs/observability.md, "Peak memory"): each invocation's own peak where the memory cgroup's
// mark can be reset, else the instance's peak so far; without a cgroup, the process tree's
// resident peak as last measured.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { release } from "node:os";
import { after, before, describe, it } from "node:test";
import type { InvocationRecordEntry } from "../../src/ports/records.js";
import { eventuallyValue } from "../kit/eventually.js";
import { startPlatform, type Platform } from "../kit/platform.js";

const MiB = 1024 * 1024;
/** The fixture's `probe` function: limits.memory 128. */
const LIMIT = 128 * MiB;

type Promised = "per invocation" | "instance so far" | "sampled" | "process tree";

/** What docs/observability.md promises on this machine, from what `up` said and the kernel. */
function promisedHere(output: string): Promised {
  if (/no writable cgroup/.test(output)) return "process tree";
  if (!existsSync("/sys/fs/cgroup/cgroup.controllers")) return "per invocation"; // v1
  const [major = 0, minor = 0] = release().split(".").map(Number);
  const atLeast = (ma: number, mi: number) => major > ma || (major === ma && minor >= mi);
  if (atLeast(6, 12)) return "per invocation";
  return atLeast(5, 19) ? "instance so far" : "sampled";
}

describe("peak memory of process functions in invocation records", () => {
  let platform: Platform;
  let promised: Promised;

  before(async () => {
    platform = await startPlatform();
    promised = promisedHere(platform.output());
    const deployed = await platform.deploy("sandbox");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => platform.dispose());

  /** Invokes the probe and returns its record, once written. */
  const invoke = async (path: string): Promise<InvocationRecordEntry> => {
    const response = await platform.fetch(`/fn/sandbox/probe${path}`);
    assert.equal(response.status, 200, await response.clone().text());
    await response.arrayBuffer();
    const id = response.headers.get("x-request-id");
    assert.ok(id !== null);
    return eventuallyValue(`the record of ${id}`, async () => {
      const r = await platform.fetch(`/admin/v1/records/${encodeURIComponent(id)}`, {
        headers: { authorization: `Bearer ${platform.token}` },
      });
      return r.status === 200 ? ((await r.json()) as InvocationRecordEntry) : undefined;
    });
  };
  const peakOf = (record: InvocationRecordEntry): number => {
    assert.ok(record.memoryPeakBytes !== undefined, `no peak in ${JSON.stringify(record)}`);
    return record.memoryPeakBytes;
  };
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

  it("reports an allocation's peak, within the memory limit", async () => {
    await invoke("/idle"); // the cold start
    if (promised === "process tree") {
      // read in the background after invocations: a later record carries it
      const idle = await eventuallyValue("an idle invocation's measured peak", async () => {
        return (await invoke("/idle")).memoryPeakBytes;
      });
      await invoke("/alloc?mb=48");
      const seen = await eventuallyValue("the allocation in a later record", async () => {
        const peak = (await invoke("/idle")).memoryPeakBytes ?? 0;
        return peak >= idle + 40 * MiB ? peak : undefined;
      });
      // each process of the tree is held under an address space of twice the limit
      assert.ok(seen < 2 * LIMIT, `peak ${mib(seen)}`);
      return;
    }
    const idle = peakOf(await invoke("/idle"));
    assert.ok(idle > 1 * MiB && idle < LIMIT, `idle peak ${mib(idle)}`);
    const allocated = peakOf(await invoke("/alloc?mb=48"));
    // a cgroup's usage never passes its limit
    assert.ok(allocated <= LIMIT, `peak ${mib(allocated)} within ${mib(LIMIT)}`);
    const after = peakOf(await invoke("/idle"));
    if (promised === "sampled") {
      // memory.current read at the ends of an invocation misses memory freed before its end
      assert.ok(after > 1 * MiB && after <= LIMIT, `peak ${mib(after)}`);
      return;
    }
    assert.ok(
      allocated >= idle + 40 * MiB,
      `peak ${mib(allocated)} with 48 MiB touched, ${mib(idle)} without`,
    );
    if (promised === "per invocation")
      assert.ok(after < allocated - 40 * MiB, `the next invocation's own peak: ${mib(after)}`);
    else assert.ok(after >= allocated, `the instance's peak so far: ${mib(after)}`);
  });
});
