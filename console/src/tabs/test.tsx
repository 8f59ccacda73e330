// A request builder: send a request to the function as the gateway would, and see the answer.
// It runs through the admin API, so it reaches the function whatever its routes' auth.
import { useState } from "preact/hooks";
import { api, fnPath } from "../api.js";
import { ms } from "../components/format.js";
import { ErrorNote, Field, useAction } from "../components/ui.js";
import type { TabProps } from "../pages/function-page.js";
import { hrefOf } from "../route.js";
import type { InvokeResult } from "../types.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/** "name: value" per line; a line without a colon is reported rather than dropped. */
function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`header line ${index + 1} is not "name: value"`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function TestTab({ project, name }: TabProps) {
  const [method, setMethod] = useState("GET");
  const [path, setPath] = useState("/");
  const [headerText, setHeaderText] = useState("");
  const [body, setBody] = useState("");
  const [result, setResult] = useState<InvokeResult | undefined>(undefined);
  const send = useAction(async () => {
    setResult(undefined);
    const headers = parseHeaders(headerText);
    setResult(
      await api<InvokeResult>("POST", `${fnPath(project, name)}/invoke`, {
        method,
        path,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body }),
      }),
    );
  });
  const hasBody = method !== "GET" && method !== "HEAD";
  return (
    <div class="stack">
      <form
        class="stack"
        aria-label="Request"
        onSubmit={(e) => {
          e.preventDefault();
          void send.act();
        }}
      >
        <div class="row">
          <Field label="Method">
            <select name="method" value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
              {METHODS.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </Field>
          <Field label="Path">
            <input
              name="path"
              class="grow"
              value={path}
              onInput={(e) => setPath(e.currentTarget.value)}
              placeholder="/orders?limit=5"
            />
          </Field>
        </div>
        <Field label="Headers (one per line, name: value)">
          <textarea
            name="headers"
            rows={3}
            value={headerText}
            onInput={(e) => setHeaderText(e.currentTarget.value)}
            placeholder="content-type: application/json"
          />
        </Field>
        {hasBody && (
          <Field label="Body">
            <textarea
              name="body"
              rows={6}
              class="mono"
              value={body}
              onInput={(e) => setBody(e.currentTarget.value)}
            />
          </Field>
        )}
        <div class="row">
          <button type="submit" disabled={send.busy}>
            {send.busy ? "Sending…" : "Send"}
          </button>
        </div>
      </form>
      <ErrorNote error={send.error} />
      {result !== undefined && (
        <section class="response" aria-label="Response" aria-live="polite">
          <p>
            <strong class={result.status >= 500 ? "bad" : result.status >= 400 ? "warn" : "good"}>
              HTTP {result.status}
            </strong>{" "}
            in {ms(result.durationMs)} · v{result.version} ·{" "}
            <a
              href={`${hrefOf(project, name, "invocations")}?id=${encodeURIComponent(result.requestId)}`}
            >
              request {result.requestId.slice(0, 8)}
            </a>
          </p>
          <details>
            <summary>Headers</summary>
            <pre>
              {Object.entries(result.headers)
                .map(([k, v]) => `${k}: ${v}`)
                .join("\n")}
            </pre>
          </details>
          <pre class="body" data-testid="response-body">
            {result.encoding === "base64" ? `(binary, base64) ${result.body}` : result.body}
          </pre>
          {result.truncated === true && <p class="muted">The body was cut short for display.</p>}
        </section>
      )}
    </div>
  );
}
