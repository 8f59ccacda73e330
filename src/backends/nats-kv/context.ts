// What every operation on one open bucket needs: the stream behind it and the server's features.
import type { JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

export interface BucketContext {
  /** The port's bucket name; the JetStream KV bucket has the same name. */
  readonly name: string;
  /** KV_<name> */
  readonly stream: string;
  /** "$KV.<name>." — prepended to an encoded key it gives the key's subject. */
  readonly prefix: string;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Reads go to any replica (direct get) when the stream allows it. */
  readonly direct: boolean;
  /** The stream takes a per-message TTL (NATS 2.11+), so the server removes expired keys too. */
  readonly messageTtl: boolean;
  /** Consumers may have several filter subjects (NATS 2.10+). */
  readonly multiFilter: boolean;
  /** Chunks older than this and referenced by no key are garbage; see sweep.ts. */
  readonly chunkGraceMs: number;
  /** Watches being set up: a write waits for them, so a watch sees every write made after it. */
  readonly watchStarts: Set<Promise<void>>;
  /** Stops every watch of this bucket (on deleteBucket and close). */
  readonly watchStops: Set<() => void>;
  /** Recent listings by prefix, valid while the stream is unchanged (see list.ts). */
  readonly listings: Map<string, Listing>;
  /** Background failures (sweeps, watches) that have no caller to reject. */
  readonly report: (error: unknown, context: string) => void;
}

export interface ListedKey {
  key: string;
  /** UTF-8 of the key: the sort order, and what a cursor is compared with. */
  bytes: Buffer;
  revision: number;
  expiresAt?: number;
}

export interface Listing {
  /** The stream's creation time, last sequence and message count when the listing was read. */
  version: string;
  /** Keys not deleted when read, sorted; expiry is applied per page. */
  keys: ListedKey[];
}

/** The last message on a subject, or null when the subject has none. */
export function lastMessage(ctx: BucketContext, subject: string): Promise<StoredMsg | null> {
  return ctx.direct
    ? ctx.jsm.direct.getMessage(ctx.stream, { last_by_subj: subject })
    : ctx.jsm.streams.getMessage(ctx.stream, { last_by_subj: subject });
}

/** Lets pending watch set-ups finish first (see BucketContext.watchStarts). */
export async function afterWatchStarts(ctx: BucketContext): Promise<void> {
  if (ctx.watchStarts.size > 0) await Promise.allSettled([...ctx.watchStarts]);
}
