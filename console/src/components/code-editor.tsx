// A code editor in the page: CodeMirror, loaded on first use; a plain text area until it is.
import { useEffect, useRef, useState } from "preact/hooks";
import type { EditorHandle } from "../editor.js";

export function CodeEditor({
  text,
  label,
  onChange,
  onSave,
}: {
  text: string;
  label: string;
  onChange: (text: string) => void;
  onSave: () => void;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | undefined>(undefined);
  const [ready, setReady] = useState(false);
  // the latest callbacks, without recreating the editor on every render
  const callbacks = useRef({ onChange, onSave });
  callbacks.current = { onChange, onSave };
  useEffect(() => {
    let cancelled = false;
    void import("../editor.js").then(({ createEditor }) => {
      if (cancelled || parent.current === null) return;
      editor.current = createEditor(parent.current, {
        text,
        label,
        onChange: (t) => callbacks.current.onChange(t),
        onSave: () => callbacks.current.onSave(),
      });
      setReady(true);
    });
    return () => {
      cancelled = true;
      editor.current?.destroy();
      editor.current = undefined;
    };
    // created once; later text comes through setText below
  }, []);
  useEffect(() => {
    if (editor.current !== undefined && editor.current.text() !== text)
      editor.current.setText(text);
  }, [text]);
  return (
    <div class="editor" data-ready={ready ? "true" : "false"}>
      <div ref={parent} />
      {!ready && <pre class="muted">{text}</pre>}
      <p class="hint">Tab indents; Esc then Tab moves on. Ctrl/⌘-S deploys.</p>
    </div>
  );
}
