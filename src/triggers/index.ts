// Triggers other than HTTP: pub/sub subjects, async invocations and cron, all delivered through
// one durable queue consumer per function (ports/queue). The composition root tells this part
// when a version is about to serve (prepare), serves (activate) and is removed (remove).
import type { AsyncInvoker, Invoker } from "../invoke/index.js";
import type { LogSink } from "../observe/logs.js";
import type { KvPort } from "../ports/kv.js";
import type { DeadLetter, DeadLetterPage, QueuePort } from "../ports/queue.js";
import type { FunctionVersion } from "../runtimes/types.js";
import { createAsyncInvoker } from "./async-invocations.js";
import { CronScheduler } from "./cron.js";
import { FunctionConsumer, type PublishToProject } from "./event-consumer.js";
import { InvocationRecords } from "./invocation-records.js";
import type { ClusterNames } from "../shared/cluster-names.js";
import { consumerOf } from "./names.js";

export { consumerOf } from "./names.js";

export interface TriggersDeps {
  queue: QueuePort;
  /** Where the triggers keep their own state (invocation records, idempotency keys, cron ticks). */
  kv: KvPort;
  invoker: Invoker;
  logs: LogSink;
  /** Publish on a subject of a project. */
  publish: PublishToProject;
  /** The cluster's subjects and buckets. */
  names: ClusterNames;
}

/**
 * A delivery whose holder stops reporting progress for this long goes to someone else: how soon
 * the work of a worker that died comes back. Holders report every third of it (event-consumer).
 */
const ACK_WAIT_MS = 15_000;

export interface Triggers {
  readonly async: AsyncInvoker;
  prepare(fn: FunctionVersion): Promise<void>;
  activate(fn: FunctionVersion): Promise<void>;
  remove(project: string, name: string): Promise<void>;
  deadLetters: {
    list(
      project: string,
      name: string,
      options: { limit?: number; after?: string },
    ): Promise<DeadLetterPage>;
    get(project: string, name: string, id: string): Promise<DeadLetter | undefined>;
    count(project: string, name: string): Promise<number>;
    redrive(project: string, name: string, ids?: string[]): Promise<number>;
    purge(project: string, name: string, ids?: string[]): Promise<number>;
  };
  /** Messages waiting for a function (not yet handled). */
  pending(project: string, name: string): Promise<number>;
  /** Stop taking work and wait for what is being handled. */
  close(): Promise<void>;
}

export async function openTriggers(deps: TriggersDeps): Promise<Triggers> {
  const { queue } = deps;
  const invocations = await deps.kv.bucket(deps.names.bucket("invocations"));
  const records = new InvocationRecords(invocations);
  const { names } = deps;
  const cron = new CronScheduler(
    await deps.kv.bucket(names.bucket("cron")),
    queue,
    names,
    (project, name, level, message) =>
      deps.logs.append({
        ts: Date.now(),
        project,
        function: name,
        version: 0,
        requestId: "",
        level,
        message: `[litefaas] ${message}`,
      }),
  );
  const consumers = new Map<string, FunctionConsumer>();
  const consumerDeps = {
    queue,
    invoker: deps.invoker,
    records,
    logs: deps.logs,
    publish: deps.publish,
    names,
  };

  const prepare = (fn: FunctionVersion) =>
    queue.ensureConsumer(consumerOf(fn.project, fn.name), {
      subjects: fn.config.subjects.map((s) => names.projectSubject(fn.project, s)),
      ackWaitMs: ACK_WAIT_MS,
    });

  return {
    async: createAsyncInvoker({ queue, records, keys: invocations, names }),
    prepare,
    async activate(fn) {
      await prepare(fn);
      const key = `${fn.project}/${fn.name}`;
      let consumer = consumers.get(key);
      if (consumer === undefined) {
        consumer = new FunctionConsumer(consumerDeps, fn.project, fn.name, ACK_WAIT_MS / 3);
        consumers.set(key, consumer);
      }
      consumer.run(fn.config.delivery);
      await cron.set(fn.project, fn.name, fn.config.schedule);
    },
    async remove(project, name) {
      const key = `${project}/${name}`;
      const consumer = consumers.get(key);
      consumers.delete(key);
      await cron.remove(project, name);
      await consumer?.stop();
      await queue.deleteConsumer(consumerOf(project, name));
    },
    deadLetters: {
      list: (project, name, options) => queue.deadLetters.list(consumerOf(project, name), options),
      get: (project, name, id) => queue.deadLetters.get(consumerOf(project, name), id),
      count: (project, name) => queue.deadLetters.count(consumerOf(project, name)),
      redrive: (project, name, ids) => queue.deadLetters.redrive(consumerOf(project, name), ids),
      purge: (project, name, ids) => queue.deadLetters.purge(consumerOf(project, name), ids),
    },
    pending: (project, name) => queue.pending(consumerOf(project, name)),
    async close() {
      cron.close();
      await Promise.all([...consumers.values()].map((c) => c.stop()));
      consumers.clear();
    },
  };
}
