// Destinations: a record of each event's or async invocation's outcome, published on a subject
// of the project (as Lambda's onSuccess / onFailure destinations), so other functions can react.
import type { FunctionVersion } from "../runtimes/types.js";
import type { Delivery } from "../ports/queue.js";
import type { InvocationRecord } from "../invoke/index.js";
import { payloadForRecord } from "./event-data.js";
import type { ClusterNames } from "../shared/cluster-names.js";

export type Condition = "Success" | "RetriesExhausted" | "EventAgeExceeded";

export interface Outcome {
  condition: Condition;
  attempts: number;
  result?: InvocationRecord["result"];
  error?: { code: string; message: string };
}

export function destinationRecord(
  fn: FunctionVersion,
  trigger: string,
  delivery: Delivery,
  outcome: Outcome,
  names: ClusterNames,
): Uint8Array {
  const record = {
    version: "1.0",
    timestamp: new Date().toISOString(),
    requestContext: {
      id: delivery.id,
      function: `${fn.project}/${fn.name}`,
      functionVersion: fn.version,
      trigger,
      condition: outcome.condition,
      attempts: outcome.attempts,
    },
    request: {
      subject: names.relativeSubject(fn.project, delivery.subject),
      publishedAt: new Date(delivery.publishedAt).toISOString(),
      data: payloadForRecord(delivery.data, delivery.headers["content-type"]),
    },
    ...(outcome.result === undefined ? {} : { response: outcome.result }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
  };
  return new TextEncoder().encode(JSON.stringify(record));
}
