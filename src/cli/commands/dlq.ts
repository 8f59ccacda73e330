// litefaas dlq ls|show|redrive|purge <project>/<function> …: what a function failed to handle
// every time, and sending it back or deleting it.
import { LitefaasError } from "../../shared/errors.js";
import type { AdminClient } from "../client.js";
import type { Flags } from "../main.js";
import { parseTarget, table, type Output } from "../output.js";
import type { DeadLetterView } from "../../control/dead-letter-view.js";

const USAGE =
  "litefaas dlq ls|show|redrive|purge <project>/<function> [id]... [--limit n] [--after cursor] [--yes]";

interface Page {
  items: DeadLetterView[];
  cursor?: string;
  count: number;
}

export async function dlqCommand(
  client: AdminClient,
  args: string[],
  flags: Flags,
  out: Output,
): Promise<number> {
  const [verb, target, ...ids] = args;
  if (verb === undefined || !["ls", "show", "redrive", "purge"].includes(verb)) {
    throw new LitefaasError("INVALID_REQUEST", `unknown dlq command "${verb ?? ""}"`, {
      fix: USAGE,
    });
  }
  const { project, name } = parseTarget(target);
  const fn = `${project}/${name}`;
  const base = `/admin/v1/functions/${project}/${name}/dlq`;
  switch (verb) {
    case "ls": {
      const query = new URLSearchParams();
      if (flags.limit !== undefined) query.set("limit", flags.limit);
      if (flags.after !== undefined) query.set("after", flags.after);
      const page = await client.call<Page>("GET", `${base}?${query.toString()}`);
      out.result(page, () => listing(fn, page));
      return 0;
    }
    case "show": {
      const [id] = ids;
      if (id === undefined || ids.length > 1)
        throw new LitefaasError("INVALID_REQUEST", "dlq show needs one id", {
          fix: `see the ids with \`litefaas dlq ls ${fn}\``,
        });
      const letter = await client.call<DeadLetterView>("GET", `${base}/${encodeURIComponent(id)}`);
      out.result(letter, () => details(letter));
      return 0;
    }
    case "redrive": {
      const answer = await client.call<{ redriven: number }>(
        "POST",
        `${base}/redrive`,
        ids.length === 0 ? {} : { ids },
      );
      out.result(answer, () => `sent ${plural(answer.redriven)} back to ${fn}`);
      return 0;
    }
    default: {
      // deleting every dead letter cannot be undone: it takes an explicit yes
      if (ids.length === 0 && !flags.yes)
        throw new LitefaasError("INVALID_REQUEST", `this would delete every dead letter of ${fn}`, {
          fix: `add --yes to delete them all, or name the ids: litefaas dlq purge ${fn} <id>...`,
        });
      const answer = await client.call<{ purged: number }>(
        "POST",
        `${base}/purge`,
        ids.length === 0 ? {} : { ids },
      );
      out.result(answer, () => `deleted ${plural(answer.purged)} of ${fn}`);
      return 0;
    }
  }
}

function listing(fn: string, page: Page): string {
  if (page.items.length === 0) return `no dead letters for ${fn}`;
  const rows = table([
    ["ID", "SUBJECT", "ATTEMPTS", "FAILED AT", "REASON"],
    ...page.items.map((d) => [d.id, d.subject, String(d.attempts), d.failedAt, oneLine(d.reason)]),
  ]);
  const more =
    page.cursor === undefined
      ? ""
      : `\n(${page.items.length} shown of ${page.count}; next page: --after ${page.cursor})`;
  return `${rows}${more}`;
}

function details(d: DeadLetterView): string {
  const headers = Object.entries(d.headers).map(([k, v]) => `  ${k}: ${v}`);
  return [
    `id:         ${d.id}`,
    `subject:    ${d.subject}`,
    `kind:       ${d.kind}`,
    `attempts:   ${d.attempts}`,
    `published:  ${d.publishedAt}`,
    `failed at:  ${d.failedAt}`,
    `reason:     ${d.reason}`,
    ...(headers.length === 0 ? [] : ["headers:", ...headers]),
    `data (${d.encoding}):`,
    d.data,
  ].join("\n");
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ");
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

function plural(n: number): string {
  return n === 1 ? "1 dead letter" : `${n} dead letters`;
}
