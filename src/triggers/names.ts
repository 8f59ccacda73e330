// Where triggers live on the queue. Project and function names are [a-z0-9-], so "_" and "."
// separators cannot be forged by either part. Subjects and buckets carry the cluster name
// (shared/cluster-names.ts).

/** The queue consumer of a function: every event, async invocation and cron tick it gets. */
export function consumerOf(project: string, name: string): string {
  return `${project}_${name}`;
}

/** Headers the platform puts on queued work; never shown to functions. */
export const HEADER = {
  kind: "litefaas-kind",
  request: "litefaas-request",
  cron: "litefaas-cron",
  scheduledTime: "litefaas-scheduled-time",
} as const;
