// Where everything lives in JetStream: the subjects the queue stream captures, the names of the
// JetStream consumers behind a queue consumer, and the dead-letter subjects. Pure functions.
import { createHash } from "node:crypto";
import { CONSUMER_NAME, PUBLISH_SUBJECT, subjectsOverlap } from "../../ports/queue.js";

/** Stream names become directory names on the server: keep them to one safe token. */
const STREAM_NAME = /^[A-Za-z0-9_-]{1,200}$/;

/** Wildcards allowed: tokens of [A-Za-z0-9_-], "*", or a last ">". */
const PATTERN = /^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$|^>$/;

export interface QueueNames {
  readonly prefix: string;
  readonly stream: string;
  readonly dlqStream: string;
}

export function queueNames(prefix: string, stream: string): QueueNames {
  if (!PUBLISH_SUBJECT.test(prefix)) {
    throw new Error(`invalid queue prefix "${prefix}": use tokens of A-Z a-z 0-9 _ - joined by .`);
  }
  if (!STREAM_NAME.test(stream)) {
    throw new Error(`invalid queue stream name "${stream}": use 1-200 of A-Z a-z 0-9 _ -`);
  }
  return { prefix, stream, dlqStream: `${stream}_DLQ` };
}

/** Subjects the platform (and external clients) publish on: <prefix>.events.> */
export const eventsSubjects = (n: QueueNames): string => `${n.prefix}.events.>`;
export const directSubjects = (n: QueueNames): string => `${n.prefix}.direct.>`;
export const deadLetterSubjects = (n: QueueNames): string => `${n.prefix}.dlq.>`;

/** Where send() puts a message for one consumer. */
export const directSubject = (n: QueueNames, consumer: string): string =>
  `${n.prefix}.direct.${consumer}`;

/** Every dead letter of a consumer is under this subject (one subject per message id). */
export const deadLetterFilter = (n: QueueNames, consumer: string): string =>
  `${n.prefix}.dlq.${consumer}.*`;

/**
 * One subject per dead letter id, so get(id) is a last-by-subject read and a message
 * dead-lettered twice (a crash between the DLQ publish and the term) is kept once.
 */
export const deadLetterSubject = (n: QueueNames, consumer: string, id: string): string =>
  `${n.prefix}.dlq.${consumer}.${hash(id, 32)}`;

/**
 * The JetStream consumer of a queue consumer for one filter subject. The hash has a fixed length,
 * so consumer "a" never claims "a_b"'s JetStream consumers.
 */
export const jetStreamConsumerName = (consumer: string, filter: string): string =>
  `${consumer}_${hash(filter, 12)}`;

function hash(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

export function checkConsumerName(name: string): void {
  if (!CONSUMER_NAME.test(name)) {
    throw new Error(`invalid queue consumer name "${name}": use 1-200 of A-Z a-z 0-9 _ -`);
  }
}

/** publish() takes concrete subjects under <prefix>.events. only (the stream captures no other). */
export function checkPublishSubject(n: QueueNames, subject: string): void {
  if (!PUBLISH_SUBJECT.test(subject)) {
    throw new Error(
      `invalid subject "${subject}": use tokens of A-Z a-z 0-9 _ - joined by ., no wildcards`,
    );
  }
  if (!subject.startsWith(`${n.prefix}.events.`)) {
    throw new Error(
      `cannot publish on "${subject}": the queue only carries subjects under "${n.prefix}.events."`,
    );
  }
}

/** A consumer's subjects: patterns under <prefix>.events., none overlapping another. */
export function checkConsumerSubjects(n: QueueNames, subjects: readonly string[]): void {
  const events = `${n.prefix}.events.`;
  for (const subject of subjects) {
    if (!PATTERN.test(subject)) {
      throw new Error(`invalid subject pattern "${subject}"`);
    }
    // the part under events must be non-empty and the part before it literal
    if (!subject.startsWith(events) || subject.length === events.length) {
      throw new Error(
        `cannot subscribe to "${subject}": the queue only carries subjects under "${events}"`,
      );
    }
  }
  for (let i = 0; i < subjects.length; i++) {
    for (let j = i + 1; j < subjects.length; j++) {
      const a = subjects[i] ?? "";
      const b = subjects[j] ?? "";
      if (subjectsOverlap(a, b)) {
        throw new Error(`consumer subjects "${a}" and "${b}" overlap: a message would match both`);
      }
    }
  }
}
