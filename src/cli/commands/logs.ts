// litefaas logs <project>/<function> [--follow]: recent lines, then (with --follow) new ones live.
import type { LogLine } from "../../observe/logs.js";
import type { AdminClient } from "../client.js";
import { eachLine } from "../ndjson.js";
import type { Flags } from "../main.js";
import { parseTarget, type Output } from "../output.js";

export async function logsCommand(
  client: AdminClient,
  target: string | undefined,
  flags: Flags,
  out: Output,
): Promise<number> {
  const { project, name } = parseTarget(target);
  const limit = flags.limit ?? "100";
  const base = `/admin/v1/functions/${project}/${name}/logs?limit=${encodeURIComponent(limit)}`;
  const render = (line: LogLine) =>
    out.json
      ? JSON.stringify(line)
      : `${new Date(line.ts).toISOString()} ${line.level.toUpperCase().padEnd(5)} [${line.requestId.slice(0, 8) || "-"}] v${line.version} ${line.message}`;
  if (!flags.follow) {
    const answer = await client.call<{ lines: LogLine[] }>("GET", base);
    process.stdout.write(answer.lines.map((l) => `${render(l)}\n`).join(""));
    return 0;
  }
  const response = await client.raw("GET", `${base}&follow=1`);
  await eachLine(response, (raw) =>
    process.stdout.write(`${render(JSON.parse(raw) as LogLine)}\n`),
  );
  return 0;
}
