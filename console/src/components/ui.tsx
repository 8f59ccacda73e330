// Small pieces every screen uses: an error that says what and how to fix it, loading, tabs.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../api.js";

export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const body =
    error instanceof ApiError
      ? error.body
      : {
          code: "ERROR",
          message:
            error instanceof Error
              ? error.message
              : typeof error === "string"
                ? error
                : JSON.stringify(error),
        };
  return (
    <div class="error" role="alert">
      <strong>{body.code}</strong> {body.message}
      {"fix" in body && body.fix !== undefined && <div class="fix">Fix: {body.fix}</div>}
    </div>
  );
}

/** Data loaded on mount and again on `reload()`; `deps` reload it when they change. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Calls `fn` every `ms` while the page is visible. */
export function useInterval(fn: () => void, ms: number) {
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") fn();
    }, ms);
    return () => clearInterval(timer);
  }, [fn, ms]);
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-busy="true">
      Loading {what}…
    </p>
  );
}

export function Tabs({
  tabs,
  current,
  href,
}: {
  tabs: Array<[string, string]>;
  current: string;
  href: (tab: string) => string;
}) {
  return (
    <nav class="tabs" aria-label="Function">
      {tabs.map(([id, label]) => (
        <a key={id} href={href(id)} aria-current={id === current ? "page" : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

/** An action button that shows it is busy and reports its failure. */
export function useAction<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const act = useCallback(
    async (...args: A) => {
      setBusy(true);
      setError(undefined);
      try {
        await run(...args);
      } catch (e) {
        setError(e);
      } finally {
        setBusy(false);
      }
    },
    [run],
  );
  return { act, busy, error };
}
