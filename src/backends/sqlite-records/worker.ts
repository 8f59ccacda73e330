// The records store's worker thread: SQLite writes (and the WAL checkpoints that come with them,
// ~10 ms each) stay off the thread that serves requests. One request at a time, in order.
import { parentPort, workerData } from "node:worker_threads";
import { openRecordsStore } from "./store.js";
import type { StoreReply, StoreRequest } from "./protocol.js";

const port = parentPort;
if (port === null) throw new Error("the records store runs in a worker thread");
const store = openRecordsStore((workerData as { file: string }).file);

port.on("message", (request: StoreRequest) => {
  let reply: StoreReply;
  try {
    let result: unknown;
    switch (request.op) {
      case "append":
        store.append(request.groups);
        break;
      case "get":
        result = store.get(request.id);
        break;
      case "list":
        result = store.list(request.project, request.fn, request.query);
        break;
      case "trim":
        store.trim(request.project, request.fn, request.retention);
        break;
      case "remove":
        store.remove(request.project, request.fn);
        break;
      case "close":
        store.close();
        break;
    }
    reply = { seq: request.seq, ok: true, result };
  } catch (error) {
    reply = {
      seq: request.seq,
      ok: false,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  port.postMessage(reply);
  if (request.op === "close") port.close();
});
