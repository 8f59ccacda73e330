// Events for an unmodified Lambda handler: a message arrives as an SQS batch of one record (and a
// reported batchItemFailures entry fails it), a cron tick as an EventBridge scheduled event.
import type { FunctionMeta } from "./dispatch.js";
import { callLambda, toBase64, type LambdaHandler } from "./lambda.js";
import type { EventMeta, Message, ScheduledEvent } from "./trigger-events.js";
import { utf8 } from "./trigger-events.js";

interface Info {
  requestId: string;
  deadline: number;
  meta: FunctionMeta;
}

export async function lambdaMessage(
  handler: LambdaHandler,
  message: Message,
  meta: EventMeta,
  info: Info,
): Promise<void> {
  const raw = message.data instanceof Uint8Array ? message.data : undefined;
  const text =
    raw === undefined
      ? typeof message.data === "string"
        ? message.data
        : JSON.stringify(message.data)
      : utf8(raw);
  const attributes: Record<string, { stringValue: string; dataType: string }> = {};
  for (const [name, value] of Object.entries(message.headers))
    attributes[name] = { stringValue: value, dataType: "String" };
  const record = {
    messageId: message.id,
    receiptHandle: message.id,
    body: text ?? toBase64(raw ?? new Uint8Array(0)),
    attributes: {
      ApproximateReceiveCount: String(message.attempt),
      SentTimestamp: String(message.publishedAt),
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      ...(text === undefined ? { LitefaasBodyEncoding: "base64" } : {}),
    },
    messageAttributes: attributes,
    eventSource: "litefaas:events",
    eventSourceARN: `arn:litefaas:events:local:0:${info.meta.project}:${meta.subject ?? ""}`,
    awsRegion: "local",
  };
  const result = await callLambda(handler, { Records: [record] }, info);
  const failures = (result as { batchItemFailures?: unknown } | null | undefined)
    ?.batchItemFailures;
  if (Array.isArray(failures) && failures.length > 0)
    throw new Error(`the handler reported the message as failed (batchItemFailures)`);
}

export async function lambdaScheduled(
  handler: LambdaHandler,
  event: ScheduledEvent,
  info: Info,
): Promise<void> {
  await callLambda(
    handler,
    {
      version: "0",
      id: info.requestId,
      "detail-type": "Scheduled Event",
      source: "litefaas.scheduler",
      account: "litefaas",
      time: new Date(event.scheduledTime).toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: "local",
      resources: [`arn:litefaas:scheduler:local:0:${info.meta.project}/${info.meta.name}`],
      detail: { cron: event.cron, attempt: event.attempt },
    },
    info,
  );
}
