// The code editor (CodeMirror 6 with TypeScript highlighting), in a chunk of its own that loads
// when a screen shows code, so the first paint does not wait for it.
import { basicSetup } from "codemirror";
import { indentWithTab } from "@codemirror/commands";
import { javascript } from "@codemirror/lang-javascript";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";

export interface EditorHandle {
  text(): string;
  setText(text: string): void;
  destroy(): void;
}

export function createEditor(
  parent: HTMLElement,
  options: { text: string; label: string; onChange(text: string): void; onSave(): void },
): EditorHandle {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.text,
      extensions: [
        basicSetup,
        javascript({ typescript: true }),
        // Tab indents; Escape then Tab leaves the editor, as CodeMirror documents
        keymap.of([
          indentWithTab,
          {
            key: "Mod-s",
            preventDefault: true,
            run: () => {
              options.onSave();
              return true;
            },
          },
        ]),
        EditorView.contentAttributes.of({ "aria-label": options.label }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    text: () => view.state.doc.toString(),
    setText: (text) =>
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    destroy: () => view.destroy(),
  };
}
