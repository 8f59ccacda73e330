// The admin API client the CLI uses: finds the URL and token, turns error bodies into errors.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LitefaasError, isErrorCode, type ErrorBody } from "../shared/errors.js";

export interface ClientOptions {
  url: string;
  token: string | undefined;
}

export function resolveClientOptions(
  flags: { url?: string | undefined; token?: string | undefined },
  env: NodeJS.ProcessEnv,
): ClientOptions {
  const url = (flags.url ?? env["LITEFAAS_URL"] ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  let token = flags.token ?? env["LITEFAAS_TOKEN"];
  if (token === undefined) {
    try {
      token = readFileSync(join(env["LITEFAAS_DATA"] ?? ".litefaas", "admin-token"), "utf8").trim();
    } catch {
      token = undefined;
    }
  }
  return { url, token };
}

export class AdminClient {
  constructor(private readonly options: ClientOptions) {}

  get url(): string {
    return this.options.url;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.raw(method, path, body);
    return (await response.json()) as T;
  }

  /** The response, once known to be a success; the caller reads the body (e.g. a stream). */
  async raw(method: string, path: string, body?: unknown): Promise<Response> {
    if (this.options.token === undefined) {
      throw new LitefaasError("UNAUTHORIZED", "no admin token", {
        fix: "pass --token, set LITEFAAS_TOKEN, or run in the directory where `litefaas up` keeps .litefaas/admin-token",
      });
    }
    let response: Response;
    try {
      // bytes go as they are (kv put); anything else as JSON
      const raw = body instanceof Uint8Array;
      response = await fetch(`${this.options.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(body === undefined
            ? {}
            : { "content-type": raw ? "application/octet-stream" : "application/json" }),
        },
        ...(body === undefined ? {} : { body: raw ? body : JSON.stringify(body) }),
      });
    } catch (error) {
      throw new LitefaasError(
        "INTERNAL",
        `cannot reach litefaas at ${this.options.url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
        {
          fix: "start it with `litefaas up`, or point --url / LITEFAAS_URL at a running node",
        },
      );
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }
}

export async function errorFrom(response: Response): Promise<LitefaasError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as ErrorBody;
    const code = body.error.code;
    return new LitefaasError(isErrorCode(code) ? code : "INTERNAL", body.error.message, {
      fix: body.error.fix,
      details: body.error.details,
    });
  } catch {
    return new LitefaasError("INTERNAL", `HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
}
