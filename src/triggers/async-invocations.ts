// Async invocation over HTTP: the request is stored on the function's queue and answered 202 at
// once; the event consumer runs it later with the function's retry policy. An Idempotency-Key
// makes repeated submissions within a day one invocation.
import { createHash, randomUUID } from "node:crypto";
import type { AsyncInvoker, InvocationRecord } from "../invoke/index.js";
import { KvConflictError, type KvBucket } from "../ports/kv.js";
import type { QueuePort } from "../ports/queue.js";
import type { FunctionVersion } from "../runtimes/types.js";
import { LitefaasError } from "../shared/errors.js";
import type { ClusterNames } from "../shared/cluster-names.js";
import { consumerOf, HEADER } from "./names.js";
import type { InvocationRecords } from "./invocation-records.js";

const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;
const MAX_KEY = 255;

/** The stored form of an HTTP request, in a header of the queued message (the body is its data). */
export interface StoredRequest {
  method: string;
  url: string;
  headers: string[];
  sourceIp: string;
  hasBody: boolean;
}

export function createAsyncInvoker(deps: {
  queue: QueuePort;
  records: InvocationRecords;
  /** Idempotency keys, in the same bucket as the records (prefixed so ids cannot collide). */
  keys: KvBucket;
  names: ClusterNames;
}): AsyncInvoker {
  const { queue, records, keys } = deps;
  return {
    async submit(fn, request, options) {
      const key = options.idempotencyKey;
      if (key !== undefined && (key.length === 0 || key.length > MAX_KEY)) {
        throw new LitefaasError(
          "INVALID_REQUEST",
          `an Idempotency-Key is 1 to ${MAX_KEY} characters`,
          {
            fix: "send a shorter key, e.g. a UUID",
          },
        );
      }
      const id = randomUUID();
      if (key !== undefined) {
        const claimed = await claimKey(keys, fn, key, id);
        if (claimed !== id) {
          const existing = await records.get(claimed);
          if (existing !== undefined) return { record: existing, replayed: true };
        }
      }
      const now = new Date().toISOString();
      const record: InvocationRecord = {
        id,
        project: fn.project,
        function: fn.name,
        status: "queued",
        attempts: 0,
        acceptedAt: now,
        updatedAt: now,
      };
      await records.put(record);
      const stored: StoredRequest = {
        method: request.method,
        url: request.url,
        headers: stripInvocationHeaders(request.headers),
        sourceIp: request.sourceIp,
        hasBody: request.body !== null,
      };
      try {
        await queue.send(consumerOf(fn.project, fn.name), {
          id,
          subject: deps.names.invokeSubject(fn.project, fn.name),
          data: request.body ?? new Uint8Array(0),
          headers: { [HEADER.kind]: "http", [HEADER.request]: JSON.stringify(stored) },
        });
      } catch (error) {
        await records.delete(id);
        throw new LitefaasError(
          "INTERNAL",
          `the async invocation could not be queued: ${error instanceof Error ? error.message : String(error)}`,
          {
            fix: "retry; with NATS, a request larger than the server's max_payload cannot be queued",
            cause: error,
          },
        );
      }
      return { record, replayed: false };
    },
    status: (id) => records.get(id),
  };
}

/** The invocation id a key belongs to: ours when we claimed it first, else the holder's. */
async function claimKey(
  keys: KvBucket,
  fn: FunctionVersion,
  key: string,
  id: string,
): Promise<string> {
  const hashed = createHash("sha256").update(key).digest("hex");
  const name = `idem/${fn.project}/${fn.name}/${hashed}`;
  try {
    await keys.put(name, new TextEncoder().encode(id), {
      ifRevision: 0,
      ttlMs: IDEMPOTENCY_WINDOW_MS,
    });
    return id;
  } catch (error) {
    if (!(error instanceof KvConflictError)) throw error;
    const holder = await keys.get(name);
    return holder === undefined ? id : new TextDecoder().decode(holder.value);
  }
}

/** The headers that asked for async are not part of the request the function sees. */
function stripInvocationHeaders(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] ?? "").toLowerCase();
    if (name === "x-litefaas-invocation") continue;
    out.push(headers[i] ?? "", headers[i + 1] ?? "");
  }
  return out;
}
