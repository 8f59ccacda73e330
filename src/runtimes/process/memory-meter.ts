// The peak memory of a process function's instance, for invocation records.
// - With a memory cgroup, the kernel keeps a high-water mark of what the limit counts (resident
//   memory and the page cache the instance brought in): v1 `memory.max_usage_in_bytes` (writing 0
//   resets it to the current usage), v2 `memory.peak` (Linux 5.19; from 6.12 a write resets it
//   for reads through the same descriptor). Reset as an invocation starts and read as it ends, it
//   is that invocation's peak; where it cannot be reset, the instance's peak so far. v2 without
//   `memory.peak` has no mark: `memory.current` is sampled at each invocation's start and end and
//   once a second in between, and the highest sample so far is reported.
// - Without a cgroup: the resident peaks (`VmHWM` in /proc/<pid>/status) of the instance's
//   process tree, summed, read in the background at most once a second: the instance's peak so
//   far, as last measured.
// Why synchronous: a cgroup file read or written through a descriptor kept open costs ~2–6 µs of
// the serving thread, less than one trip through libuv's thread pool (~100 µs), and the number
// belongs to the invocation that just ended. /proc/<pid>/status costs ~60 µs per process, so the
// fallback stays off the request path.
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface MemoryMeter {
  /** An invocation starts. */
  begin(): void;
  /** The invocation ended: its peak in bytes, or the instance's as last measured (undefined
   * until there is one). */
  end(): number | undefined;
  /** Stops measuring; the descriptor it holds is closed. */
  close(): void;
}

/** How often a sampled meter reads, at most. */
const SAMPLE_MS = 1_000;

export const UNMEASURED: MemoryMeter = {
  begin: () => undefined,
  end: () => undefined,
  close: () => undefined,
};

/** A v1 memory cgroup's high-water mark, reset for each invocation where writing is allowed. */
export function cgroupV1Meter(dir: string): MemoryMeter | undefined {
  const file = KernelFile.open(join(dir, "memory.max_usage_in_bytes"));
  return file === undefined ? undefined : watermark(file, "0");
}

/** A v2 memory cgroup's `memory.peak` (reset per invocation from Linux 6.12), else its
 * `memory.current` sampled. */
export function cgroupV2Meter(dir: string): MemoryMeter | undefined {
  const peak = KernelFile.open(join(dir, "memory.peak"));
  if (peak !== undefined) return watermark(peak, "reset");
  const current = KernelFile.open(join(dir, "memory.current"));
  return current === undefined ? undefined : sampled(current);
}

/** The summed resident peaks of `pid` and its descendants, read in the background. */
export function processTreeMeter(pid: number): MemoryMeter {
  let peak: number | undefined;
  let sampledAt = -Infinity;
  let reading = false;
  let closed = false;
  return {
    begin: () => undefined,
    end() {
      const now = Date.now();
      if (!closed && !reading && now - sampledAt >= SAMPLE_MS) {
        sampledAt = now;
        reading = true;
        void treeResidentPeak(pid).then((bytes) => {
          reading = false;
          if (!closed && bytes !== undefined) peak = Math.max(peak ?? 0, bytes);
        });
      }
      return peak;
    },
    close: () => void (closed = true),
  };
}

/** A high-water mark that `reset` written to it resets, when the kernel lets us write it. */
function watermark(file: KernelFile, reset: string): MemoryMeter {
  let resets = file.writable;
  let last: number | undefined;
  return {
    begin() {
      if (resets) resets = file.write(reset);
    },
    end() {
      last = file.read() ?? last;
      return last;
    },
    close: () => file.close(),
  };
}

/** A usage read at an invocation's start and end and once a second in between: the highest so far. */
function sampled(file: KernelFile): MemoryMeter {
  let highest: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const sample = () => {
    const bytes = file.read();
    if (bytes !== undefined) highest = Math.max(highest ?? 0, bytes);
  };
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  return {
    begin() {
      sample();
      stop();
      timer = setInterval(sample, SAMPLE_MS).unref();
    },
    end() {
      stop();
      sample();
      return highest;
    },
    close() {
      stop();
      file.close();
    },
  };
}

/** A small kernel file holding a number, kept open (reads and writes at offset 0). */
class KernelFile {
  private readonly buffer = Buffer.alloc(32);
  private fd: number | undefined;

  private constructor(
    fd: number,
    readonly writable: boolean,
  ) {
    this.fd = fd;
  }

  /** Opened for reading and writing, else for reading; undefined where it cannot be opened. */
  static open(path: string): KernelFile | undefined {
    for (const flags of ["r+", "r"] as const) {
      try {
        return new KernelFile(openSync(path, flags), flags === "r+");
      } catch {
        // not writable (a kernel without the reset), or not there at all
      }
    }
    return undefined;
  }

  read(): number | undefined {
    if (this.fd === undefined) return undefined;
    try {
      const value = Number(
        this.buffer.toString("latin1", 0, readSync(this.fd, this.buffer, 0, 32, 0)),
      );
      return Number.isFinite(value) ? value : undefined;
    } catch {
      return undefined; // the cgroup is being removed
    }
  }

  /** False when the write was refused. */
  write(text: string): boolean {
    if (this.fd === undefined) return false;
    try {
      writeSync(this.fd, text, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Once closed it touches nothing: the descriptor's number may soon name another file. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
    this.fd = undefined;
  }
}

/** Sum of VmHWM over `pid` and its descendants, in bytes; undefined once `pid` is gone. */
async function treeResidentPeak(pid: number): Promise<number | undefined> {
  let total: number | undefined;
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [status, children] = await Promise.all([
      readFile(`/proc/${next}/status`, "latin1").catch(() => ""),
      // needs CONFIG_PROC_CHILDREN (common); without it only `pid` itself is counted
      readFile(`/proc/${next}/task/${next}/children`, "latin1").catch(() => ""),
    ]);
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    if (kib !== undefined) total = (total ?? 0) + Number(kib) * 1024;
    for (const child of children.split(" ")) if (child.trim() !== "") pending.push(Number(child));
  }
  return total;
}
