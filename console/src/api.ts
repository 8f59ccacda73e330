// The admin API, as the console calls it: every request carries the token the user signed in
// with (kept in this tab's sessionStorage only, so closing the tab signs out).
const TOKEN_KEY = "litefaas.token";

export interface ApiErrorBody {
  code: string;
  message: string;
  fix?: string;
  requestId?: string;
  details?: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
}

let token = sessionStorage.getItem(TOKEN_KEY) ?? "";
const listeners = new Set<() => void>();

export const session = {
  get token(): string {
    return token;
  },
  signIn(value: string): void {
    token = value;
    sessionStorage.setItem(TOKEN_KEY, value);
    for (const l of listeners) l();
  },
  signOut(): void {
    token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    for (const l of listeners) l();
  },
  onChange(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

async function failure(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as { error?: ApiErrorBody };
    if (parsed.error !== undefined) return new ApiError(response.status, parsed.error);
  } catch {
    // not the platform's error shape: report what came back
  }
  return new ApiError(response.status, {
    code: `HTTP_${response.status}`,
    message: text.slice(0, 500) || response.statusText,
  });
}

/** A raw call; 401 signs out, since the token no longer works. */
export async function request(
  method: string,
  path: string,
  init: { body?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  const response = await fetch(`/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
  if (response.status === 401) {
    const error = await failure(response);
    session.signOut();
    throw error;
  }
  if (!response.ok) throw await failure(response);
  return response;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await request(
    method,
    path,
    body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } },
  );
  return (await response.json()) as T;
}

/** Lines of an NDJSON stream (logs, events) until `signal` aborts. */
export async function follow<T>(
  path: string,
  onItem: (item: T) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await request("GET", path, { signal });
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (reader === undefined) return;
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline = buffer.indexOf("\n");
      while (newline !== -1) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line !== "") onItem(JSON.parse(line) as T);
        newline = buffer.indexOf("\n");
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

export const fnPath = (project: string, name: string) =>
  `/functions/${encodeURIComponent(project)}/${encodeURIComponent(name)}`;

/** Checks a token before it is kept, so a wrong one leaves the sign-in form as it was. */
export async function verifyToken(candidate: string): Promise<void> {
  const response = await fetch("/admin/v1/functions", {
    headers: { authorization: `Bearer ${candidate}` },
  });
  if (!response.ok) throw await failure(response);
}
