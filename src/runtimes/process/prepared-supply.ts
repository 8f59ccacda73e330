// Prepared processes: for each interpreter that has served a function here, one sandboxed
// process started ahead of need, its interpreter, bootstrap and SDK already loaded, waiting to
// be told which function it is. A cold start takes it, links the version's code into its
// /var/task (a folder of its own, bound when it started), sets the function's limits and hands
// it the environment: what remains is importing the handler. Like the isolate supply, it keeps
// the sandbox's start-up (bwrap, the interpreter, ~60 ms for Python) off the request path.
import { copyFile, link, lstat, mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { join } from "node:path";
import { IGNORE, type SandboxedProcess } from "./sandboxed-process.js";

export type PreparedKind = "python" | "node-process";

export class PreparedSupply {
  private readonly waiting = new Map<PreparedKind, SandboxedProcess>();
  private readonly starting = new Map<PreparedKind, Promise<void>>();
  private closed = false;

  constructor(private readonly prepare: (kind: PreparedKind) => Promise<SandboxedProcess>) {}

  /**
   * The prepared process of `kind`: the one waiting, else the one starting (further along than
   * a fresh start would be), else undefined. Call refill after using it.
   */
  async take(kind: PreparedKind): Promise<SandboxedProcess | undefined> {
    if (!this.waiting.has(kind)) await this.starting.get(kind);
    const proc = this.waiting.get(kind);
    this.waiting.delete(kind);
    if (proc === undefined || !proc.exited) return proc;
    void proc.stop();
    return undefined;
  }

  /**
   * Starts another of `kind` unless one waits or is starting. Called once a cold start is
   * over, so the two do not share the CPU while a request waits.
   */
  refill(kind: PreparedKind): void {
    if (this.closed || this.waiting.has(kind) || this.starting.has(kind)) return;
    const starting = this.prepare(kind)
      .then((proc) => {
        if (this.closed) return proc.stop();
        // one that dies while it waits is dropped; the next cold start starts afresh
        proc.attach({
          ...IGNORE,
          onExit: () => {
            if (this.waiting.get(kind) === proc) this.waiting.delete(kind);
            void proc.stop();
          },
        });
        if (proc.exited) return proc.stop();
        this.waiting.set(kind, proc);
        return undefined;
      })
      // a start that fails here fails for the function too, and says why there
      .catch(() => undefined)
      .finally(() => this.starting.delete(kind));
    this.starting.set(kind, starting);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.starting.values());
    const procs = [...this.waiting.values()];
    this.waiting.clear();
    await Promise.all(procs.map((proc) => proc.stop()));
  }
}

/**
 * Puts a version's code into a prepared process's /var/task: hard links (the versions' folders
 * and the slots are in the same data folder), a copy where a link cannot be made. The slot is
 * bound read-only inside, so the function cannot change the shared files.
 */
export async function placeCode(from: string, slot: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(slot, entry.name);
    if (entry.isDirectory()) {
      await mkdir(target, { mode: (await lstat(source)).mode & 0o777 });
      await placeCode(source, target);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    } else {
      await link(source, target).catch(() => copyFile(source, target));
    }
  }
}
