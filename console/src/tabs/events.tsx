// Events: publish a test event into the function's project, and its dead-letter queue with
// redrive and purge.
import { useState } from "preact/hooks";
import { fnPath, request, api } from "../api.js";
import { ago } from "../components/format.js";
import { ErrorNote, Field, Loading, useAction, useLoad } from "../components/ui.js";
import type { TabProps } from "../pages/function-page.js";
import type { DeadLetter } from "../types.js";

export function EventsTab(props: TabProps) {
  return (
    <div class="stack">
      <Publish {...props} />
      <DeadLetters {...props} />
    </div>
  );
}

function Publish({ project, detail }: TabProps) {
  const [subject, setSubject] = useState(detail.config.subjects[0]?.replace(/\*|>/g, "test") ?? "");
  const [data, setData] = useState('{"hello":"world"}');
  const [note, setNote] = useState<string | undefined>(undefined);
  const publish = useAction(async () => {
    setNote(undefined);
    await request(
      "POST",
      `/projects/${encodeURIComponent(project)}/events/${encodeURIComponent(subject)}`,
      {
        body: data,
        headers: { "content-type": "application/json" },
      },
    );
    setNote(`Published on ${subject}.`);
  });
  return (
    <section aria-labelledby="publish-title" class="stack">
      <h2 id="publish-title">Publish a test event</h2>
      {detail.config.subjects.length > 0 ? (
        <p class="muted">
          This function consumes {detail.config.subjects.map((s) => `"${s}"`).join(", ")} in project{" "}
          {project}.
        </p>
      ) : (
        <p class="muted">This function consumes no subjects; others in {project} may.</p>
      )}
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void publish.act();
        }}
      >
        <Field label="Subject">
          <input
            name="subject"
            required
            value={subject}
            placeholder="orders.created"
            onInput={(e) => setSubject(e.currentTarget.value)}
          />
        </Field>
        <Field label="Data">
          <textarea
            name="data"
            rows={4}
            class="mono"
            value={data}
            onInput={(e) => setData(e.currentTarget.value)}
          />
        </Field>
        <div class="row">
          <button type="submit" disabled={publish.busy || subject === ""}>
            Publish
          </button>
          {note !== undefined && (
            <span role="status" class="good">
              {note}
            </span>
          )}
        </div>
        <ErrorNote error={publish.error} />
      </form>
    </section>
  );
}

function DeadLetters({ project, name, reload }: TabProps) {
  const base = `${fnPath(project, name)}/dlq`;
  const letters = useLoad(
    () => api<{ items: DeadLetter[]; count: number; cursor?: string }>("GET", `${base}?limit=50`),
    [],
  );
  const [note, setNote] = useState<string | undefined>(undefined);
  const redrive = useAction(async (ids?: string[]) => {
    const answer = await api<{ redriven: number }>(
      "POST",
      `${base}/redrive`,
      ids === undefined ? {} : { ids },
    );
    setNote(`${answer.redriven} sent back through ${name}.`);
    letters.reload();
    reload();
  });
  const purge = useAction(async (ids?: string[]) => {
    if (ids === undefined && !confirm(`Delete every dead letter of ${project}/${name}?`)) return;
    const answer = await api<{ purged: number }>(
      "POST",
      `${base}/purge`,
      ids === undefined ? {} : { ids },
    );
    setNote(`${answer.purged} deleted.`);
    letters.reload();
    reload();
  });
  const data = letters.data;
  return (
    <section aria-labelledby="dlq-title" class="stack">
      <div class="row">
        <h2 id="dlq-title">Dead letters</h2>
        {data !== undefined && data.count > 0 && (
          <>
            <button type="button" disabled={redrive.busy} onClick={() => void redrive.act()}>
              Redrive all ({data.count})
            </button>
            <button
              type="button"
              class="danger"
              disabled={purge.busy}
              onClick={() => void purge.act()}
            >
              Purge all
            </button>
          </>
        )}
      </div>
      {note !== undefined && <p role="status">{note}</p>}
      <ErrorNote error={letters.error ?? redrive.error ?? purge.error} />
      {data === undefined && letters.error === undefined && <Loading what="dead letters" />}
      {data !== undefined && data.items.length === 0 && (
        <p class="empty">
          None: every event this function took was handled, or is still being tried.
        </p>
      )}
      {data !== undefined && data.items.length > 0 && (
        <ul class="letters">
          {data.items.map((d) => (
            <li key={d.id}>
              <details>
                <summary>
                  <code>{d.subject}</code> · {d.attempts} attempts · failed {ago(d.failedAt)} ·{" "}
                  <span class="bad">{d.reason}</span>
                </summary>
                <pre class="body">{d.encoding === "base64" ? `(base64) ${d.data}` : d.data}</pre>
                <div class="row">
                  <button type="button" onClick={() => void redrive.act([d.id])}>
                    Redrive
                  </button>
                  <button type="button" class="danger" onClick={() => void purge.act([d.id])}>
                    Delete
                  </button>
                </div>
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
