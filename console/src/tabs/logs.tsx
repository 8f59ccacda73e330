// Live logs: the function's recent lines, then every new one as it is written, filtered on the
// server by level, request id and text.
import { useEffect, useRef, useState } from "preact/hooks";
import { follow, fnPath } from "../api.js";
import { clock } from "../components/format.js";
import { ErrorNote } from "../components/ui.js";
import type { TabProps } from "../pages/function-page.js";
import { hrefOf } from "../route.js";
import type { LogLine } from "../types.js";

const KEEP = 500;

export function LogsTab({ project, name, query }: TabProps) {
  const [level, setLevel] = useState("");
  const [request, setRequest] = useState(query.get("request") ?? "");
  const [text, setText] = useState("");
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<"connecting" | "live" | "ended">("connecting");
  const [error, setError] = useState<unknown>(undefined);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  useEffect(() => {
    const controller = new AbortController();
    const params = new URLSearchParams({ follow: "1", limit: "200" });
    if (level !== "") params.set("level", level);
    if (request.trim() !== "") params.set("request", request.trim());
    if (text.trim() !== "") params.set("q", text.trim());
    setLines([]);
    setError(undefined);
    setState("connecting");
    // typing settles before the stream is opened again
    const timer = setTimeout(() => {
      follow<LogLine>(
        `${fnPath(project, name)}/logs?${params}`,
        (line) => {
          setState("live");
          if (!pausedRef.current) setLines((all) => [...all, line].slice(-KEEP));
        },
        controller.signal,
      ).then(
        () => !controller.signal.aborted && setState("ended"),
        (e: unknown) => {
          if (!controller.signal.aborted) {
            setError(e);
            setState("ended");
          }
        },
      );
      setState("live");
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [project, name, level, request, text]);
  return (
    <div class="stack">
      <form class="row filters" aria-label="Filter logs" onSubmit={(e) => e.preventDefault()}>
        <label class="inline">
          Level{" "}
          <select name="level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
            <option value="">all</option>
            <option value="info">info and above</option>
            <option value="warn">warn and above</option>
            <option value="error">error</option>
          </select>
        </label>
        <label class="inline">
          Request{" "}
          <input
            name="request"
            value={request}
            placeholder="request id"
            onInput={(e) => setRequest(e.currentTarget.value)}
          />
        </label>
        <label class="inline">
          Text{" "}
          <input
            name="q"
            type="search"
            value={text}
            placeholder="contains…"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <button
          type="button"
          class="quiet"
          aria-pressed={paused}
          onClick={() => setPaused((p) => !p)}
        >
          {paused ? "Resume" : "Pause"}
        </button>
        <span class={`status ${state}`} role="status">
          {state === "live" ? (paused ? "paused" : "live") : state}
        </span>
      </form>
      <ErrorNote error={error} />
      {lines.length === 0 && state !== "connecting" && (
        <p class="empty">
          No lines yet{level !== "" || request !== "" || text !== "" ? " that match" : ""}.
        </p>
      )}
      <ol class="log" aria-live="polite" aria-relevant="additions">
        {lines.map((line, i) => (
          <li key={`${line.ts}-${i}`} class={`level-${line.level}`}>
            <span class="muted">{clock(line.ts)}</span> <span class="level">{line.level}</span>{" "}
            <a
              class="muted"
              href={`${hrefOf(project, name, "invocations")}?id=${encodeURIComponent(line.requestId)}`}
            >
              {line.requestId.slice(0, 8)}
            </a>{" "}
            {line.message}
          </li>
        ))}
      </ol>
    </div>
  );
}
