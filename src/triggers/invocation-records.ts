// Records of async invocations, in a kv bucket of the platform: what GET /invocations/<id> shows.
// Written on accept, on each try, and at the end; kept for RETENTION_MS after the last write.
import type { KvBucket } from "../ports/kv.js";
import type { InvocationRecord } from "../invoke/index.js";
import type { InvocationResponse } from "../runtimes/types.js";
import { utf8OrUndefined } from "./event-data.js";

const RETENTION_MS = 3 * 24 * 3_600_000;
const MAX_RESULT_BYTES = 256 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class InvocationRecords {
  constructor(private readonly bucket: KvBucket) {}

  async get(id: string): Promise<InvocationRecord | undefined> {
    const entry = await this.bucket.get(id);
    return entry === undefined
      ? undefined
      : (JSON.parse(dec.decode(entry.value)) as InvocationRecord);
  }

  async put(record: InvocationRecord): Promise<void> {
    record.updatedAt = new Date().toISOString();
    await this.bucket.put(record.id, enc.encode(JSON.stringify(record)), {
      ttlMs: RETENTION_MS,
    });
  }

  async delete(id: string): Promise<void> {
    await this.bucket.delete(id);
  }

  /** Apply `change` to a stored record; a record already gone (expired) is left alone. */
  async update(id: string, change: (record: InvocationRecord) => void): Promise<void> {
    const record = await this.get(id);
    if (record === undefined) return;
    change(record);
    await this.put(record);
  }
}

/** A function's response as a record keeps it: headers flattened, the body capped. */
export async function resultOf(response: InvocationResponse): Promise<InvocationRecord["result"]> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < response.headers.length; i += 2) {
    const name = (response.headers[i] ?? "").toLowerCase();
    headers[name] =
      name in headers
        ? `${headers[name]}, ${response.headers[i + 1] ?? ""}`
        : (response.headers[i + 1] ?? "");
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const take = (chunk: string | Uint8Array) => {
    const bytes = typeof chunk === "string" ? enc.encode(chunk) : chunk;
    if (size + bytes.length > MAX_RESULT_BYTES) {
      chunks.push(bytes.subarray(0, MAX_RESULT_BYTES - size));
      size = MAX_RESULT_BYTES;
      truncated = true;
      return;
    }
    chunks.push(bytes);
    size += bytes.length;
  };
  const body = response.body;
  if (body !== null) {
    if (typeof body === "string" || body instanceof Uint8Array) take(body);
    else for await (const chunk of body) if (!truncated) take(chunk);
  }
  const bytes = Buffer.concat(chunks);
  const text = utf8OrUndefined(bytes);
  return {
    status: response.status,
    headers,
    body: text ?? bytes.toString("base64"),
    encoding: text === undefined ? "base64" : "utf8",
    truncated,
  };
}
