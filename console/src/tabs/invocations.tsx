// Recent invocations from their records, filtered; one opens with its logs, error and payloads,
// and can be replayed on the live version.
import { useCallback, useState } from "preact/hooks";
import { api, fnPath } from "../api.js";
import { clock, ms } from "../components/format.js";
import { ErrorNote, Loading, useAction, useInterval, useLoad } from "../components/ui.js";
import type { TabProps } from "../pages/function-page.js";
import { go, hrefOf } from "../route.js";
import type { InvocationRecord, InvokeResult, Payload } from "../types.js";

export function InvocationsTab({ project, name, query }: TabProps) {
  const [outcome, setOutcome] = useState("");
  const [trigger, setTrigger] = useState("");
  const [since, setSince] = useState("1h");
  const open = query.get("id");
  const params = new URLSearchParams({ limit: "100", since });
  if (outcome !== "") params.set("outcome", outcome);
  if (trigger !== "") params.set("trigger", trigger);
  const list = useLoad(
    () => api<{ records: InvocationRecord[] }>("GET", `${fnPath(project, name)}/records?${params}`),
    [params.toString()],
  );
  useInterval(
    useCallback(() => list.reload(), [list.reload]),
    3000,
  );
  const href = (id?: string) =>
    `${hrefOf(project, name, "invocations")}${id === undefined ? "" : `?id=${encodeURIComponent(id)}`}`;
  return (
    <div class="split">
      <div class="stack">
        <form
          class="row filters"
          aria-label="Filter invocations"
          onSubmit={(e) => e.preventDefault()}
        >
          <label class="inline">
            Outcome{" "}
            <select value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)}>
              <option value="">any</option>
              <option value="ok">ok</option>
              <option value="error">error</option>
            </select>
          </label>
          <label class="inline">
            Trigger{" "}
            <select value={trigger} onChange={(e) => setTrigger(e.currentTarget.value)}>
              <option value="">any</option>
              {["http", "message", "scheduled", "async", "replay"].map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          </label>
          <label class="inline">
            Since{" "}
            <select value={since} onChange={(e) => setSince(e.currentTarget.value)}>
              {["15m", "1h", "1d", "7d"].map((w) => (
                <option key={w}>{w}</option>
              ))}
            </select>
          </label>
        </form>
        <ErrorNote error={list.error} />
        {list.data === undefined && list.error === undefined && <Loading what="invocations" />}
        {list.data !== undefined && list.data.records.length === 0 && (
          <p class="empty">No invocations in this window. Send one from the Test tab.</p>
        )}
        {list.data !== undefined && list.data.records.length > 0 && (
          <table class="list records">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Trigger</th>
                <th scope="col">Outcome</th>
                <th scope="col">Duration</th>
                <th scope="col">Version</th>
              </tr>
            </thead>
            <tbody>
              {list.data.records.map((r) => (
                <tr key={r.id} aria-selected={r.id === open}>
                  <th scope="row" data-label="Time">
                    <a href={href(r.id)}>{clock(r.start)}</a>
                    {r.cold && <span class="tag">cold</span>}
                  </th>
                  <td data-label="Trigger">
                    {r.trigger}
                    {r.attempt > 1 && ` #${r.attempt}`}
                  </td>
                  <td data-label="Outcome" class={r.outcome === "error" ? "bad" : "good"}>
                    {r.outcome === "error" ? (r.error?.code ?? "error") : (r.status ?? "ok")}
                  </td>
                  <td data-label="Duration">{ms(r.durationMs)}</td>
                  <td data-label="Version">v{r.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {open !== null && <RecordView id={open} close={() => go(href())} />}
    </div>
  );
}

function RecordView({ id, close }: { id: string; close: () => void }) {
  const record = useLoad(
    () => api<InvocationRecord>("GET", `/records/${encodeURIComponent(id)}`),
    [id],
  );
  const [replayed, setReplayed] = useState<(InvokeResult & { id: string }) | undefined>(undefined);
  const replay = useAction(async () => {
    setReplayed(
      await api<InvokeResult & { id: string }>(
        "POST",
        `/records/${encodeURIComponent(id)}/replay`,
        {},
      ),
    );
  });
  const r = record.data;
  return (
    <aside class="record" aria-label="Invocation">
      <div class="row">
        <h2>Invocation</h2>
        <button type="button" class="quiet" onClick={close}>
          Close
        </button>
      </div>
      <ErrorNote error={record.error} />
      {r === undefined && record.error === undefined && <Loading what="the record" />}
      {r !== undefined && (
        <>
          <dl class="pairs">
            <dt>Id</dt>
            <dd>
              <code>{r.id}</code>
            </dd>
            <dt>Started</dt>
            <dd>{new Date(r.start).toLocaleString()}</dd>
            <dt>Trigger</dt>
            <dd>
              {r.trigger}, attempt {r.attempt}
            </dd>
            <dt>Outcome</dt>
            <dd class={r.outcome === "error" ? "bad" : "good"}>
              {r.outcome}
              {r.status !== undefined && ` (HTTP ${r.status})`}
            </dd>
            {r.error !== undefined && (
              <>
                <dt>Error</dt>
                <dd>
                  <strong>{r.error.code}</strong> {r.error.message}
                </dd>
              </>
            )}
            <dt>Duration</dt>
            <dd>{ms(r.durationMs)}</dd>
            <dt>Start</dt>
            <dd>{r.cold ? `cold, init ${ms(r.initMs)}` : "warm"}</dd>
            <dt>Memory</dt>
            <dd>
              {r.memoryPeakBytes === undefined
                ? "not measured"
                : `${(r.memoryPeakBytes / 1024 / 1024).toFixed(1)} MiB peak`}{" "}
              of {r.memoryMiB} MiB
            </dd>
            <dt>Billed</dt>
            <dd>{r.billedGbSeconds.toPrecision(3)} GB-s</dd>
            <dt>Version</dt>
            <dd>v{r.version}</dd>
            {r.traceId !== undefined && (
              <>
                <dt>Trace</dt>
                <dd>
                  <code>{r.traceId}</code>
                </dd>
              </>
            )}
            <dt>Worker</dt>
            <dd>{r.worker}</dd>
          </dl>
          <h3>Logs</h3>
          {r.logs.length === 0 ? (
            <p class="muted">No log lines.</p>
          ) : (
            <ol class="log">
              {r.logs.map((line, i) => (
                <li key={i} class={`level-${line.level}`}>
                  <span class="muted">{clock(line.ts)}</span>{" "}
                  <span class="level">{line.level}</span> {line.message}
                </li>
              ))}
            </ol>
          )}
          {r.logsDropped > 0 && (
            <p class="muted">…and {r.logsDropped} more lines not kept in the record.</p>
          )}
          {r.input !== undefined && <PayloadView title="Input" payload={r.input} />}
          {r.output !== undefined && <PayloadView title="Output" payload={r.output} />}
          <div class="row">
            <button
              type="button"
              disabled={replay.busy || r.input === undefined}
              title={
                r.input === undefined
                  ? "recorded without its input: set records.payloads"
                  : undefined
              }
              onClick={() => void replay.act()}
            >
              Replay on the live version
            </button>
            {r.input === undefined && (
              <span class="hint">
                Replay needs the input: set records: {"{"} payloads: true {"}"} on this function.
              </span>
            )}
          </div>
          <ErrorNote error={replay.error} />
          {replayed !== undefined && (
            <p role="status">
              Replayed as <code>{replayed.id}</code>: HTTP {replayed.status}
            </p>
          )}
        </>
      )}
    </aside>
  );
}

function PayloadView({ title, payload }: { title: string; payload: Payload }) {
  return (
    <details>
      <summary>
        {title}
        {payload.method !== undefined && ` · ${payload.method} ${payload.url ?? ""}`}
        {payload.subject !== undefined && ` · ${payload.subject}`}
        {payload.status !== undefined && ` · ${payload.status}`}
      </summary>
      <pre>
        {Object.entries(payload.headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\n")}
      </pre>
      <pre class="body">
        {payload.encoding === "base64" ? `(base64) ${payload.body}` : payload.body}
      </pre>
      {payload.truncated && (
        <p class="muted">
          Kept {payload.body.length} of {payload.size} bytes.
        </p>
      )}
    </details>
  );
}
