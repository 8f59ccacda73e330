// litefaas logs <project>[/<function>] [--follow] [--level warn] [--request <id>] [--grep text]:
// the last lines that match, then (with --follow) new ones live. The platform does the filtering,
// so a follower is sent only what it asked for.
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
  const { project, name } = logTarget(target);
  const query = new URLSearchParams({ limit: flags.limit ?? "100" });
  if (flags.level !== undefined) query.set("level", flags.level);
  if (flags.request !== undefined) query.set("request", flags.request);
  if (flags.grep !== undefined) query.set("q", flags.grep);
  const path =
    name === undefined
      ? `/admin/v1/projects/${encodeURIComponent(project)}/logs`
      : `/admin/v1/functions/${encodeURIComponent(project)}/${encodeURIComponent(name)}/logs`;
  // a whole project's lines say whose they are
  const who = (line: LogLine) => (name === undefined ? `${line.function} ` : "");
  const render = (line: LogLine) =>
    out.json
      ? JSON.stringify(line)
      : `${new Date(line.ts).toISOString()} ${line.level.toUpperCase().padEnd(5)} [${line.requestId.slice(0, 8) || "-"}] ${who(line)}v${line.version} ${line.message}`;
  if (!flags.follow) {
    const answer = await client.call<{ lines: LogLine[] }>("GET", `${path}?${query.toString()}`);
    process.stdout.write(answer.lines.map((l) => `${render(l)}\n`).join(""));
    return 0;
  }
  query.set("follow", "1");
  const response = await client.raw("GET", `${path}?${query.toString()}`);
  await eachLine(response, (raw) =>
    process.stdout.write(`${render(JSON.parse(raw) as LogLine)}\n`),
  );
  return 0;
}

/** "shop/hello" is one function; "shop" is every function of the project. */
function logTarget(text: string | undefined): { project: string; name?: string } {
  if (text !== undefined && text !== "" && !text.includes("/")) return { project: text };
  return parseTarget(text);
}
