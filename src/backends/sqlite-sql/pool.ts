// A small pool of SQLite worker processes. Each owner's operations run one at a time, in order
// (one SQLite connection's worth of concurrency, so no SQLITE_BUSY between a function's own
// queries), on whichever worker is idle, preferring one that has the owner's file open. A worker
// runs one operation at a time, so one owner never holds more than one worker and a slow query
// delays no other function while a worker is free. At an operation's timeout its worker is
// killed and replaced; the other databases it had open are reopened by the next operation that
// needs them, wherever it runs. Queued operations were never sent to the killed worker, so
// none of them runs twice.
import { fork, type ChildProcess } from "node:child_process";
import { SqlError, SqlTimeoutError } from "../../ports/sql.js";
import type { SqlOperation, WorkerReply, WorkerRequest, WorkerSettings } from "./protocol.js";

interface Job {
  kind: "job";
  file: string;
  operation: SqlOperation;
  timeoutMs: number | undefined;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Main-thread work that needs the owner to itself (deleting its files). */
interface Exclusive {
  kind: "exclusive";
  run: () => Promise<void>;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

type Task = Job | Exclusive;

interface Slot {
  child: ChildProcess;
  current: { id: number; owner: string; job: Job; timer: NodeJS.Timeout | undefined } | undefined;
  open: Set<string>;
  controls: Map<number, () => void>;
  retired: boolean;
  /** An owner whose next operation waits until this (killed) worker has really exited. */
  releaseOnExit: string | undefined;
}

const WORKER = new URL("./worker.js", import.meta.url);

/** An idle worker must not keep the platform's process alive; one with work to answer must. */
function keepAlive(slot: Slot): void {
  if (slot.current !== undefined || slot.controls.size > 0) {
    slot.child.ref();
    slot.child.channel?.ref();
  } else {
    slot.child.unref();
    slot.child.channel?.unref();
  }
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queues = new Map<string, Task[]>();
  /** Owners with queued work and nothing in progress, in arrival order. */
  private readonly ready = new Set<string>();
  private readonly busy = new Set<string>();
  private readonly drained: Array<() => void> = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly settings: WorkerSettings,
  ) {}

  run(owner: string, file: string, operation: SqlOperation, timeoutMs?: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.enqueue(owner, { kind: "job", file, operation, timeoutMs, resolve, reject });
    });
  }

  /** Runs `work` when the owner has nothing in progress; its operations wait meanwhile. */
  exclusive(owner: string, work: () => Promise<void>): Promise<void> {
    return new Promise<unknown>((resolve, reject) => {
      this.enqueue(owner, { kind: "exclusive", run: work, resolve, reject });
    }).then(() => undefined);
  }

  /** Closes the owner's database in every worker (their replies wait for current operations). */
  closeEverywhere(owner: string): Promise<void> {
    const closing = this.slots.map(
      (slot) =>
        new Promise<void>((resolve) => {
          const id = this.nextId++;
          slot.controls.set(id, resolve);
          keepAlive(slot);
          this.send(slot, { id, type: "close", owner });
        }),
    );
    return Promise.all(closing).then(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.queues.values())
      for (const task of queue) task.reject(new Error("the SQL port is closed"));
    this.queues.clear();
    this.ready.clear();
    if (this.busy.size > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (!slot.child.connected) resolve();
            else {
              slot.child.once("exit", () => resolve());
              slot.child.ref();
              slot.child.disconnect();
            }
          }),
      ),
    );
  }

  private enqueue(owner: string, task: Task): void {
    if (this.closed) {
      task.reject(new Error("the SQL port is closed"));
      return;
    }
    const queue = this.queues.get(owner);
    if (queue === undefined) this.queues.set(owner, [task]);
    else queue.push(task);
    if (!this.busy.has(owner)) this.ready.add(owner);
    this.pump();
  }

  private pump(): void {
    // workers start when there is work for them (so one that keeps dying is not respawned forever)
    if (this.ready.size > 0)
      while (!this.closed && this.slots.length < this.size) this.slots.push(this.spawn());
    for (const owner of this.ready) {
      const queue = this.queues.get(owner) ?? [];
      const task = queue[0];
      const slot = task?.kind === "job" ? this.idleSlot(owner) : undefined;
      if (task === undefined || (task.kind === "job" && slot === undefined)) continue;
      queue.shift();
      if (queue.length === 0) this.queues.delete(owner);
      this.ready.delete(owner);
      this.busy.add(owner);
      if (task.kind === "exclusive") {
        void Promise.resolve()
          .then(() => task.run())
          .then(task.resolve, task.reject)
          .finally(() => this.release(owner));
      } else if (slot !== undefined) {
        this.start(slot, owner, task);
      }
    }
  }

  private idleSlot(owner: string): Slot | undefined {
    const idle = this.slots.filter((slot) => slot.current === undefined && !slot.retired);
    return idle.find((slot) => slot.open.has(owner)) ?? idle[0];
  }

  private start(slot: Slot, owner: string, job: Job): void {
    const id = this.nextId++;
    const timer =
      job.timeoutMs === undefined ? undefined : setTimeout(() => this.timeout(slot), job.timeoutMs);
    slot.current = { id, owner, job, timer };
    keepAlive(slot);
    this.send(slot, { id, type: "job", owner, file: job.file, operation: job.operation });
  }

  private send(slot: Slot, request: WorkerRequest): void {
    slot.child.send(request, (error) => {
      // the worker is gone: its exit handler settles what it was doing
      if (error !== null) slot.child.kill("SIGKILL");
    });
  }

  private release(owner: string): void {
    this.busy.delete(owner);
    if (this.queues.has(owner)) this.ready.add(owner);
    if (this.busy.size === 0) for (const resolve of this.drained.splice(0)) resolve();
    this.pump();
  }

  private spawn(): Slot {
    const child = fork(WORKER, [JSON.stringify(this.settings)], {
      serialization: "advanced",
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const slot: Slot = {
      child,
      current: undefined,
      open: new Set(),
      controls: new Map(),
      retired: false,
      releaseOnExit: undefined,
    };
    child.on("message", (message: unknown) => this.reply(slot, message as WorkerReply));
    child.once("exit", (code, signal) => this.exited(slot, `${signal ?? code ?? "unknown"}`));
    child.on("error", () => child.kill("SIGKILL"));
    keepAlive(slot);
    return slot;
  }

  private reply(slot: Slot, reply: WorkerReply): void {
    for (const owner of reply.closed) slot.open.delete(owner);
    const control = slot.controls.get(reply.id);
    if (control !== undefined) {
      slot.controls.delete(reply.id);
      keepAlive(slot);
      control();
      return;
    }
    const current = slot.current;
    if (current === undefined || current.id !== reply.id) return;
    clearTimeout(current.timer);
    slot.current = undefined;
    keepAlive(slot);
    if (reply.ok) {
      slot.open.add(current.owner);
      current.job.resolve(reply.value);
    } else {
      const { message, code, sql } = reply.error;
      current.job.reject(sql ? new SqlError(message, code) : new Error(message));
    }
    this.release(current.owner);
  }

  private timeout(slot: Slot): void {
    const current = slot.current;
    if (current === undefined) return;
    slot.current = undefined;
    current.job.reject(new SqlTimeoutError(current.job.timeoutMs ?? 0));
    // the owner's next operation waits for the worker to be dead, so never overlaps this one
    slot.releaseOnExit = current.owner;
    this.retire(slot);
    slot.child.kill("SIGKILL");
  }

  private retire(slot: Slot): void {
    if (slot.retired) return;
    slot.retired = true;
    this.slots.splice(this.slots.indexOf(slot), 1);
    // a dead worker has closed its databases
    for (const control of slot.controls.values()) control();
    slot.controls.clear();
    this.pump();
  }

  private exited(slot: Slot, how: string): void {
    const current = slot.current;
    slot.current = undefined;
    this.retire(slot);
    if (current !== undefined) {
      clearTimeout(current.timer);
      current.job.reject(new Error(`the SQL worker process exited unexpectedly (${how})`));
      this.release(current.owner);
    }
    if (slot.releaseOnExit !== undefined) this.release(slot.releaseOnExit);
  }
}
