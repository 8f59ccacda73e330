// Cron expressions, read by croner: 5 fields (minute hour day month weekday) or 6 with seconds
// first, in an IANA time zone. The manifest checks them; the cron trigger computes ticks.
import { Cron } from "croner";

function parse(expression: string, timezone: string): Cron {
  return new Cron(expression, { timezone, paused: true });
}

/** Why an expression or zone is unusable, or undefined when it is fine. */
export function describeCronProblem(expression: string, timezone: string): string | undefined {
  try {
    const job = parse(expression, timezone);
    if (job.nextRun() === null) return "it never fires";
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The first tick strictly after `after` (epoch ms), or undefined when there is none. */
export function nextTick(expression: string, timezone: string, after: number): number | undefined {
  const next = parse(expression, timezone).nextRun(new Date(after));
  return next === null ? undefined : next.getTime();
}
