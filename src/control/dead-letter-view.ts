// A dead letter as the admin API shows it. A file of its own with no imports, so the console
// (browser code, no Node types) shares the type instead of repeating it.

/** A dead letter as JSON: project-relative subject, ISO times, data as text or base64. */
export interface DeadLetterView {
  id: string;
  subject: string;
  /** What was queued: an event, an async HTTP invocation or a cron run. */
  kind: "message" | "http" | "scheduled";
  attempts: number;
  reason: string;
  failedAt: string;
  publishedAt: string;
  headers: Record<string, string>;
  data: string;
  encoding: "utf8" | "base64";
}
