// Messages between the records port (index.ts) and its worker thread (worker.ts).
import type { EncodedGroup, RecordQuery, RecordRetention } from "../../ports/records.js";

export type StoreRequest = { seq: number } & (
  | { op: "append"; groups: EncodedGroup[] }
  | { op: "get"; id: string }
  | { op: "list"; project: string; fn: string; query: RecordQuery }
  | { op: "trim"; project: string; fn: string; retention: RecordRetention }
  | { op: "remove"; project: string; fn: string }
  | { op: "close" }
);

export type StoreReply =
  { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: string };
