// Every version of a function, with one-click rollback to any of them.
import { api, fnPath } from "../api.js";
import { ago, bytes } from "../components/format.js";
import { ErrorNote, Loading, useAction, useLoad } from "../components/ui.js";
import type { TabProps } from "../pages/function-page.js";
import type { Version } from "../types.js";

export function VersionsTab({ project, name, detail, reload }: TabProps) {
  const versions = useLoad(
    () => api<{ live: number; versions: Version[] }>("GET", `${fnPath(project, name)}/versions`),
    [detail.live],
  );
  const rollback = useAction(async (to: number) => {
    await api("POST", `${fnPath(project, name)}/rollback`, { to });
    reload();
  });
  const data = versions.data;
  if (data === undefined)
    return versions.error === undefined ? (
      <Loading what="versions" />
    ) : (
      <ErrorNote error={versions.error} />
    );
  return (
    <div class="stack">
      <ErrorNote error={rollback.error} />
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Created</th>
            <th scope="col">Size</th>
            <th scope="col">
              <span class="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {[...data.versions].reverse().map((v) => (
            <tr key={v.version} class={v.live ? "live" : ""}>
              <th scope="row" data-label="Version">
                v{v.version} {v.live && <span class="tag good">live</span>}
              </th>
              <td data-label="Created">
                <time dateTime={v.createdAt} title={v.createdAt}>
                  {ago(v.createdAt)}
                </time>
              </td>
              <td data-label="Size">{bytes(v.size)}</td>
              <td>
                {!v.live && (
                  <button
                    type="button"
                    disabled={rollback.busy}
                    onClick={() => void rollback.act(v.version)}
                  >
                    {v.version < data.live ? "Roll back" : "Make live"} to v{v.version}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
