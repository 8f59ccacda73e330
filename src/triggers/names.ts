// Where triggers live on the queue. Project and function names are [a-z0-9-], so "_" and "."
// separators cannot be forged by either part.
import { projectSubject } from "../bindings/events/host.js";

/** The queue consumer of a function: every event, async invocation and cron tick it gets. */
export function consumerOf(project: string, name: string): string {
  return `${project}_${name}`;
}

/** A function's subjects, as stored on the queue (the project's namespace). */
export function queueSubjects(project: string, subjects: string[]): string[] {
  return subjects.map((s) => projectSubject(project, s));
}

/** The project-relative subject of a stored one (what the function sees). */
export function relativeSubject(project: string, subject: string): string {
  const prefix = projectSubject(project, "");
  return subject.startsWith(prefix) ? subject.slice(prefix.length) : subject;
}

/** The subject async invocations of a function are sent with (to its consumer only). */
export function invokeSubject(project: string, name: string): string {
  return `litefaas.invoke.${project}.${name}`;
}

/** The subject cron runs of a function are sent with (to its consumer only). */
export function cronSubject(project: string, name: string): string {
  return `litefaas.cron.${project}.${name}`;
}

/** Headers the platform puts on queued work; never shown to functions. */
export const HEADER = {
  kind: "litefaas-kind",
  request: "litefaas-request",
  cron: "litefaas-cron",
  scheduledTime: "litefaas-scheduled-time",
} as const;

/** Platform state of the triggers, in the kv port (one bucket each). */
export const BUCKETS = { invocations: "litefaas_invocations", cron: "litefaas_cron" } as const;
