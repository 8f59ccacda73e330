// Write a new function in the browser and deploy it: one TypeScript file, served at once at
// /fn/<project>/<name>.
import { useState } from "preact/hooks";
import { api, fnPath } from "../api.js";
import { CodeEditor } from "../components/code-editor.js";
import { ErrorNote, Field, useAction } from "../components/ui.js";
import { go, hrefOf } from "../route.js";

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

const TEMPLATE = `import type { ExportedHandler } from "litefaas";

// Answers HTTP requests at /fn/<project>/<name>/…
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    console.log("hello from", url.pathname);
    return Response.json({ hello: url.searchParams.get("name") ?? "world" });
  },
} satisfies ExportedHandler;
`;

export function NewFunction() {
  const [project, setProject] = useState("default");
  const [name, setName] = useState("");
  const [text, setText] = useState(TEMPLATE);
  const invalid =
    (project !== "" && !NAME.test(project)) || (name !== "" && !NAME.test(name))
      ? "Names are lowercase letters, digits and dashes, starting with a letter."
      : undefined;
  const deploy = useAction(async () => {
    await api("PUT", `${fnPath(project, name)}/source`, { text, file: `${name}.ts` });
    go(hrefOf(project, name, "test"));
  });
  const submit = (event?: Event) => {
    event?.preventDefault();
    if (invalid === undefined && project !== "" && name !== "") void deploy.act();
  };
  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New function</h1>
      <form class="stack" onSubmit={submit}>
        <div class="row">
          <Field label="Project">
            <input
              name="project"
              required
              pattern="[a-z][a-z0-9\-]*"
              value={project}
              onInput={(e) => setProject(e.currentTarget.value)}
            />
          </Field>
          <Field label="Name">
            <input
              name="name"
              required
              pattern="[a-z][a-z0-9\-]*"
              placeholder="hello"
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </Field>
        </div>
        {invalid !== undefined && <p class="error">{invalid}</p>}
        <CodeEditor text={text} label="Function code" onChange={setText} onSave={submit} />
        <div class="row">
          <button type="submit" disabled={deploy.busy || invalid !== undefined}>
            {deploy.busy ? "Deploying…" : "Deploy"}
          </button>
        </div>
        <ErrorNote error={deploy.error} />
      </form>
    </section>
  );
}
