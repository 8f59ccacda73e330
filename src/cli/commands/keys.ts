// litefaas keys create|ls|revoke <project>: API keys for a project's routes. A key is shown once,
// when it is created; the platform keeps only its hash.
import { LitefaasError } from "../../shared/errors.js";
import type { AdminClient } from "../client.js";
import type { Flags } from "../main.js";
import { table, type Output } from "../output.js";

const USAGE =
  "litefaas keys create <project> [--name n] [--routes /a,/b/:id] [--scopes s1,s2] [--expires 720h] | keys ls <project> | keys revoke <project> <id>";

interface KeyView {
  id: string;
  project: string;
  name: string;
  routes?: string[];
  scopes: string[];
  createdAt: string;
  expiresAt?: string;
  key?: string;
}

const list = (text: string | undefined): string[] | undefined =>
  text === undefined
    ? undefined
    : text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");

export async function keysCommand(
  client: AdminClient,
  args: string[],
  flags: Flags,
  out: Output,
): Promise<number> {
  const [verb, project, id] = args;
  if (verb === undefined || !["create", "ls", "revoke"].includes(verb) || project === undefined) {
    throw new LitefaasError("INVALID_REQUEST", `usage: ${USAGE}`, { fix: USAGE });
  }
  const base = `/admin/v1/projects/${encodeURIComponent(project)}/keys`;
  if (verb === "create") {
    const routes = list(flags.routes);
    const scopes = list(flags.scopes);
    const created = await client.call<KeyView>("POST", base, {
      name: flags.name ?? "key",
      ...(routes === undefined ? {} : { routes }),
      ...(scopes === undefined ? {} : { scopes }),
      ...(flags.expires === undefined ? {} : { expiresIn: flags.expires }),
    });
    out.result(
      created,
      () =>
        `${created.key ?? ""}\n\nkey ${created.id} for project ${project}: shown this once, keep it now` +
        ` (send it as X-Api-Key or Authorization: Bearer)`,
    );
    return 0;
  }
  if (verb === "ls") {
    const { keys } = await client.call<{ keys: KeyView[] }>("GET", base);
    out.result({ keys }, () =>
      keys.length === 0
        ? `project ${project} has no API keys (create one with \`litefaas keys create ${project}\`)`
        : table([
            ["ID", "NAME", "ROUTES", "SCOPES", "CREATED", "EXPIRES"],
            ...keys.map((k) => [
              k.id,
              k.name,
              k.routes?.join(",") ?? "all",
              k.scopes.join(",") || "-",
              k.createdAt,
              k.expiresAt ?? "never",
            ]),
          ]),
    );
    return 0;
  }
  if (id === undefined)
    throw new LitefaasError("INVALID_REQUEST", "keys revoke needs the key's id", {
      fix: `see the ids with \`litefaas keys ls ${project}\``,
    });
  const revoked = await client.call<{ revoked: string }>(
    "DELETE",
    `${base}/${encodeURIComponent(id)}`,
  );
  out.result(revoked, () => `revoked key ${revoked.revoked}; it is refused from now on`);
  return 0;
}
