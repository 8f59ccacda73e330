// What each project and function used: invocations, errors, billed GB-seconds and egress bytes,
// from the platform's durable usage counters.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { bytes, count } from "../components/format.js";
import { ErrorNote, Loading, useLoad } from "../components/ui.js";
import { hrefOf } from "../route.js";

interface UsageRow {
  project: string;
  function: string;
  invocations: number;
  errors: number;
  gbSeconds: number;
  egressBytes: number;
}

interface UsageAnswer {
  usage: UsageRow[];
  totals: Omit<UsageRow, "project" | "function">;
}

export function Usage() {
  const [since, setSince] = useState("30d");
  const usage = useLoad(() => api<UsageAnswer>("GET", `/usage?since=${since}&by=total`), [since]);
  const data = usage.data;
  const projects = new Map<string, UsageRow[]>();
  for (const row of data?.usage ?? []) {
    const list = projects.get(row.project) ?? [];
    list.push(row);
    projects.set(row.project, list);
  }
  return (
    <section aria-labelledby="usage-title" class="stack">
      <div class="heading">
        <h1 id="usage-title">Usage</h1>
        <label class="inline">
          Since{" "}
          <select value={since} onChange={(e) => setSince(e.currentTarget.value)}>
            {["1d", "7d", "30d", "90d"].map((w) => (
              <option key={w} value={w}>
                last {w}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={usage.error} />
      {data === undefined && usage.error === undefined && <Loading what="usage" />}
      {data !== undefined && (
        <>
          <dl class="figures">
            <div>
              <dt>Invocations</dt>
              <dd>{count(data.totals.invocations)}</dd>
            </div>
            <div>
              <dt>Errors</dt>
              <dd>{count(data.totals.errors)}</dd>
            </div>
            <div>
              <dt>Compute</dt>
              <dd>{data.totals.gbSeconds.toFixed(3)} GB-s</dd>
            </div>
            <div>
              <dt>Egress</dt>
              <dd>{bytes(data.totals.egressBytes)}</dd>
            </div>
          </dl>
          {data.usage.length === 0 && <p class="empty">Nothing used in this window.</p>}
          {[...projects].map(([project, rows]) => (
            <table class="list" key={project}>
              <caption>{project}</caption>
              <thead>
                <tr>
                  <th scope="col">Function</th>
                  <th scope="col">Invocations</th>
                  <th scope="col">Errors</th>
                  <th scope="col">GB-s</th>
                  <th scope="col">Egress</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.function}>
                    <th scope="row" data-label="Function">
                      <a href={hrefOf(r.project, r.function)}>{r.function}</a>
                    </th>
                    <td data-label="Invocations">{count(r.invocations)}</td>
                    <td data-label="Errors">{count(r.errors)}</td>
                    <td data-label="GB-s">{r.gbSeconds.toFixed(4)}</td>
                    <td data-label="Egress">{bytes(r.egressBytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ))}
        </>
      )}
    </section>
  );
}
