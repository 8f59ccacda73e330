// records port on SQLite, embedded: the store (store.ts) runs in a worker thread of its own, so
// its writes and WAL checkpoints never hold up a request. This thread only encodes each batch
// (a string per function, cheap to hand over) and decodes nothing but what it is asked for.
import { Worker } from "node:worker_threads";
import {
  byFunction,
  type InvocationRecordEntry,
  type RecordQuery,
  type RecordsPort,
} from "../../ports/records.js";
import type { StoreReply, StoreRequest } from "./protocol.js";

type Request = StoreRequest extends infer R
  ? R extends StoreRequest
    ? Omit<R, "seq">
    : never
  : never;

const WORKER = new URL("./worker.js", import.meta.url);

export function openSqliteRecords(file: string): RecordsPort {
  const worker = new Worker(WORKER, { workerData: { file } });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  let open = true;
  let failed: Error | undefined;
  // an idle store must not keep the process alive; one with answers owed must
  worker.unref();
  worker.on("message", (reply: StoreReply) => {
    const pending = waiting.get(reply.seq);
    if (pending === undefined) return;
    waiting.delete(reply.seq);
    if (waiting.size === 0) worker.unref();
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(new Error(reply.error));
  });
  const fail = (error: Error) => {
    failed = error;
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  };
  worker.on("error", fail);
  worker.on("exit", () => fail(new Error("the records store's worker has stopped")));

  const call = <T>(request: Request): Promise<T> => {
    if (!open) return Promise.reject(new Error("the records store is closed"));
    if (failed !== undefined) return Promise.reject(failed);
    const id = ++seq;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (waiting.size === 1) worker.ref();
      const message: StoreRequest = { ...request, seq: id };
      worker.postMessage(message);
    });
  };

  return {
    append: (batch) =>
      batch.length === 0 && open
        ? Promise.resolve()
        : call({ op: "append", groups: byFunction(batch) }),
    get: (id) => call<InvocationRecordEntry | undefined>({ op: "get", id }),
    list: (project, fn, query: RecordQuery = {}) =>
      call<InvocationRecordEntry[]>({ op: "list", project, fn, query }),
    trim: (project, fn, retention) => call({ op: "trim", project, fn, retention }),
    remove: (project, fn) => call({ op: "remove", project, fn }),
    async close() {
      if (!open) return;
      await call({ op: "close" }).catch(() => undefined);
      open = false;
      await worker.terminate();
    },
  };
}
