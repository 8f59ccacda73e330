// litefaas invocations ls|show|replay: what every invocation did, from its record.
import { LitefaasError } from "../../shared/errors.js";
import type { InvocationRecordEntry } from "../../ports/records.js";
import type { AdminClient } from "../client.js";
import type { Flags } from "../main.js";
import { parseTarget, table, type Output } from "../output.js";

export const RECORDS_USAGE =
  "litefaas invocations ls <project>/<function> [--status error|ok] [--trigger http|message|scheduled|async|replay] [--since 1h] [--before <time>] [--limit 50]\n" +
  "       litefaas invocations show <id>\n" +
  "       litefaas invocations replay <id> [--version n]";

export async function listRecords(
  client: AdminClient,
  target: string | undefined,
  flags: Flags,
  out: Output,
): Promise<number> {
  const { project, name } = parseTarget(target);
  const query = new URLSearchParams();
  if (flags.status !== undefined) query.set("outcome", flags.status);
  if (flags.trigger !== undefined) query.set("trigger", flags.trigger);
  if (flags.since !== undefined) query.set("since", flags.since);
  if (flags.before !== undefined) query.set("before", flags.before);
  if (flags.limit !== undefined) query.set("limit", flags.limit);
  const page = await client.call<{ records: InvocationRecordEntry[] }>(
    "GET",
    `/admin/v1/functions/${project}/${name}/records?${query.toString()}`,
  );
  out.result(page, () => {
    if (page.records.length === 0) return `no invocations of ${project}/${name} recorded`;
    return table([
      ["ID", "STARTED", "TRIGGER", "VERSION", "DURATION", "COLD", "OUTCOME"],
      ...page.records.map((r) => [
        r.id,
        new Date(r.start).toISOString(),
        r.trigger,
        `v${r.version}`,
        `${r.durationMs.toFixed(1)} ms`,
        r.cold ? `cold ${r.initMs?.toFixed(1) ?? "?"} ms` : "warm",
        outcomeOf(r),
      ]),
    ]);
  });
  return 0;
}

export async function showRecord(
  client: AdminClient,
  id: string | undefined,
  out: Output,
): Promise<number> {
  if (id === undefined) {
    throw new LitefaasError("INVALID_REQUEST", "invocations show needs an id", {
      fix: "see the ids with `litefaas invocations ls <project>/<function>`; an HTTP answer's X-Request-Id is one",
    });
  }
  const r = await client.call<InvocationRecordEntry>(
    "GET",
    `/admin/v1/records/${encodeURIComponent(id)}`,
  );
  out.result(r, () => details(r));
  return 0;
}

export async function replayRecord(
  client: AdminClient,
  id: string | undefined,
  flags: Flags,
  out: Output,
): Promise<number> {
  if (id === undefined) {
    throw new LitefaasError("INVALID_REQUEST", "invocations replay needs an id", {
      fix: "see the ids with `litefaas invocations ls <project>/<function>`",
    });
  }
  let version: number | undefined;
  if (flags.version !== undefined) {
    version = Number(flags.version);
    if (!Number.isInteger(version) || version < 1) {
      throw new LitefaasError("INVALID_REQUEST", `--version ${flags.version} is not a version`, {
        fix: "give a version number as `litefaas versions <project>/<function>` lists them",
      });
    }
  }
  const answer = await client.call<{
    id: string;
    version: number;
    status: number;
    body: string;
    encoding: string;
    truncated: boolean;
  }>(
    "POST",
    `/admin/v1/records/${encodeURIComponent(id)}/replay`,
    version === undefined ? {} : { version },
  );
  out.result(answer, () =>
    [
      `replayed as ${answer.id} on v${answer.version}: HTTP ${answer.status}${answer.encoding === "base64" ? " (base64)" : ""}${answer.truncated ? " (truncated)" : ""}`,
      answer.body,
      `its record: litefaas invocations show ${answer.id}`,
    ].join("\n"),
  );
  return 0;
}

function outcomeOf(r: InvocationRecordEntry): string {
  const status = r.status === undefined ? "" : `${r.status} `;
  return r.outcome === "ok" ? `${status}ok` : `${status}${r.error?.code ?? "error"}`;
}

function details(r: InvocationRecordEntry): string {
  const lines = [
    `id:         ${r.id}${r.requestId === r.id ? "" : ` (request ${r.requestId}, attempt ${r.attempt})`}`,
    `function:   ${r.project}/${r.function} v${r.version}`,
    `trigger:    ${r.trigger}`,
    `started:    ${new Date(r.start).toISOString()} on ${r.worker}`,
    `duration:   ${r.durationMs} ms${r.cold ? ` (cold start, init ${r.initMs ?? "?"} ms)` : " (warm)"}`,
    `outcome:    ${outcomeOf(r)}`,
  ];
  if (r.error !== undefined) lines.push(`error:      ${r.error.message}`);
  lines.push(
    `memory:     ${r.memoryMiB} MiB limit${r.memoryPeakBytes === undefined ? "" : `, peak ${(r.memoryPeakBytes / 1024 / 1024).toFixed(1)} MiB`}`,
    `billed:     ${r.billedGbSeconds.toPrecision(3)} GB-s`,
  );
  if (r.traceId !== undefined) lines.push(`trace:      ${r.traceId}`);
  if (r.input !== undefined) {
    const what = r.input.subject ?? `${r.input.method ?? ""} ${r.input.url ?? ""}`.trim();
    lines.push(`input:      ${what} (${r.input.size} bytes${r.input.truncated ? ", cut" : ""})`);
    if (r.input.body !== "") lines.push(indent(r.input.body));
  }
  if (r.output !== undefined) {
    lines.push(
      `output:     HTTP ${r.output.status ?? "?"} (${r.output.size} bytes${r.output.truncated ? ", cut" : ""})`,
    );
    if (r.output.body !== "") lines.push(indent(r.output.body));
  }
  lines.push(`logs:       ${r.logs.length === 0 ? "none" : ""}`);
  for (const line of r.logs)
    lines.push(`  ${new Date(line.ts).toISOString()} ${line.level.padEnd(5)} ${line.message}`);
  if (r.logsDropped > 0) lines.push(`  … ${r.logsDropped} more lines (see litefaas logs)`);
  return lines.join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
