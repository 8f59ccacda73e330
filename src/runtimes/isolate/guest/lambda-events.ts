// Events for an unmodified Lambda handler in an isolate: a message arrives as an SQS batch of
// one record (and a reported batchItemFailures entry fails it), a cron tick as an EventBridge
// scheduled event.
import { reportsBatchFailure, scheduledEvent, sqsEvent } from "../../../shared/lambda-events.js";
import type { FunctionMeta } from "./dispatch.js";
import { callLambda, type LambdaHandler } from "./lambda.js";
import type { EventMeta, ScheduledEvent } from "./trigger-events.js";

interface Info {
  requestId: string;
  deadline: number;
  meta: FunctionMeta;
}

export async function lambdaMessage(
  handler: LambdaHandler,
  meta: EventMeta,
  headers: Record<string, string>,
  data: Uint8Array,
  info: Info,
): Promise<void> {
  const event = sqsEvent({
    id: meta.id ?? "",
    subject: meta.subject ?? "",
    data,
    headers,
    attempt: meta.attempt ?? 1,
    publishedAt: meta.publishedAt ?? 0,
    project: info.meta.project,
  });
  if (reportsBatchFailure(await callLambda(handler, event, info)))
    throw new Error(`the handler reported the message as failed (batchItemFailures)`);
}

export async function lambdaScheduled(
  handler: LambdaHandler,
  event: ScheduledEvent,
  info: Info,
): Promise<void> {
  await callLambda(
    handler,
    scheduledEvent({
      id: info.requestId,
      cron: event.cron,
      scheduledTime: event.scheduledTime,
      attempt: event.attempt,
      project: info.meta.project,
      name: info.meta.name,
    }),
    info,
  );
}
