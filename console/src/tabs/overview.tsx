// How a function is doing (rate, errors, latency, cold starts over a window, with charts), and
// what it is: its routes and triggers, limits, and environment (values hidden until asked).
import { useCallback, useState } from "preact/hooks";
import { api, fnPath } from "../api.js";
import { Chart } from "../components/chart.js";
import { count, ms, percent } from "../components/format.js";
import { ErrorNote, useInterval, useLoad } from "../components/ui.js";
import type { TabProps } from "../pages/function-page.js";
import type { RouteView, Stats } from "../types.js";

const WINDOWS = ["15m", "1h", "6h", "1d"];

export function Overview({ project, name, detail }: TabProps) {
  const [window, setWindow] = useState("1h");
  const stats = useLoad(
    () => api<Stats>("GET", `${fnPath(project, name)}/stats?since=${window}&buckets=30`),
    [window],
  );
  useInterval(
    useCallback(() => stats.reload(), [stats.reload]),
    5000,
  );
  const routes = useLoad(
    () => api<{ routes: RouteView[] }>("GET", `/routes?project=${encodeURIComponent(project)}`),
    [],
  );
  const s = stats.data;
  const starts = s?.buckets.map((b) => b.start) ?? [];
  const config = detail.config;
  return (
    <div class="stack">
      <div class="row">
        <h2>Health</h2>
        <label class="inline">
          Window{" "}
          <select value={window} onChange={(e) => setWindow(e.currentTarget.value)}>
            {WINDOWS.map((w) => (
              <option key={w} value={w}>
                last {w}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={stats.error} />
      {s !== undefined && (
        <>
          <dl class="figures">
            <div>
              <dt>Invocations</dt>
              <dd>{count(s.invocations)}</dd>
            </div>
            <div>
              <dt>Rate</dt>
              <dd>{count(s.perMinute)}/min</dd>
            </div>
            <div>
              <dt>Errors</dt>
              <dd class={s.errors > 0 ? "bad" : ""}>
                {s.errors} ({s.invocations === 0 ? "–" : percent(s.errors / s.invocations)})
              </dd>
            </div>
            <div>
              <dt>p50 / p95 / p99</dt>
              <dd>
                {ms(s.p50Ms)} / {ms(s.p95Ms)} / {ms(s.p99Ms)}
              </dd>
            </div>
            <div>
              <dt>Cold starts</dt>
              <dd>{percent(s.coldShare)}</dd>
            </div>
          </dl>
          {!s.complete && (
            <p class="muted">
              Figures describe the newest {count(s.invocations)} invocations, since{" "}
              {new Date(s.coveredFrom).toLocaleTimeString()}.
            </p>
          )}
          <div class="charts">
            <Chart
              title="Invocations and errors"
              starts={starts}
              format={count}
              series={[
                {
                  label: "invocations",
                  kind: "bar",
                  className: "s-ok",
                  values: s.buckets.map((b) => b.invocations),
                },
                {
                  label: "errors",
                  kind: "bar",
                  className: "s-error",
                  values: s.buckets.map((b) => b.errors),
                },
              ]}
            />
            <Chart
              title="Latency"
              starts={starts}
              format={ms}
              series={[
                {
                  label: "p50",
                  kind: "line",
                  className: "s-p50",
                  values: s.buckets.map((b) => b.p50Ms),
                },
                {
                  label: "p95",
                  kind: "line",
                  className: "s-p95",
                  values: s.buckets.map((b) => b.p95Ms),
                },
              ]}
            />
          </div>
        </>
      )}
      <h2>Routes and triggers</h2>
      <ul class="plain">
        <li>
          <code>{detail.url}</code> <span class="muted">(always)</span>
        </li>
        {(routes.data?.routes ?? [])
          .filter((r) => r.function === name)
          .map((r) => (
            <li key={`${r.method} ${r.host} ${r.path}`}>
              <code>
                {r.method} {r.host === "*" ? "" : r.host}
                {r.path}
              </code>{" "}
              <span class="muted">auth: {r.auth}</span>
            </li>
          ))}
        {config.subjects.map((subject) => (
          <li key={subject}>
            events on <code>{subject}</code>{" "}
            <span class="muted">
              ({config.delivery.attempts} attempts
              {config.delivery.deadLetter ? ", dead-letter queue" : ""})
            </span>
          </li>
        ))}
        {config.schedule !== undefined && (
          <li>
            cron <code>{config.schedule.cron}</code>{" "}
            <span class="muted">({config.schedule.timezone})</span>
          </li>
        )}
      </ul>
      {detail.queue !== undefined && (
        <p>
          Queue: {detail.queue.pending} pending, {detail.queue.deadLetters} dead letter
          {detail.queue.deadLetters === 1 ? "" : "s"}.
        </p>
      )}
      <h2>Limits</h2>
      <dl class="pairs">
        <dt>Memory</dt>
        <dd>{config.memoryMiB} MiB</dd>
        <dt>Timeout</dt>
        <dd>{ms(config.timeoutMs)}</dd>
        <dt>Concurrency</dt>
        <dd>{config.concurrency}</dd>
        <dt>Egress</dt>
        <dd>{config.egress.length === 0 ? "none" : config.egress.join(", ")}</dd>
        <dt>Records</dt>
        <dd>
          {config.records === undefined
            ? "default"
            : `keep ${config.records.keep}, payloads ${config.records.payloads ? "on" : "off"}`}
        </dd>
      </dl>
      <EnvList env={config.env} />
    </div>
  );
}

/** Names shown, values hidden: they are often secrets, and screens get shared. */
function EnvList({ env }: { env: Record<string, string> }) {
  const [shown, setShown] = useState<Set<string>>(new Set());
  const names = Object.keys(env).sort();
  const toggle = (key: string) =>
    setShown((s) => {
      const next = new Set(s);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  return (
    <>
      <h2>Environment</h2>
      {names.length === 0 ? (
        <p class="muted">No variables. Set them under env: in litefaas.yaml.</p>
      ) : (
        <table class="kv">
          <tbody>
            {names.map((key) => (
              <tr key={key}>
                <th scope="row">
                  <code>{key}</code>
                </th>
                <td>
                  <code>{shown.has(key) ? env[key] : "••••••••"}</code>
                </td>
                <td>
                  <button
                    type="button"
                    class="quiet"
                    aria-pressed={shown.has(key)}
                    onClick={() => toggle(key)}
                  >
                    {shown.has(key) ? "Hide" : "Show"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
