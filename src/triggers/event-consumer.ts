// One function's consumer: deliveries from its queue (events on its subjects, async
// invocations, cron ticks) become invocations through the invoker, so a function scaled to zero
// starts for them as it does for HTTP. The function's delivery policy decides retries, the
// dead-letter queue and destinations. At-least-once: a delivery is acknowledged only after the
// function returned.
import type { Invoker } from "../invoke/index.js";
import type { LogSink } from "../observe/logs.js";
import type { Consumption, Delivery, QueuePort } from "../ports/queue.js";
import type { FunctionVersion, InvocationRequest, TriggerEvent } from "../runtimes/types.js";
import { asLitefaasError } from "../shared/errors.js";
import type { DeliveryPolicy } from "../shared/manifest/types.js";
import type { StoredRequest } from "./async-invocations.js";
import { retryDelay } from "./backoff.js";
import { destinationRecord, type Outcome } from "./destinations.js";
import { resultOf, type InvocationRecords } from "./invocation-records.js";
import type { ClusterNames } from "../shared/cluster-names.js";
import { consumerOf, HEADER } from "./names.js";

export interface ConsumerDeps {
  queue: QueuePort;
  invoker: Invoker;
  records: InvocationRecords;
  logs: LogSink;
  /** Publish on a subject of a project (destinations). */
  publish: PublishToProject;
  names: ClusterNames;
}

export type PublishToProject = (
  project: string,
  subject: string,
  data: Uint8Array,
  headers: Record<string, string>,
) => Promise<void>;

type Kind = "message" | "scheduled" | "http";
type Attempt =
  | { ok: true; result?: Outcome["result"] }
  | { ok: false; error: { code: string; message: string } };

/** While the function is at its concurrency limit (HTTP traffic), wait this long at most between looks. */
const THROTTLE_WAIT_MAX_MS = 500;
/** A delivery for a function being removed or not live yet comes back after this. */
const NOT_LIVE_RETRY_MS = 2000;

export class FunctionConsumer {
  private consumption: Consumption | undefined;
  private concurrency = 0;
  private readonly inflight = new Set<Promise<void>>();
  /** Deliveries being handled; one timer reports them all in progress (not a timer each). */
  private readonly held = new Set<Delivery>();
  private progress: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ConsumerDeps,
    readonly project: string,
    readonly name: string,
    /** How often a held delivery is reported in progress (well within the queue's ack wait). */
    private readonly progressEveryMs: number,
  ) {}

  /** Start consuming, or restart with a new concurrency. */
  run(policy: DeliveryPolicy): void {
    if (this.consumption !== undefined && this.concurrency === policy.concurrency) return;
    const previous = this.consumption;
    this.concurrency = policy.concurrency;
    this.consumption = this.deps.queue.consume(
      consumerOf(this.project, this.name),
      { concurrency: policy.concurrency },
      (delivery) => {
        const work = this.handle(delivery).finally(() => this.inflight.delete(work));
        this.inflight.add(work);
      },
    );
    void previous?.stop();
    // a long function, or retries in place, must not look like a dead worker to the queue
    this.progress ??= setInterval(() => {
      for (const delivery of this.held) delivery.inProgress();
    }, this.progressEveryMs).unref();
  }

  /** Take nothing new; wait for what is being handled. */
  async stop(): Promise<void> {
    await this.consumption?.stop();
    this.consumption = undefined;
    await Promise.allSettled([...this.inflight]);
    clearInterval(this.progress);
    this.progress = undefined;
  }

  private async handle(delivery: Delivery): Promise<void> {
    this.held.add(delivery);
    try {
      await this.work(delivery);
    } catch (error) {
      // the platform failed (a store), not the function: try again later, uncounted by policy
      this.log(
        undefined,
        delivery.id,
        "error",
        `could not handle ${delivery.id}: ${asLitefaasError(error).message}`,
      );
      await delivery.retry(NOT_LIVE_RETRY_MS).catch(() => undefined);
    } finally {
      this.held.delete(delivery);
    }
  }

  private async work(delivery: Delivery): Promise<void> {
    const kind = kindOf(delivery, this.project, this.name, this.deps.names);
    const { records } = this.deps;
    for (let attempt = delivery.attempt; ; attempt++) {
      const fn = this.deps.invoker.resolve(this.project, this.name);
      if (fn === undefined) {
        await delivery.retry(NOT_LIVE_RETRY_MS);
        return;
      }
      const policy = fn.config.delivery;
      const age = Date.now() - delivery.publishedAt;
      if (age > policy.maxEventAgeMs) {
        const error = {
          code: "EVENT_TOO_OLD",
          message: `accepted ${Math.round(age / 1000)}s ago, longer than maxEventAge (${Math.round(policy.maxEventAgeMs / 1000)}s)`,
        };
        await this.giveUp(fn, kind, delivery, {
          condition: "EventAgeExceeded",
          attempts: attempt - 1,
          error,
        });
        return;
      }
      if (kind === "http") {
        await records.update(delivery.id, (r) => {
          r.status = "running";
          r.attempts = attempt;
          r.version = fn.version;
          delete r.nextAttemptAt;
        });
      }
      const outcome = await this.attempt(fn, kind, delivery, attempt);
      if (outcome.ok) {
        await delivery.ack();
        await this.succeeded(fn, kind, delivery, attempt, outcome.result);
        return;
      }
      const last = attempt >= policy.attempts;
      const delay = retryDelay(policy, attempt);
      this.log(
        fn,
        delivery.id,
        last ? "error" : "warn",
        `${describe(kind, delivery, this.project, this.deps.names)} failed on attempt ${attempt} of ${policy.attempts}: ${outcome.error.code}: ${outcome.error.message}` +
          (last
            ? policy.deadLetter
              ? "; moved to the dead-letter queue"
              : "; dropped (deadLetter: false)"
            : `; next try in ${delay} ms`),
      );
      if (last) {
        await this.giveUp(fn, kind, delivery, {
          condition: "RetriesExhausted",
          attempts: attempt,
          error: outcome.error,
        });
        return;
      }
      if (kind === "http") {
        await records.update(delivery.id, (r) => {
          r.status = "retrying";
          r.error = outcome.error;
          r.nextAttemptAt = new Date(Date.now() + delay).toISOString();
        });
      }
      if (policy.concurrency > 1) {
        await delivery.retry(delay);
        return;
      }
      // concurrency 1 promises order: the next event waits until this one is done with
      await sleep(delay);
    }
  }

  private async attempt(
    fn: FunctionVersion,
    kind: Kind,
    delivery: Delivery,
    attempt: number,
  ): Promise<Attempt> {
    const request = this.requestFor(fn, kind, delivery, attempt);
    for (let wait = 10; ; wait = Math.min(wait * 2, THROTTLE_WAIT_MAX_MS)) {
      try {
        const response = await this.deps.invoker.invoke(fn, request);
        if (kind !== "http") return { ok: true };
        const result = await resultOf(response);
        if (result !== undefined && result.status >= 500) {
          return {
            ok: false,
            error: {
              code: "FUNCTION_ERROR_STATUS",
              message: `the function answered ${result.status}`,
            },
          };
        }
        return { ok: true, result };
      } catch (error) {
        const e = asLitefaasError(error);
        if (e.code === "THROTTLED") {
          await sleep(wait);
          continue;
        }
        return { ok: false, error: { code: e.code, message: e.message } };
      }
    }
  }

  private requestFor(
    fn: FunctionVersion,
    kind: Kind,
    delivery: Delivery,
    attempt: number,
  ): InvocationRequest {
    if (kind === "http") {
      const stored = JSON.parse(delivery.headers[HEADER.request] ?? "{}") as StoredRequest;
      return {
        id: delivery.id,
        method: stored.method,
        url: stored.url,
        headers: [
          ...stored.headers,
          "x-litefaas-invocation-id",
          delivery.id,
          "x-litefaas-attempt",
          String(attempt),
        ],
        body: stored.hasBody ? delivery.data : null,
        sourceIp: stored.sourceIp,
        trigger: "async",
        attempt,
      };
    }
    let event: TriggerEvent;
    if (kind === "scheduled") {
      event = {
        kind,
        cron: delivery.headers[HEADER.cron] ?? fn.config.schedule?.cron ?? "",
        scheduledTime: Number(delivery.headers[HEADER.scheduledTime] ?? delivery.publishedAt),
        attempt,
      };
    } else {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(delivery.headers))
        if (!name.startsWith("litefaas-") && !name.startsWith("nats-")) headers[name] = value;
      event = {
        kind,
        id: delivery.id,
        subject: this.deps.names.relativeSubject(fn.project, delivery.subject),
        data: delivery.data,
        headers,
        attempt,
        publishedAt: delivery.publishedAt,
      };
    }
    return { id: delivery.id, method: "", url: "", headers: [], body: null, sourceIp: "", event };
  }

  private async succeeded(
    fn: FunctionVersion,
    kind: Kind,
    delivery: Delivery,
    attempts: number,
    result: Outcome["result"],
  ) {
    if (kind === "http") {
      await this.deps.records.update(delivery.id, (r) => {
        r.status = "succeeded";
        r.attempts = attempts;
        r.finishedAt = new Date().toISOString();
        if (result !== undefined) r.result = result;
        delete r.error;
      });
    }
    const subject = fn.config.delivery.onSuccess;
    if (subject !== undefined)
      await this.destination(fn, subject, kind, delivery, {
        condition: "Success",
        attempts,
        ...(result === undefined ? {} : { result }),
      });
  }

  private async giveUp(
    fn: FunctionVersion,
    kind: Kind,
    delivery: Delivery,
    outcome: Outcome & { error: { code: string; message: string } },
  ) {
    const { error } = outcome;
    if (fn.config.delivery.deadLetter) await delivery.deadLetter(`${error.code}: ${error.message}`);
    else await delivery.ack();
    if (kind === "http") {
      await this.deps.records.update(delivery.id, (r) => {
        r.status = "failed";
        r.attempts = outcome.attempts;
        r.error = error;
        r.finishedAt = new Date().toISOString();
        delete r.nextAttemptAt;
      });
    }
    if (outcome.condition === "EventAgeExceeded")
      this.log(
        fn,
        delivery.id,
        "error",
        `${describe(kind, delivery, this.project, this.deps.names)} expired: ${error.message}`,
      );
    const subject = fn.config.delivery.onFailure;
    if (subject !== undefined) await this.destination(fn, subject, kind, delivery, outcome);
  }

  private async destination(
    fn: FunctionVersion,
    subject: string,
    kind: Kind,
    delivery: Delivery,
    outcome: Outcome,
  ) {
    const trigger = kind === "http" ? "async" : kind;
    try {
      await this.deps.publish(
        fn.project,
        subject,
        destinationRecord(fn, trigger, delivery, outcome, this.deps.names),
        {
          "content-type": "application/json",
        },
      );
    } catch (error) {
      this.log(
        fn,
        delivery.id,
        "error",
        `could not publish to destination ${subject}: ${asLitefaasError(error).message}`,
      );
    }
  }

  private log(
    fn: FunctionVersion | undefined,
    requestId: string,
    level: "warn" | "error",
    message: string,
  ) {
    this.deps.logs.append({
      ts: Date.now(),
      project: this.project,
      function: this.name,
      version: fn?.version ?? 0,
      requestId,
      level,
      message: `[litefaas] ${message}`,
    });
  }
}

/** Async invocations and cron runs come on their own subjects (sent by the platform); an event
 * claiming to be one on an event subject is just an event. */
function kindOf(delivery: Delivery, project: string, name: string, names: ClusterNames): Kind {
  const kind = delivery.headers[HEADER.kind];
  if (kind === "http" && delivery.subject === names.invokeSubject(project, name)) return kind;
  if (kind === "scheduled" && delivery.subject === names.cronSubject(project, name)) return kind;
  return "message";
}

function describe(kind: Kind, delivery: Delivery, project: string, names: ClusterNames): string {
  if (kind === "http") return `async invocation ${delivery.id}`;
  if (kind === "scheduled")
    return `cron run for ${new Date(Number(delivery.headers[HEADER.scheduledTime])).toISOString()}`;
  return `message ${delivery.id} on ${names.relativeSubject(project, delivery.subject)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
