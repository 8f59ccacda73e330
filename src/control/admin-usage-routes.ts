// Usage through the admin API: what projects and functions used (invocations, errors, billed
// GB-seconds, egress bytes) over a time range, by hour, by UTC day or in all.
import {
  GROUPINGS,
  type UsageGrouping,
  type UsageQuery,
  type UsageReport,
} from "../observe/usage-query.js";
import { LitefaasError } from "../shared/errors.js";
import { NAME_PATTERN } from "../shared/manifest/schema.js";
import { timeOf } from "./admin-record-routes.js";
import type { Route } from "./admin-http.js";

export interface UsageDeps {
  /** The stored usage over a range (this process's own counts stored first). */
  usageReport(query: UsageQuery): Promise<UsageReport>;
}

/** What a query covers when it names no start. */
const DEFAULT_SPAN_MS = 30 * 24 * 3_600_000;
const NAME = new RegExp(NAME_PATTERN);

export function usageRoutes(deps: UsageDeps): Route[] {
  return [
    // async: a refusal must reject the handler's promise, not throw out of the server
    [
      "GET",
      /^\/admin\/v1\/usage$/,
      async ({ query }) => deps.usageReport(usageQuery(query, Date.now())),
    ],
  ];
}

/** ?project=shop&function=hello&since=30d|<ISO>|<epoch ms>&until=…&by=hour|day|total */
export function usageQuery(query: URLSearchParams, now: number): UsageQuery {
  const project = query.get("project") ?? undefined;
  const fn = query.get("function") ?? undefined;
  // names become parts of stored keys and list prefixes: nothing but a name may widen a read
  for (const [what, name] of [
    ["project", project],
    ["function", fn],
  ] as const) {
    if (name !== undefined && !NAME.test(name)) {
      throw new LitefaasError("INVALID_REQUEST", `${what} "${name}" is not a ${what}'s name`, {
        fix: "names are lowercase letters, digits and dashes (no wildcards), e.g. project=shop&function=hello",
      });
    }
  }
  if (fn !== undefined && project === undefined) {
    throw new LitefaasError("INVALID_REQUEST", `function "${fn}" needs its project`, {
      fix: `add the project, e.g. project=shop&function=${fn}`,
    });
  }
  const by = query.get("by") ?? "total";
  if (!(GROUPINGS as readonly string[]).includes(by)) {
    throw new LitefaasError("INVALID_REQUEST", `by "${by}" is not one of ${GROUPINGS.join(", ")}`, {
      fix: "group with by=hour, by=day, or by=total (the default: one row per function)",
    });
  }
  const untilText = query.get("until");
  const until = untilText === null ? now : instant(untilText, "until");
  const sinceText = query.get("since");
  const since = sinceText === null ? until - DEFAULT_SPAN_MS : instant(sinceText, "since");
  if (since > until) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      `since (${new Date(since).toISOString()}) is after until (${new Date(until).toISOString()})`,
      { fix: "give a since before until, e.g. since=7d (and no until, which means now)" },
    );
  }
  return {
    ...(project === undefined ? {} : { project }),
    ...(fn === undefined ? {} : { fn }),
    since,
    until,
    by: by as UsageGrouping,
  };
}

/** A time as the records' filters take it, and one a date can hold (so it prints as ISO). */
function instant(text: string, what: "since" | "until"): number {
  const ms = timeOf(text, what);
  if (Number.isNaN(new Date(ms).getTime())) {
    throw new LitefaasError("INVALID_REQUEST", `${what} "${text}" is out of range`, {
      fix: `give a time between the years 1970 and 275000, e.g. ${what}=7d or an ISO date`,
    });
  }
  return ms;
}
