// queue port on NATS JetStream. One stream (interest retention: a message goes once every
// consumer it matched has answered it) captures <prefix>.events.> (publish) and
// <prefix>.direct.> (send); a queue consumer is a set of durable pull consumers on it
// (consumers.ts, consume.ts); dead letters go to a second stream (dead-letters.ts).
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  PUBLISH_SUBJECT,
  type OutgoingMessage,
  type QueueMessage,
  type QueuePort,
} from "../../ports/queue.js";
import { startConsumption } from "./consume.js";
import { deleteConsumer, ensureConsumer, pendingCount, readRegistry } from "./consumers.js";
import type { QueueContext } from "./context.js";
import { deadLetterQueue } from "./dead-letters.js";
import { checkId, encodedHeaders, H, normalizeHeaders, ourHeader } from "./headers.js";
import { checkConsumerName, checkPublishSubject, directSubject, queueNames } from "./names.js";
import { JetStreamPublisher } from "./publisher.js";
import { checkSize, ensureStreams } from "./streams.js";
import { coalesceWrites } from "../nats/turn-writes.js";

/** How long a consumer seen to exist is taken to exist by send(). */
const KNOWN_CONSUMER_MS = 5_000;

export interface NatsQueueOptions {
  /** Subjects are <prefix>.events.>, <prefix>.direct.> and <prefix>.dlq.> (default "litefaas"). */
  prefix?: string;
  /** The queue stream; dead letters go to <stream>_DLQ (default "LITEFAAS_QUEUE"). */
  stream?: string;
  /** Replicas of the streams when they are created (1 on a single server, 3 in a cluster). */
  replicas?: number;
  /** Failures in the background (consume loops, handlers); the default writes them to stderr. */
  onError?: (error: unknown, context: string) => void;
}

/** The queue port on a NATS connection the caller owns (and closes, after this port's close). */
export async function openNatsQueue(
  nc: NatsConnection,
  options: NatsQueueOptions = {},
): Promise<QueuePort> {
  const names = queueNames(options.prefix ?? "litefaas", options.stream ?? "LITEFAAS_QUEUE");
  // acks, naks and publishes of one turn leave together (the deliveries of a pull batch are
  // answered from separate promise chains): about twice the answers per second a process gives
  coalesceWrites(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, names, options.replicas ?? 1);
  const ctx: QueueContext = {
    nc,
    js: jetstream(nc),
    jsm,
    names,
    changed: new Map(),
    report:
      options.onError ??
      ((error: unknown, context: string) => {
        console.error(`litefaas nats-queue: ${context}: ${String(error)}`);
      }),
  };
  const publisher = new JetStreamPublisher(nc);
  const consumptions = new Set<{ stop(): Promise<void> }>();
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error("the nats queue port is closed");
  };

  /**
   * Stores one message and says what was accepted. `dedupId` is the Nats-Msg-Id (none: never
   * deduplicated); `ours` the headers of ours it carries.
   */
  const store = async (
    subject: string,
    message: OutgoingMessage,
    ours: Parameters<typeof encodedHeaders>[1],
    dedupId: string | undefined,
  ): Promise<QueueMessage> => {
    if (!(message.data instanceof Uint8Array)) throw new Error("data must be a Uint8Array");
    const headers = normalizeHeaders(message.headers);
    checkId(message.id);
    let publishedAt = Number(ours.publishedAt ?? Date.now());
    const natsHeaders = encodedHeaders(headers, {
      ...ours,
      publishedAt: String(publishedAt),
      ...(dedupId === undefined ? {} : { msgId: dedupId }),
    });
    checkSize(ctx.nc, subject, message.data, natsHeaders);
    const data = message.data.slice(); // accepted means copied
    const ack = await publisher.publish(subject, data, natsHeaders);
    if (ack.stream !== names.stream) {
      throw new Error(`"${subject}" is stored by stream ${ack.stream}, not ${names.stream}`);
    }
    if (ack.duplicate) {
      // the first acceptance's time, while it is still stored
      const first = await ctx.jsm.streams
        .getMessage(names.stream, { seq: ack.seq })
        .catch(() => null);
      publishedAt = Number(ourHeader(first?.header, H.publishedAt) ?? publishedAt) || publishedAt;
    }
    return {
      id: ours.id ?? message.id ?? `${names.stream}:${ack.seq}`,
      subject: message.subject,
      data,
      headers,
      publishedAt,
    };
  };

  /**
   * Consumers seen to exist, until when (epoch ms). A send to a missing consumer fails, as on
   * SQLite, instead of vanishing (interest retention keeps nothing no consumer wants); one
   * deleted by another process may take sends for up to KNOWN_CONSUMER_MS more.
   */
  const known = new Map<string, number>();
  const checkExists = async (consumer: string): Promise<void> => {
    if ((known.get(consumer) ?? 0) > Date.now()) return;
    if ((await readRegistry(ctx, consumer)) === undefined) {
      throw new Error(`no queue consumer "${consumer}"`);
    }
    known.set(consumer, Date.now() + KNOWN_CONSUMER_MS);
  };

  /** A message for one consumer; id and publishedAt may be kept from an earlier life (redrive). */
  const sendTo = async (
    consumer: string,
    message: OutgoingMessage,
    keep?: { id: string; publishedAt: number },
  ): Promise<QueueMessage> => {
    open();
    checkConsumerName(consumer);
    if (!PUBLISH_SUBJECT.test(message.subject)) {
      throw new Error(
        `invalid subject "${message.subject}": tokens of A-Z a-z 0-9 _ - joined by .`,
      );
    }
    await checkExists(consumer);
    const id = keep?.id ?? message.id;
    return store(
      directSubject(names, consumer),
      message,
      {
        subject: message.subject,
        id,
        ...(keep === undefined ? {} : { publishedAt: String(keep.publishedAt) }),
      },
      // a redrive must not be taken for a duplicate of the original; sends deduplicate per consumer
      keep === undefined && id !== undefined ? `${consumer}:${id}` : undefined,
    );
  };

  return {
    async publish(message) {
      open();
      checkPublishSubject(names, message.subject);
      return store(message.subject, message, {}, message.id);
    },
    send: (consumer, message) => sendTo(consumer, message),
    async ensureConsumer(name, spec) {
      open();
      await ensureConsumer(ctx, name, spec);
      known.set(name, Date.now() + KNOWN_CONSUMER_MS);
    },
    async deleteConsumer(name) {
      open();
      known.delete(name);
      await deleteConsumer(ctx, name);
    },
    async pending(consumer) {
      open();
      return pendingCount(ctx, consumer);
    },
    consume(consumer, options, handler) {
      open();
      const consumption = startConsumption(ctx, consumer, options, handler);
      const tracked = {
        async stop() {
          consumptions.delete(tracked);
          await consumption.stop();
        },
      };
      consumptions.add(tracked);
      return tracked;
    },
    deadLetters: deadLetterQueue(ctx, (consumer, letter) =>
      sendTo(
        consumer,
        { subject: letter.subject, data: letter.data, headers: letter.headers },
        { id: letter.id, publishedAt: letter.publishedAt },
      ),
    ),
    async close() {
      closed = true;
      await Promise.all([...consumptions].map((c) => c.stop()));
      publisher.close();
    },
  };
}
