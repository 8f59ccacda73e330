// Sign in with the admin token: the same one the CLI uses (LITEFAAS_TOKEN, or the file
// `litefaas up` wrote, <data>/admin-token).
import { useState } from "preact/hooks";
import { session, verifyToken } from "../api.js";
import { ErrorNote } from "../components/ui.js";

export function Login() {
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await verifyToken(value.trim());
      session.signIn(value.trim());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <h1>litefaas</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <p class="hint">
          The token <code>litefaas up</code> wrote to <code>&lt;data&gt;/admin-token</code>, or your{" "}
          <code>LITEFAAS_TOKEN</code>.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <ErrorNote error={error} />
      </form>
    </main>
  );
}
