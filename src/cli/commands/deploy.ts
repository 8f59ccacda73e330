// litefaas deploy [dir]: bundle locally (the user's node_modules are here), upload, report.
import { resolve } from "node:path";
import { buildProject } from "../../control/build-project.js";
import type { AdminClient } from "../client.js";
import { table, type Output } from "../output.js";

interface DeployAnswer {
  project: string;
  functions: Array<{ name: string; version: number; status: string; url: string }>;
}

export async function deployCommand(
  client: AdminClient,
  dir: string,
  out: Output,
): Promise<number> {
  const request = await buildProject(resolve(dir), (event) => {
    if (event.step === "bundle")
      out.progress(`bundling ${event.name} (${event.index + 1}/${event.total})…`);
    else out.progress(`uploading ${(event.bytes / 1024).toFixed(1)} KiB…`);
  });
  const answer = await client.call<DeployAnswer>("POST", "/admin/v1/deploy", {
    manifest: request.manifest,
    file: request.file,
    bundles: request.bundles,
    migrations: request.migrations,
    sources: request.sources,
  });
  out.done();
  out.result(answer, () =>
    [
      `deployed ${answer.project}:`,
      table(answer.functions.map((f) => [`  ${f.name}`, `v${f.version}`, f.status, f.url])),
    ].join("\n"),
  );
  return 0;
}
