// litefaas events tail <project> [--subject orders.>]: follow a project's events as they happen.
import { LitefaasError } from "../../shared/errors.js";
import type { AdminClient } from "../client.js";
import { eachLine } from "../ndjson.js";
import type { Flags } from "../main.js";
import type { Output } from "../output.js";

interface EventLine {
  ready?: boolean;
  subject?: string;
  data?: string;
  headers?: Record<string, string>;
  /** Events the platform did not send because this follower read too slowly. */
  dropped?: number;
  message?: string;
}

export async function eventsCommand(
  client: AdminClient,
  args: string[],
  flags: Flags,
  out: Output,
): Promise<number> {
  const [verb, project] = args;
  if (verb !== "tail" || project === undefined) {
    throw new LitefaasError(
      "INVALID_REQUEST",
      "usage: litefaas events tail <project> [--subject <pattern>]",
      {
        fix: "e.g. litefaas events tail shop --subject 'orders.>'",
      },
    );
  }
  const subject = flags.subject ?? ">";
  const response = await client.raw(
    "GET",
    `/admin/v1/projects/${encodeURIComponent(project)}/events?subject=${encodeURIComponent(subject)}`,
  );
  await eachLine(response, (raw) => {
    const line = JSON.parse(raw) as EventLine;
    if (out.json) process.stdout.write(`${raw}\n`);
    else if (line.ready === true)
      process.stderr.write(`following ${project} events on ${subject}…\n`);
    else if (line.dropped !== undefined) process.stderr.write(`${line.message ?? ""}\n`);
    else
      process.stdout.write(
        `${new Date().toISOString()} ${line.subject ?? ""} ${line.data ?? ""}\n`,
      );
  });
  return 0;
}
