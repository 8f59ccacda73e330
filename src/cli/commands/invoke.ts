// litefaas invoke <project>/<function>: one HTTP request to the function, through the gateway.
import { readFile } from "node:fs/promises";
import { LitefaasError } from "../../shared/errors.js";
import type { AdminClient } from "../client.js";
import type { Flags } from "../main.js";
import { parseTarget, type Output } from "../output.js";

export async function invokeCommand(
  client: AdminClient,
  target: string | undefined,
  flags: Flags,
  out: Output,
): Promise<number> {
  const response = await sendToFunction(client, target, flags);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  out.result(
    { status: response.status, headers: Object.fromEntries(response.headers), body: text },
    () => text,
  );
  if (!out.json && !response.ok)
    process.stderr.write(
      `HTTP ${response.status} (request ${response.headers.get("x-request-id") ?? "?"})\n`,
    );
  return response.ok ? 0 : 1;
}

/** The HTTP request `invoke` sends, built from its flags (`extra` headers added last). */
export async function sendToFunction(
  client: AdminClient,
  target: string | undefined,
  flags: Flags,
  extra: Record<string, string> = {},
): Promise<Response> {
  const { project, name } = parseTarget(target);
  const method = (flags.method ?? (flags.data === undefined ? "GET" : "POST")).toUpperCase();
  const path = flags.path ?? "/";
  if (!path.startsWith("/")) {
    throw new LitefaasError("INVALID_REQUEST", `--path "${path}" must start with /`, {
      fix: `use --path /${path}`,
    });
  }
  const headers = new Headers();
  for (const header of flags.header ?? []) {
    const colon = header.indexOf(":");
    if (colon <= 0)
      throw new LitefaasError("INVALID_REQUEST", `--header "${header}" is not "name: value"`, {
        fix: 'e.g. --header "content-type: application/json"',
      });
    headers.append(header.slice(0, colon).trim(), header.slice(colon + 1).trim());
  }
  for (const [key, value] of Object.entries(extra)) headers.set(key, value);
  let body: Uint8Array | string | undefined;
  if (flags.data !== undefined)
    body = flags.data.startsWith("@") ? await readFile(flags.data.slice(1)) : flags.data;
  const url = `${client.url}/fn/${project}/${name}${path}`;
  try {
    return await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  } catch (error) {
    throw new LitefaasError("INTERNAL", `cannot reach ${url}: ${(error as Error).message}`, {
      fix: "is `litefaas up` running? check --url",
    });
  }
}
