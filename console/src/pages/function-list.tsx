// Every function with its health over the last 15 minutes, from its invocation records.
import { useCallback } from "preact/hooks";
import { api } from "../api.js";
import { ago, count, ms, percent } from "../components/format.js";
import { ErrorNote, Loading, useInterval, useLoad } from "../components/ui.js";
import { hrefOf } from "../route.js";
import type { FunctionHealth } from "../types.js";

function errorClass(f: FunctionHealth): string {
  if (f.invocations === 0) return "";
  const share = f.errors / f.invocations;
  return share >= 0.05 ? "bad" : share > 0 ? "warn" : "good";
}

export function FunctionList() {
  const { data, error, loading, reload } = useLoad(
    () => api<{ functions: FunctionHealth[] }>("GET", "/stats?since=15m"),
    [],
  );
  useInterval(
    useCallback(() => reload(), [reload]),
    5000,
  );
  const functions = data?.functions ?? [];
  return (
    <section aria-labelledby="functions-title">
      <div class="heading">
        <h1 id="functions-title">Functions</h1>
        <a class="button" href="#/new">
          New function
        </a>
      </div>
      <ErrorNote error={error} />
      {loading && data === undefined && <Loading what="functions" />}
      {data !== undefined && functions.length === 0 && (
        <p class="empty">
          No functions yet. Write one in the browser with <a href="#/new">New function</a>, or
          deploy a project with <code>litefaas deploy &lt;dir&gt;</code>.
        </p>
      )}
      {functions.length > 0 && (
        <table class="list">
          <caption class="muted">Last 15 minutes; refreshed every 5 seconds.</caption>
          <thead>
            <tr>
              <th scope="col">Function</th>
              <th scope="col">Live</th>
              <th scope="col">Rate</th>
              <th scope="col">Errors</th>
              <th scope="col">p95</th>
              <th scope="col">Cold starts</th>
              <th scope="col">Last deploy</th>
            </tr>
          </thead>
          <tbody>
            {functions.map((f) => (
              <tr key={`${f.project}/${f.name}`}>
                <th scope="row" data-label="Function">
                  <a href={hrefOf(f.project, f.name)}>
                    <span class="muted">{f.project}/</span>
                    {f.name}
                  </a>
                  {f.runtime !== undefined && f.runtime !== "isolate" && (
                    <span class="tag">{f.runtime}</span>
                  )}
                </th>
                <td data-label="Live">v{f.live}</td>
                <td data-label="Rate">
                  {count(f.perMinute)}/min
                  {!f.complete && (
                    <span class="muted" title="more invocations than one page of records">
                      {" "}
                      (recent)
                    </span>
                  )}
                </td>
                <td data-label="Errors" class={errorClass(f)}>
                  {f.invocations === 0 ? "–" : percent(f.errors / f.invocations)}
                </td>
                <td data-label="p95">{ms(f.p95Ms)}</td>
                <td data-label="Cold starts">{percent(f.coldShare)}</td>
                <td data-label="Last deploy">
                  <time dateTime={f.updatedAt} title={f.updatedAt}>
                    {ago(f.updatedAt)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
