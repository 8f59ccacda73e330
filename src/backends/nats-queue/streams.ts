// The two streams behind the queue port, created on open, and what they accept.
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { DEDUP_WINDOW_MS } from "../../ports/queue.js";
import { maxPayload } from "../nats/connection.js";
import { deadLetterSubjects, directSubjects, eventsSubjects, type QueueNames } from "./names.js";

/** A clear error for a message NATS would refuse (headers counted only when it may be). */
export function checkSize(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  headers: Uint8Array,
): void {
  const max = maxPayload(nc);
  if (data.byteLength + 8192 < max) return;
  const size = data.byteLength + subject.length + headers.byteLength;
  if (size > max) {
    throw new Error(`message of ${size} bytes is over the NATS server's max_payload of ${max}`);
  }
}

export async function ensureStreams(
  jsm: JetStreamManager,
  names: QueueNames,
  replicas: number,
): Promise<void> {
  await upsertStream(jsm, {
    name: names.stream,
    subjects: [eventsSubjects(names), directSubjects(names)],
    retention: RetentionPolicy.Interest,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(DEDUP_WINDOW_MS),
    num_replicas: replicas,
  });
  await upsertStream(jsm, {
    name: names.dlqStream,
    subjects: [deadLetterSubjects(names)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // one subject per dead letter id: a second dead-lettering replaces the first
    max_msgs_per_subject: 1,
    allow_direct: true,
    num_replicas: replicas,
  });
}

/** Creates the stream, or checks that the existing one captures the subjects this port uses. */
async function upsertStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  const name = config.name;
  try {
    await jsm.streams.add(config);
    return;
  } catch (error) {
    const info = await jsm.streams.info(name).catch(() => undefined);
    if (info === undefined) {
      throw new Error(`cannot create the queue stream ${name}: ${String(error)}`, {
        cause: error,
      });
    }
    const missing = (config.subjects ?? []).filter((s) => !info.config.subjects?.includes(s));
    if (missing.length > 0 || info.config.retention !== config.retention) {
      throw new Error(
        `stream ${name} exists with other settings (subjects ${JSON.stringify(info.config.subjects)}, ` +
          `retention ${info.config.retention}); delete it or choose another stream name`,
        { cause: error },
      );
    }
  }
}
