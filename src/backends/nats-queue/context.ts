// What every part of the NATS queue backend shares: the connection's JetStream handles, the names
// of its streams and subjects, and the running consumptions to tell about consumer changes.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { QueueNames } from "./names.js";

export interface QueueContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: QueueNames;
  /**
   * Running consumptions of this port by queue consumer name: ensureConsumer and deleteConsumer
   * call them so a change made here takes effect at once (other processes poll).
   */
  readonly changed: Map<string, Set<() => void>>;
  /** Failures in the background (consume loops) that have no caller to reject. */
  readonly report: (error: unknown, context: string) => void;
}

export function notifyChanged(ctx: QueueContext, consumer: string): void {
  for (const resync of ctx.changed.get(consumer) ?? []) resync();
}
