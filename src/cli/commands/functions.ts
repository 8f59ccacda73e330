// ls, routes, versions, rollback, rm: the registry from the command line.
import { LitefaasError } from "../../shared/errors.js";
import type { AdminClient } from "../client.js";
import type { Flags } from "../main.js";
import { parseTarget, table, type Output } from "../output.js";

type Command = (
  client: AdminClient,
  target: string | undefined,
  flags: Flags,
  out: Output,
) => Promise<number>;

interface ListAnswer {
  functions: Array<{
    project: string;
    name: string;
    live: number;
    latest: number;
    updatedAt: string;
    url: string;
  }>;
}
interface RoutesAnswer {
  routes: Array<{
    project: string;
    method: string;
    host: string;
    path: string;
    function: string;
    auth: string;
    scopes: string[];
  }>;
}
interface VersionsAnswer {
  live: number;
  versions: Array<{ version: number; createdAt: string; size: number; live: boolean }>;
}

export const functionCommands: Record<"ls" | "routes" | "versions" | "rollback" | "rm", Command> = {
  /** `litefaas routes [project]`: every route, by project, in manifest order. */
  async routes(client, project, _flags, out) {
    const query = project === undefined ? "" : `?project=${encodeURIComponent(project)}`;
    const answer = await client.call<RoutesAnswer>("GET", `/admin/v1/routes${query}`);
    out.result(answer, () =>
      answer.routes.length === 0
        ? "no routes (declare them under routes: in litefaas.yaml; every function is also at /fn/<project>/<function>/)"
        : table([
            ["METHOD", "HOST", "PATH", "FUNCTION", "AUTH"],
            ...answer.routes.map((r) => [
              r.method,
              r.host,
              r.path,
              `${r.project}/${r.function}`,
              r.auth + (r.scopes.length > 0 ? ` (${r.scopes.join(" ")})` : ""),
            ]),
          ]),
    );
    return 0;
  },
  async ls(client, _target, _flags, out) {
    const answer = await client.call<ListAnswer>("GET", "/admin/v1/functions");
    out.result(answer, () =>
      answer.functions.length === 0
        ? "no functions deployed (deploy one with `litefaas deploy <dir>`)"
        : table([
            ["FUNCTION", "VERSION", "UPDATED", "URL"],
            ...answer.functions.map((f) => [
              `${f.project}/${f.name}`,
              `v${f.live}`,
              f.updatedAt,
              f.url,
            ]),
          ]),
    );
    return 0;
  },
  async versions(client, target, _flags, out) {
    const { project, name } = parseTarget(target);
    const answer = await client.call<VersionsAnswer>(
      "GET",
      `/admin/v1/functions/${project}/${name}/versions`,
    );
    out.result(answer, () =>
      table([
        ["VERSION", "CREATED", "SIZE", ""],
        ...answer.versions.map((v) => [
          `v${v.version}`,
          v.createdAt,
          `${v.size} B`,
          v.live ? "live" : "",
        ]),
      ]),
    );
    return 0;
  },
  async rollback(client, target, flags, out) {
    const { project, name } = parseTarget(target);
    let to: number | undefined;
    if (flags.to !== undefined) {
      to = Number(flags.to.replace(/^v/, ""));
      if (!Number.isInteger(to) || to < 1) {
        throw new LitefaasError("INVALID_REQUEST", `--to "${flags.to}" is not a version number`, {
          fix: "pass --to 2 (see `litefaas versions`)",
        });
      }
    }
    const answer = await client.call<{ live: number }>(
      "POST",
      `/admin/v1/functions/${project}/${name}/rollback`,
      to === undefined ? {} : { to },
    );
    out.result(answer, () => `${project}/${name} now serves v${answer.live}`);
    return 0;
  },
  async rm(client, target, flags, out) {
    const { project, name } = parseTarget(target);
    const answer = await client.call<{ removed: string; purged: boolean }>(
      "DELETE",
      `/admin/v1/functions/${project}/${name}${flags.purge ? "?purge=1" : ""}`,
    );
    out.result(answer, () =>
      answer.purged
        ? `removed ${answer.removed} and deleted its KV store and SQL database`
        : `removed ${answer.removed}; its KV store and SQL database are kept for a redeploy (delete them with --purge)`,
    );
    return 0;
  },
};
