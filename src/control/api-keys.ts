// API keys of projects: created and revoked through the admin API, stored hashed in a kv bucket
// of the platform, mirrored in memory (and kept current by a watch, so a key created or revoked
// in one process holds in every other) for the gateway to check without touching storage.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { KvBucket, KvPort } from "../ports/kv.js";
import { LitefaasError } from "../shared/errors.js";

/** What is kept of a key: never the key itself. */
export interface ApiKeyRecord {
  id: string;
  project: string;
  name: string;
  /** SHA-256 of the secret part, hex. */
  hash: string;
  /** Route paths (as the manifest writes them) the key may call; undefined: all of the project's. */
  routes: string[] | undefined;
  /** Scopes the key carries, checked against a route's `scopes`. */
  scopes: string[];
  createdAt: string;
  expiresAt: string | undefined;
}

export type KeyCheck =
  { ok: true; key: ApiKeyRecord } | { ok: false; reason: "malformed" | "unknown" | "expired" };

export interface NewKey {
  name: string;
  routes?: string[];
  scopes?: string[];
  /** Epoch ms; undefined: never expires. */
  expiresAt?: number;
}

const PREFIX = "lfk_";
const KEY = /^lfk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const enc = new TextEncoder();
const dec = new TextDecoder();

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

export class ApiKeys {
  private readonly byId = new Map<string, ApiKeyRecord>();
  private stopWatching: (() => void) | undefined;

  private constructor(private readonly bucket: KvBucket) {}

  /** Keys live in `bucket` of `kv`: processes sharing it share the keys. */
  static async open(kv: KvPort, bucket = "litefaas_keys"): Promise<ApiKeys> {
    const keys = new ApiKeys(await kv.bucket(bucket));
    keys.stopWatching = keys.bucket.watch({ prefix: "key/" }, (change) => {
      if (change.op === "delete") keys.byId.delete(change.key.slice("key/".length));
      else {
        const record = JSON.parse(dec.decode(change.entry.value)) as ApiKeyRecord;
        keys.byId.set(record.id, record);
      }
    });
    await keys.loadAll();
    return keys;
  }

  /** A new key; the returned `key` is the only time the secret exists outside the caller. */
  async create(project: string, spec: NewKey): Promise<{ key: string; record: ApiKeyRecord }> {
    const id = randomBytes(8).readBigUInt64BE().toString(36).padStart(13, "0").slice(-12);
    const secret = randomBytes(32).toString("base64url");
    const record: ApiKeyRecord = {
      id,
      project,
      name: spec.name,
      hash: sha256(secret),
      routes: spec.routes === undefined || spec.routes.length === 0 ? undefined : spec.routes,
      scopes: spec.scopes ?? [],
      createdAt: new Date().toISOString(),
      expiresAt: spec.expiresAt === undefined ? undefined : new Date(spec.expiresAt).toISOString(),
    };
    await this.bucket.put(`key/${id}`, enc.encode(JSON.stringify(record)), { ifRevision: 0 });
    this.byId.set(id, record);
    return { key: `${PREFIX}${id}_${secret}`, record };
  }

  list(project: string): ApiKeyRecord[] {
    return [...this.byId.values()]
      .filter((k) => k.project === project)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async revoke(project: string, id: string): Promise<ApiKeyRecord> {
    const record = this.byId.get(id);
    if (record === undefined || record.project !== project) {
      throw new LitefaasError("NOT_FOUND", `project ${project} has no API key ${id}`, {
        fix: `list its keys with \`litefaas keys ls ${project}\``,
      });
    }
    await this.bucket.delete(`key/${id}`);
    this.byId.delete(id);
    return record;
  }

  /** Which key a presented string is, if it is one that holds now. Constant time on the secret. */
  check(presented: string, now = Date.now()): KeyCheck {
    const match = KEY.exec(presented);
    if (match === null) return { ok: false, reason: "malformed" };
    const record = this.byId.get(match[1] ?? "");
    if (record === undefined) return { ok: false, reason: "unknown" };
    const expected = Buffer.from(record.hash, "hex");
    const actual = Buffer.from(sha256(match[2] ?? ""), "hex");
    if (!timingSafeEqual(expected, actual)) return { ok: false, reason: "unknown" };
    if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now)
      return { ok: false, reason: "expired" };
    return { ok: true, key: record };
  }

  close(): void {
    this.stopWatching?.();
  }

  private async loadAll(): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({
        prefix: "key/",
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const { key } of page.keys) {
        const entry = await this.bucket.get(key);
        if (entry === undefined) continue;
        const record = JSON.parse(dec.decode(entry.value)) as ApiKeyRecord;
        this.byId.set(record.id, record);
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
}
