// Everything litefaas names on servers it may share (NATS subjects, streams and buckets,
// PostgreSQL roles and schemas), under one cluster name. Processes started with the same name
// and servers are one platform; another name on the same servers is another platform that sees
// nothing of the first. The default name keeps the names litefaas has always used.
import { createHash } from "node:crypto";

/** The cluster name when none is given. */
export const DEFAULT_CLUSTER = "litefaas";

/** Like project names: it becomes part of subjects, stream, bucket and role names. */
export const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** The platform's own buckets in the kv port. */
export type PlatformBucket = "registry" | "keys" | "invocations" | "cron" | "blobs" | "usage";

export class ClusterNames {
  /** Subjects the queue stream captures start with this: `<cluster>.events.…`. */
  readonly queuePrefix: string;
  /** The JetStream stream of events, async invocations and cron runs. */
  readonly queueStream: string;
  /** Where gateways tell each other what their rate limits admitted. */
  readonly limitsSubject: string;
  /** Function log lines, `<cluster>.logs.<project>.<function>`, for every process's store. */
  readonly logsSubject: string;
  /** The JetStream stream of invocation records, and the subjects it captures. */
  readonly recordsStream: string;
  readonly recordsPrefix: string;

  constructor(readonly cluster: string = DEFAULT_CLUSTER) {
    if (!CLUSTER_NAME.test(cluster)) {
      throw new Error(
        `invalid cluster name "${cluster}": use 1-32 of a-z, 0-9 and "-", starting and ending with a letter or digit`,
      );
    }
    this.queuePrefix = cluster;
    this.queueStream = `${cluster.toUpperCase()}_QUEUE`;
    this.limitsSubject = `${cluster}.gateway.limits`;
    this.logsSubject = `${cluster}.logs`;
    this.recordsStream = `${cluster.toUpperCase()}_RECORDS`;
    this.recordsPrefix = `${cluster}.records`;
  }

  get isDefault(): boolean {
    return this.cluster === DEFAULT_CLUSTER;
  }

  /** A platform bucket: `<cluster>_registry`, `<cluster>_keys`, `<cluster>_usage`, … */
  bucket(kind: PlatformBucket): string {
    return `${this.cluster}_${kind}`;
  }

  /**
   * Where a project's events live on the bus (documented: external publishers use it). Project
   * names are [a-z0-9-], so no project's subjects can reach another's.
   */
  projectSubject(project: string, subject: string): string {
    return `${this.cluster}.events.${project}.${subject}`;
  }

  /** The project-relative subject of a stored one (what the function sees). */
  relativeSubject(project: string, subject: string): string {
    const prefix = this.projectSubject(project, "");
    return subject.startsWith(prefix) ? subject.slice(prefix.length) : subject;
  }

  /** The subject async invocations of a function are sent with (to its consumer only). */
  invokeSubject(project: string, name: string): string {
    return `${this.cluster}.invoke.${project}.${name}`;
  }

  /** The subject cron runs of a function are sent with (to its consumer only). */
  cronSubject(project: string, name: string): string {
    return `${this.cluster}.cron.${project}.${name}`;
  }

  /**
   * A function's own kv bucket. Names are [a-z0-9-], so "_" cannot be forged by any part: the
   * default cluster's buckets have two, another cluster's three.
   */
  kvBucketOf(project: string, name: string): string {
    const own = `fn_${project}_${name}`;
    return this.isDefault ? own : `${this.cluster}_${own}`;
  }

  /** A function's SQL database owner: readable, and unique thanks to the hash suffix. */
  sqlOwnerOf(project: string, name: string): string {
    const path = this.isDefault ? `${project}/${name}` : `${this.cluster}/${project}/${name}`;
    const readable = path.replace(/[-/]/g, "_").slice(0, 50);
    const hash = createHash("sha256").update(path).digest("hex").slice(0, 12);
    return `${readable}_${hash}`;
  }
}
