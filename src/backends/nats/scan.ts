// Reads a snapshot of a stream's messages under a subject filter with a short-lived ordered
// consumer: KV listings and sweeps (last message per subject, headers only) and object chunks.
import {
  DeliverPolicy,
  type Consumer,
  type JetStreamClient,
  type JsMsg,
  type OrderedConsumerOptions,
} from "@nats-io/jetstream";

export interface ScanOptions {
  /** One subject filter (servers before 2.10 take only one per consumer). */
  filter: string;
  /** "last" = the last message of every subject (a KV listing); "all" = every message. */
  deliver: "last" | "all";
  headersOnly: boolean;
  /** Messages asked for per pull: small for big messages, large for header-only listings. */
  batch?: number;
}

/** Idle heartbeats of a pull arrive after half of this; one makes the scan re-check what is left. */
const PULL_EXPIRES_MS = 2_000;

/**
 * Every message under the filter at the time of the call (and any that arrive while it runs),
 * in stream order. Ends when the server reports nothing pending, which it does on the last
 * message; a message removed after the consumer was made (a purge) can take that last report
 * away, so an idle heartbeat makes the scan ask the server whether anything is still pending.
 */
export async function scanStream(
  js: JetStreamClient,
  stream: string,
  options: ScanOptions,
): Promise<JsMsg[]> {
  const config: Partial<OrderedConsumerOptions> = {
    filter_subjects: options.filter,
    deliver_policy: options.deliver === "last" ? DeliverPolicy.LastPerSubject : DeliverPolicy.All,
    headers_only: options.headersOnly,
  };
  const consumer = await js.consumers.get(stream, config);
  try {
    const info = await consumer.info(true);
    if (info.num_pending === 0) return [];
    return await drain(consumer, options.batch ?? 256);
  } finally {
    // ordered consumers otherwise linger on the server until their inactivity threshold (5 min)
    consumer.delete().catch(() => undefined);
  }
}

async function drain(consumer: Consumer, batch: number): Promise<JsMsg[]> {
  const out: JsMsg[] = [];
  const messages = await consumer.consume({ max_messages: batch, expires: PULL_EXPIRES_MS });
  const watchIdle = (async () => {
    for await (const status of messages.status()) {
      if (status.type !== "heartbeat") continue;
      const left = await consumer.info().catch(() => undefined);
      if (left?.num_pending === 0) messages.stop();
    }
  })();
  try {
    for await (const m of messages) {
      out.push(m);
      if (m.info.pending === 0) break;
    }
  } finally {
    messages.stop();
    await watchIdle.catch(() => undefined);
  }
  return out;
}
