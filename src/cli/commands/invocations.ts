// litefaas invoke <project>/<function> --async: queue a request (202) instead of waiting for it;
// litefaas invocations get <id>: what became of it.
import { LitefaasError } from "../../shared/errors.js";
import { errorFrom, type AdminClient } from "../client.js";
import type { Flags } from "../main.js";
import type { InvocationRecord } from "../../invoke/index.js";
import type { Output } from "../output.js";
import { sendToFunction } from "./invoke.js";
import { listRecords, RECORDS_USAGE, replayRecord, showRecord } from "./records.js";

export async function invokeAsyncCommand(
  client: AdminClient,
  target: string | undefined,
  flags: Flags,
  out: Output,
): Promise<number> {
  const response = await sendToFunction(client, target, flags, {
    "x-litefaas-invocation": "async",
    ...(flags["idempotency-key"] === undefined
      ? {}
      : { "idempotency-key": flags["idempotency-key"] }),
  });
  if (response.status !== 202) throw await errorFrom(response);
  const accepted = (await response.json()) as { id: string; status: string; statusUrl: string };
  const replayed = response.headers.get("idempotent-replayed") === "true";
  const statusUrl = `${client.url}${accepted.statusUrl}`;
  out.result({ ...accepted, statusUrl, replayed }, () =>
    [
      `${accepted.id}${replayed ? " (already accepted with this idempotency key)" : ""}`,
      `status: ${statusUrl}`,
      `        or: litefaas invocations get ${accepted.id}`,
    ].join("\n"),
  );
  return 0;
}

export async function invocationsCommand(
  client: AdminClient,
  args: string[],
  flags: Flags,
  out: Output,
): Promise<number> {
  const [verb, id] = args;
  if (args.length > 2) {
    throw new LitefaasError("INVALID_REQUEST", `invocations ${verb ?? ""} takes one argument`, {
      fix: `usage: ${RECORDS_USAGE}`,
    });
  }
  if (verb === "ls") return listRecords(client, id, flags, out);
  if (verb === "show") return showRecord(client, id, out);
  if (verb === "replay") return replayRecord(client, id, flags, out);
  if (verb !== "get" || id === undefined) {
    throw new LitefaasError("INVALID_REQUEST", `unknown invocations command "${verb ?? ""}"`, {
      fix: `usage: ${RECORDS_USAGE}\n       litefaas invocations get <id> (an async invocation's status: use the id \`litefaas invoke <project>/<function> --async\` printed)`,
    });
  }
  const record = await client.call<InvocationRecord>(
    "GET",
    `/admin/v1/invocations/${encodeURIComponent(id)}`,
  );
  out.result(record, () => describe(record));
  return 0;
}

function describe(r: InvocationRecord): string {
  const lines = [
    `id:         ${r.id}`,
    `function:   ${r.project}/${r.function}${r.version === undefined ? "" : ` (v${r.version})`}`,
    `status:     ${r.status}`,
    `attempts:   ${r.attempts}`,
    `accepted:   ${r.acceptedAt}`,
    `updated:    ${r.updatedAt}`,
  ];
  if (r.nextAttemptAt !== undefined) lines.push(`next try:   ${r.nextAttemptAt}`);
  if (r.finishedAt !== undefined) lines.push(`finished:   ${r.finishedAt}`);
  if (r.error !== undefined) lines.push(`error:      ${r.error.code}: ${r.error.message}`);
  if (r.result !== undefined) {
    const note = [
      r.result.encoding === "base64" ? "base64" : "",
      r.result.truncated ? "truncated" : "",
    ]
      .filter((s) => s !== "")
      .join(", ");
    lines.push(
      `response:   HTTP ${r.result.status}${note === "" ? "" : ` (${note})`}`,
      r.result.body,
    );
  }
  return lines.join("\n");
}
