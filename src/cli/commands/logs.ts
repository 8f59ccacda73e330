// litefaas logs <project>/<function> [--follow]: recent lines, then (with --follow) new ones live.
import type { LogLine } from "../../observe/logs.js";
import type { AdminClient } from "../client.js";
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
  if (response.body === null) return 0;
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const raw of lines)
      if (raw.trim().length > 0) process.stdout.write(`${render(JSON.parse(raw) as LogLine)}\n`);
  }
  return 0;
}
