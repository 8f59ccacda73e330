// litefaas usage [project[/function]]: what was used (invocations, errors, billed GB-seconds,
// egress bytes) per function, in all or by hour or day.
import type { UsageReport, UsageRow } from "../../observe/usage-query.js";
import { LitefaasError } from "../../shared/errors.js";
import type { AdminClient } from "../client.js";
import type { Flags } from "../main.js";
import { table, type Output } from "../output.js";

export const USAGE_USAGE =
  "litefaas usage [project[/function]] [--since 30d] [--until <time>] [--by total|day|hour]";

export async function usageCommand(
  client: AdminClient,
  target: string | undefined,
  flags: Flags,
  out: Output,
): Promise<number> {
  const query = new URLSearchParams();
  if (target !== undefined) {
    const [project = "", fn, ...rest] = target.split("/");
    if (project === "" || fn === "" || rest.length > 0) {
      throw new LitefaasError(
        "INVALID_REQUEST",
        `"${target}" is not a project or <project>/<function>`,
        {
          fix: `${USAGE_USAGE}, e.g. litefaas usage shop/hello --since 7d`,
        },
      );
    }
    query.set("project", project);
    if (fn !== undefined) query.set("function", fn);
  }
  if (flags.since !== undefined) query.set("since", flags.since);
  if (flags.until !== undefined) query.set("until", flags.until);
  if (flags.by !== undefined) query.set("by", flags.by);
  const report = await client.call<UsageReport>("GET", `/admin/v1/usage?${query.toString()}`);
  out.result(report, () => render(report, target ?? "every function"));
  return 0;
}

function render(report: UsageReport, what: string): string {
  const span = `from ${minute(report.since)} until ${minute(report.until)}`;
  if (report.usage.length === 0) return `no usage of ${what} ${span}`;
  const periodic = report.by !== "total";
  const head = periodic ? [report.by === "day" ? "DAY" : "HOUR"] : [];
  const row = (r: UsageRow | undefined, figures: UsageReport["totals"]) => [
    ...(periodic ? [r?.period === undefined ? "" : period(r.period, report.by)] : []),
    r === undefined ? "total" : `${r.project}/${r.function}`,
    String(figures.invocations),
    String(figures.errors),
    gbSeconds(figures.gbSeconds),
    bytes(figures.egressBytes),
  ];
  return [
    `usage of ${what} ${span} (UTC)`,
    table([
      [...head, "FUNCTION", "INVOCATIONS", "ERRORS", "GB-SECONDS", "EGRESS"],
      ...report.usage.map((r) => row(r, r)),
      ...(report.usage.length > 1 ? [row(undefined, report.totals)] : []),
    ]),
  ].join("\n");
}

/** "2025-01-31 17:00" */
function minute(iso: string): string {
  return iso.slice(0, 16).replace("T", " ");
}

function period(iso: string, by: UsageReport["by"]): string {
  return by === "day" ? iso.slice(0, 10) : minute(iso);
}

function gbSeconds(value: number): string {
  return value === 0 ? "0" : value < 10 ? value.toPrecision(3) : value.toFixed(1);
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit] ?? ""}`;
}
