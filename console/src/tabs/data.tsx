// The function's own data: its key-value store (list, get, put, delete) and its SQL database.
import { useState } from "preact/hooks";
import { api, fnPath, request } from "../api.js";
import { ErrorNote, Field, Loading, useAction, useLoad } from "../components/ui.js";
import type { TabProps } from "../pages/function-page.js";

export function DataTab(props: TabProps) {
  return (
    <div class="stack">
      <KvBrowser {...props} />
      <SqlConsole {...props} />
    </div>
  );
}

function KvBrowser({ project, name }: TabProps) {
  const base = `${fnPath(project, name)}/kv`;
  const [prefix, setPrefix] = useState("");
  const keys = useLoad(
    () =>
      api<{ keys: Array<{ key: string; expiresAt?: number }>; cursor: string | null }>(
        "GET",
        `${base}?limit=200&prefix=${encodeURIComponent(prefix)}`,
      ),
    [prefix],
  );
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [note, setNote] = useState<string | undefined>(undefined);
  const open = useAction(async (k: string) => {
    setNote(undefined);
    const response = await request("GET", `${base}/${encodeURIComponent(k)}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    setKey(k);
    try {
      setValue(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      setNote(`revision ${response.headers.get("x-litefaas-revision") ?? "?"}`);
    } catch {
      setValue("");
      setNote(`${bytes.length} bytes of binary data: not shown; putting text replaces them`);
    }
  });
  const save = useAction(async () => {
    const response = await request("PUT", `${base}/${encodeURIComponent(key)}`, {
      body: value,
      headers: { "content-type": "application/octet-stream" },
    });
    const answer = (await response.json()) as { revision: number };
    setNote(`saved, revision ${answer.revision}`);
    keys.reload();
  });
  const remove = useAction(async (k: string) => {
    await api("DELETE", `${base}/${encodeURIComponent(k)}`);
    if (k === key) {
      setKey("");
      setValue("");
      setNote(`${k} deleted`);
    }
    keys.reload();
  });
  return (
    <section aria-labelledby="kv-title" class="stack">
      <h2 id="kv-title">Key-value store</h2>
      <div class="split">
        <div class="stack">
          <label class="inline">
            Prefix{" "}
            <input
              name="prefix"
              type="search"
              value={prefix}
              onInput={(e) => setPrefix(e.currentTarget.value)}
            />
          </label>
          <ErrorNote error={keys.error ?? remove.error ?? open.error} />
          {keys.data === undefined && keys.error === undefined && <Loading what="keys" />}
          {keys.data !== undefined && keys.data.keys.length === 0 && <p class="empty">No keys.</p>}
          <ul class="keys">
            {keys.data?.keys.map((k) => (
              <li key={k.key}>
                <button type="button" class="link" onClick={() => void open.act(k.key)}>
                  {k.key}
                </button>
                {k.expiresAt !== undefined && (
                  <span class="muted"> expires {new Date(k.expiresAt).toLocaleString()}</span>
                )}
                <button
                  type="button"
                  class="quiet"
                  aria-label={`Delete ${k.key}`}
                  onClick={() => void remove.act(k.key)}
                >
                  Delete
                </button>
              </li>
            ))}
          </ul>
          {keys.data?.cursor !== null && keys.data?.cursor !== undefined && (
            <p class="muted">More keys: narrow the prefix.</p>
          )}
        </div>
        <form
          class="stack"
          aria-label="Key and value"
          onSubmit={(e) => {
            e.preventDefault();
            void save.act();
          }}
        >
          <Field label="Key">
            <input name="key" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
          </Field>
          <Field label="Value">
            <textarea
              name="value"
              rows={6}
              class="mono"
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
            />
          </Field>
          <div class="row">
            <button type="submit" disabled={save.busy || key === ""}>
              Put
            </button>
            {note !== undefined && (
              <span role="status" class="muted">
                {note}
              </span>
            )}
          </div>
          <ErrorNote error={save.error} />
        </form>
      </div>
    </section>
  );
}

function SqlConsole({ project, name }: TabProps) {
  const [sql, setSql] = useState("");
  const [result, setResult] = useState<
    { columns: string[]; rows: unknown[][]; meta: unknown } | undefined
  >(undefined);
  const run = useAction(async () => {
    setResult(undefined);
    setResult(await api("POST", `${fnPath(project, name)}/sql`, { sql }));
  });
  return (
    <section aria-labelledby="sql-title" class="stack">
      <h2 id="sql-title">SQL</h2>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void run.act();
        }}
      >
        <Field label="Statement">
          <textarea
            name="sql"
            rows={4}
            class="mono"
            value={sql}
            required
            placeholder="select * from orders order by id desc limit 20"
            onInput={(e) => setSql(e.currentTarget.value)}
            onKeyDown={(e) => {
              if ((e.ctrlKey || e.metaKey) && e.key === "Enter") void run.act();
            }}
          />
        </Field>
        <div class="row">
          <button type="submit" disabled={run.busy}>
            Run
          </button>
          <span class="hint">
            Ctrl/⌘-Enter runs it. PostgreSQL or SQLite, as the platform uses.
          </span>
        </div>
      </form>
      <ErrorNote error={run.error} />
      {result !== undefined && (
        <div class="scroll">
          {result.columns.length === 0 ? (
            <p role="status">Done. {JSON.stringify(result.meta)}</p>
          ) : (
            <table class="grid-table">
              <caption class="muted">
                {result.rows.length} row{result.rows.length === 1 ? "" : "s"}
              </caption>
              <thead>
                <tr>
                  {result.columns.map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {result.rows.map((row, i) => (
                  <tr key={i}>
                    {row.map((cell, j) => (
                      <td key={j}>
                        {cell === null ? <span class="muted">null</span> : cellText(cell)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}

/** A cell as text: strings as they are, anything else (numbers, JSON, blobs) as JSON. */
function cellText(cell: unknown): string {
  return typeof cell === "string" ? cell : JSON.stringify(cell);
}
