// The meters behind a process function's peak memory, where the platform tests cannot reach them
// on this machine (cgroup v1 is tested there): the process tree's resident peak from /proc, for
// machines without a writable cgroup, and v2's `memory.current` sampled where `memory.peak` is
// missing (a folder stands in for the cgroup).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { cgroupV2Meter, processTreeMeter } from "../../../src/runtimes/process/memory-meter.js";
import { eventuallyValue } from "../../kit/eventually.js";

const MiB = 1024 * 1024;

// prints its pid, then touches 48 MiB when told and keeps it
const HOG = `
import sys
print(__import__("os").getpid(), flush=True)
sys.stdin.readline()
hog = bytearray(48 * 1024 * 1024)
for i in range(0, len(hog), 4096):
    hog[i] = 1
print("done", flush=True)
sys.stdin.readline()
`;

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function residentPeak(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "latin1");
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

void describe("memory meters", () => {
  void it("without a cgroup: the process tree's resident peaks, summed, as last measured", async () => {
    // a shell that forks python (not exec): the function's process is a child of the one started
    const child = spawn("/bin/sh", ["-c", `python3 -c '${HOG}'; exit $?`], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    cleanups.push(() => void child.kill("SIGKILL"));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const python = Number((await lines.next()).value);
    assert.notEqual(python, child.pid, "python runs as the shell's child");
    const meter = processTreeMeter(child.pid ?? 0);
    cleanups.push(() => meter.close());

    const before = await eventuallyValue("a first measurement", () => Promise.resolve(meter.end()));
    // the shell's child is counted, not only the process that was started
    const alone = await residentPeak(python);
    assert.ok(before > alone, `tree ${before} bytes, python alone ${alone}`);
    child.stdin.write("go\n");
    assert.equal((await lines.next()).value, "done");
    const grown = await eventuallyValue("the 48 MiB measured", () => {
      const peak = meter.end();
      return Promise.resolve(peak !== undefined && peak >= before + 40 * MiB ? peak : undefined);
    });
    assert.ok(grown < before + 64 * MiB, `peak ${grown / MiB} MiB`);
  });

  void it("v2 without memory.peak: memory.current at each end, the highest so far", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-meter-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const current = join(dir, "memory.current");
    await writeFile(current, "1000\n");
    const meter = cgroupV2Meter(dir);
    assert.ok(meter !== undefined);
    meter.begin();
    await writeFile(current, "5000\n");
    assert.equal(meter.end(), 5000);
    await writeFile(current, "2000\n");
    meter.begin();
    assert.equal(meter.end(), 5000, "a lower usage later does not lower the peak");
    meter.close();
    await writeFile(current, "9000\n");
    assert.equal(meter.end(), 5000, "closed, it reads nothing more");
  });

  void it("no memory files at all: no meter, so the caller falls back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-meter-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    assert.equal(cgroupV2Meter(dir), undefined);
  });
});
