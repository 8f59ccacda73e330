// The function's code in an editor, deployed as a new version with the same settings.
import { useState } from "preact/hooks";
import { api, fnPath } from "../api.js";
import { CodeEditor } from "../components/code-editor.js";
import { ErrorNote, Loading, useAction, useLoad } from "../components/ui.js";
import type { TabProps } from "../pages/function-page.js";

interface Source {
  version: number;
  runtime: string;
  file: string;
  text: string | null;
  bundled: boolean;
}

export function CodeTab({ project, name, detail, reload }: TabProps) {
  const source = useLoad(
    () => api<Source>("GET", `${fnPath(project, name)}/source`),
    [detail.live],
  );
  const [text, setText] = useState<string | undefined>(undefined);
  const [deployed, setDeployed] = useState<string | undefined>(undefined);
  const current = text ?? source.data?.text ?? "";
  const deploy = useAction(async () => {
    setDeployed(undefined);
    const answer = await api<{ version: number; status: string }>(
      "PUT",
      `${fnPath(project, name)}/source`,
      { text: current, file: source.data?.bundled === false ? source.data.file : `${name}.ts` },
    );
    setDeployed(
      answer.status === "unchanged"
        ? `Unchanged: v${answer.version} is this code.`
        : `Deployed v${answer.version}; it serves now.`,
    );
    setText(undefined);
    reload();
  });
  if (source.data === undefined) {
    return source.error === undefined ? (
      <Loading what="code" />
    ) : (
      <ErrorNote error={source.error} />
    );
  }
  if (source.data.text === null) {
    return (
      <p>
        {project}/{name} runs as <strong>{source.data.runtime}</strong> from{" "}
        <code>{source.data.file}</code>. The console edits TypeScript and JavaScript functions;
        deploy this one from its project directory with <code>litefaas deploy &lt;dir&gt;</code>.
      </p>
    );
  }
  return (
    <div class="stack">
      <p class="muted">
        v{source.data.version} · <code>{source.data.file}</code>
        {source.data.bundled &&
          " · deployed from a project directory: this is the bundle esbuild made of it. Deploying from here makes a new version from this text, with the same settings."}
      </p>
      <CodeEditor
        text={current}
        label={`Code of ${project}/${name}`}
        onChange={setText}
        onSave={() => void deploy.act()}
      />
      <div class="row">
        <button type="button" onClick={() => void deploy.act()} disabled={deploy.busy}>
          {deploy.busy ? "Deploying…" : "Deploy"}
        </button>
        {text !== undefined && text !== source.data.text && <span class="muted">Edited</span>}
        {deployed !== undefined && (
          <span role="status" class="good">
            {deployed}
          </span>
        )}
      </div>
      <ErrorNote error={deploy.error} />
    </div>
  );
}
