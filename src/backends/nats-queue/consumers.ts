// A queue consumer is several JetStream durable pull consumers on the queue stream: one per
// filter subject of its spec (servers before 2.10 take one filter per consumer) and one for its
// direct subject. The direct one also holds the registry, in its description: every filter the
// queue consumer has a JetStream consumer for. Written before those consumers are made, so no
// JetStream consumer exists that the registry does not name.
//
// A subject removed from the spec keeps its JetStream consumer, "retired", until the messages it
// owned (up to the stream's last sequence at removal) are answered: pending messages stay, and
// consume() acks (drops) the newer ones it still matches. The next ensureConsumer deletes it.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { ConsumerSpec } from "../../ports/queue.js";
import { isStreamNotFound } from "../nats/errors.js";
import type { QueueContext } from "./context.js";
import { notifyChanged } from "./context.js";
import {
  checkConsumerName,
  checkConsumerSubjects,
  deadLetterFilter,
  directSubject,
  jetStreamConsumerName,
} from "./names.js";

/**
 * Unanswered messages JetStream hands one JetStream consumer before waiting. Not the consume
 * concurrency (the client's semaphore bounds that, and the pull batch bounds what it buffers):
 * a delayed retry stays unanswered until it is due, so a small bound would let a few retries
 * stall everything behind them.
 */
export const MAX_ACK_PENDING = 10_000;

export interface Registry {
  /** Filter subject → its state; retiredAfter = the last stream sequence a retired one owns. */
  filters: Record<string, { retiredAfter?: number }>;
}

/** One JetStream consumer of a queue consumer, as consume() runs it. */
export interface Part {
  name: string;
  /** Messages after this stream sequence are not the queue consumer's any more (retired). */
  retiredAfter?: number;
}

export function isConsumerNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;
}

async function consumerInfo(ctx: QueueContext, name: string): Promise<ConsumerInfo | undefined> {
  try {
    return await ctx.jsm.consumers.info(ctx.names.stream, name);
  } catch (error) {
    if (isConsumerNotFound(error)) return undefined;
    throw error;
  }
}

function parseRegistry(description: string | undefined): Registry {
  try {
    const parsed = JSON.parse(description ?? "") as Partial<Registry>;
    if (typeof parsed.filters === "object" && parsed.filters !== null) {
      return { filters: parsed.filters };
    }
  } catch {
    // not ours, or from an older format: start afresh
  }
  return { filters: {} };
}

/** The registry, or undefined when the queue consumer does not exist. */
export async function readRegistry(
  ctx: QueueContext,
  consumer: string,
): Promise<Registry | undefined> {
  const name = jetStreamConsumerName(consumer, directSubject(ctx.names, consumer));
  const info = await consumerInfo(ctx, name);
  return info === undefined ? undefined : parseRegistry(info.config.description);
}

/** The JetStream consumers to pull from, the direct one first. */
export function partsOf(ctx: QueueContext, consumer: string, registry: Registry): Part[] {
  const direct = directSubject(ctx.names, consumer);
  return [
    { name: jetStreamConsumerName(consumer, direct) },
    ...Object.entries(registry.filters).map(([filter, state]) => ({
      name: jetStreamConsumerName(consumer, filter),
      ...(state.retiredAfter === undefined ? {} : { retiredAfter: state.retiredAfter }),
    })),
  ];
}

/** Creates it, or brings its changeable settings to `config`. */
async function upsert(ctx: QueueContext, config: Partial<ConsumerConfig>): Promise<void> {
  const name = config.durable_name ?? "";
  const changeable = {
    ack_wait: config.ack_wait,
    max_ack_pending: config.max_ack_pending,
    ...(config.description === undefined ? {} : { description: config.description }),
  };
  const update = async (info: ConsumerInfo): Promise<void> => {
    const same =
      info.config.ack_wait === changeable.ack_wait &&
      info.config.max_ack_pending === changeable.max_ack_pending &&
      (changeable.description ?? "") === (info.config.description ?? "");
    if (!same) await ctx.jsm.consumers.update(ctx.names.stream, name, changeable);
  };
  const existing = await consumerInfo(ctx, name);
  if (existing !== undefined) return update(existing);
  try {
    await ctx.jsm.consumers.add(ctx.names.stream, config);
  } catch (error) {
    // made meanwhile by another process, with other settings
    const raced = await consumerInfo(ctx, name);
    if (raced === undefined) throw error;
    await update(raced);
  }
}

function consumerConfig(
  name: string,
  filter: string,
  ackWaitMs: number,
  description?: string,
): Partial<ConsumerConfig> {
  return {
    durable_name: name,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    // a new queue consumer gets messages from now on, not the stream's backlog
    deliver_policy: DeliverPolicy.New,
    ack_wait: nanos(ackWaitMs),
    // retries are the platform's decision
    max_deliver: -1,
    max_ack_pending: MAX_ACK_PENDING,
    ...(description === undefined ? {} : { description }),
  };
}

/** A retired consumer is done once everything it owned is delivered and answered. */
function drained(info: ConsumerInfo, retiredAfter: number): boolean {
  return (
    info.num_ack_pending === 0 &&
    (info.num_pending === 0 || info.delivered.stream_seq >= retiredAfter)
  );
}

export async function ensureConsumer(
  ctx: QueueContext,
  consumer: string,
  spec: ConsumerSpec,
): Promise<void> {
  checkConsumerName(consumer);
  checkConsumerSubjects(ctx.names, spec.subjects);
  if (!Number.isFinite(spec.ackWaitMs) || spec.ackWaitMs < 1) {
    throw new Error(`invalid ackWaitMs ${spec.ackWaitMs}: a positive number of milliseconds`);
  }
  const ackWaitMs = Math.ceil(spec.ackWaitMs);
  const old = (await readRegistry(ctx, consumer)) ?? { filters: {} };
  const next: Registry = { filters: {} };
  for (const subject of spec.subjects) next.filters[subject] = {};

  let lastSeq: number | undefined;
  const retiring: string[] = [];
  for (const [filter, state] of Object.entries(old.filters)) {
    if (next.filters[filter] !== undefined) continue;
    const name = jetStreamConsumerName(consumer, filter);
    if (state.retiredAfter === undefined) {
      lastSeq ??= (await ctx.jsm.streams.info(ctx.names.stream)).state.last_seq;
      next.filters[filter] = { retiredAfter: lastSeq };
      retiring.push(filter);
      continue;
    }
    const info = await consumerInfo(ctx, name);
    if (info === undefined) continue;
    if (drained(info, state.retiredAfter)) {
      await deleteJetStreamConsumer(ctx, name);
      continue;
    }
    next.filters[filter] = state;
    retiring.push(filter);
  }

  const direct = directSubject(ctx.names, consumer);
  await upsert(
    ctx,
    consumerConfig(
      jetStreamConsumerName(consumer, direct),
      direct,
      ackWaitMs,
      JSON.stringify(next),
    ),
  );
  for (const filter of [...spec.subjects, ...retiring]) {
    await upsert(ctx, consumerConfig(jetStreamConsumerName(consumer, filter), filter, ackWaitMs));
  }
  notifyChanged(ctx, consumer);
}

async function deleteJetStreamConsumer(ctx: QueueContext, name: string): Promise<void> {
  try {
    await ctx.jsm.consumers.delete(ctx.names.stream, name);
  } catch (error) {
    if (!isConsumerNotFound(error)) throw error;
  }
}

export async function deleteConsumer(ctx: QueueContext, consumer: string): Promise<void> {
  checkConsumerName(consumer);
  const registry = await readRegistry(ctx, consumer);
  if (registry !== undefined) {
    // the direct one (the registry) last: a crash half-way leaves it naming what is left
    const [direct, ...filters] = partsOf(ctx, consumer, registry);
    for (const part of filters) await deleteJetStreamConsumer(ctx, part.name);
    if (direct !== undefined) await deleteJetStreamConsumer(ctx, direct.name);
  }
  try {
    await ctx.jsm.streams.purge(ctx.names.dlqStream, {
      filter: deadLetterFilter(ctx.names, consumer),
    });
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
  }
  notifyChanged(ctx, consumer);
}

/** Messages not yet delivered plus those delivered and not answered (retries waiting included). */
export async function pendingCount(ctx: QueueContext, consumer: string): Promise<number> {
  checkConsumerName(consumer);
  const registry = await readRegistry(ctx, consumer);
  if (registry === undefined) return 0;
  const counts = await Promise.all(
    partsOf(ctx, consumer, registry).map(async (part) => {
      const info = await consumerInfo(ctx, part.name);
      if (info === undefined) return 0;
      if (part.retiredAfter === undefined) return info.num_pending + info.num_ack_pending;
      // a retired consumer still matches new messages, which are not pending for the queue
      // consumer; count at most those up to its last sequence (an upper bound)
      const owned = Math.max(0, part.retiredAfter - info.delivered.stream_seq);
      return info.num_ack_pending + Math.min(info.num_pending, owned);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
