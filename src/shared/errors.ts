// The one error catalog: every error the platform returns has a stable code, an HTTP status,
// and says whose fault it is. Clients and tests match on `code`, never on message text.

export type ErrorKind = "user" | "system";

interface CatalogEntry {
  readonly status: number;
  readonly kind: ErrorKind;
  /** What happened, for the default message. */
  readonly title: string;
}

export const catalog = {
  // gateway
  ROUTE_NOT_FOUND: { status: 404, kind: "user", title: "No route matches this request" },
  FUNCTION_NOT_FOUND: { status: 404, kind: "user", title: "Function not found" },
  BODY_TOO_LARGE: { status: 413, kind: "user", title: "Request body too large" },
  SHUTTING_DOWN: { status: 503, kind: "system", title: "The platform is shutting down" },
  THROTTLED: { status: 429, kind: "user", title: "The function is at its concurrency limit" },
  RATE_LIMITED: { status: 429, kind: "user", title: "A rate limit or quota is used up" },
  AUTH_REQUIRED: { status: 401, kind: "user", title: "This route needs an API key or a token" },
  AUTH_INVALID: { status: 401, kind: "user", title: "The API key or token is not valid" },
  FORBIDDEN: { status: 403, kind: "user", title: "The caller may not call this route" },
  REQUEST_TIMEOUT: { status: 408, kind: "user", title: "The request did not arrive in time" },
  HEADERS_TOO_LARGE: {
    status: 431,
    kind: "user",
    title: "The request line and headers are too large",
  },
  GATEWAY_TIMEOUT: { status: 504, kind: "user", title: "No answer within the route's timeout" },
  // function execution
  FUNCTION_TIMEOUT: { status: 504, kind: "user", title: "The function did not respond in time" },
  FUNCTION_MEMORY_LIMIT: {
    status: 500,
    kind: "user",
    title: "The function exceeded its memory limit",
  },
  FUNCTION_ERROR: { status: 500, kind: "user", title: "The function threw an exception" },
  FUNCTION_BAD_RESPONSE: {
    status: 500,
    kind: "user",
    title: "The function returned an invalid response",
  },
  FUNCTION_INIT_FAILED: { status: 500, kind: "user", title: "The function failed to start" },
  INSTANCE_RESET: { status: 503, kind: "system", title: "The function instance was reset" },
  FUNCTION_CRASHED: {
    status: 502,
    kind: "user",
    title: "The function's process exited during the invocation",
  },
  NO_HANDLER: {
    status: 501,
    kind: "user",
    title: "The function has no handler for this kind of invocation",
  },
  // between gateways and workers
  NO_WORKERS: { status: 503, kind: "system", title: "No worker is serving invocations" },
  CLUSTER_BUSY: { status: 503, kind: "system", title: "Every worker is at its capacity" },
  WORKER_LOST: {
    status: 502,
    kind: "system",
    title: "The worker running the invocation went away",
  },
  // admin API and deploy
  UNAUTHORIZED: { status: 401, kind: "user", title: "Missing or invalid admin token" },
  NOT_FOUND: { status: 404, kind: "user", title: "Not found" },
  METHOD_NOT_ALLOWED: { status: 405, kind: "user", title: "Method not allowed" },
  INVALID_REQUEST: { status: 400, kind: "user", title: "Invalid request" },
  INVALID_MANIFEST: { status: 400, kind: "user", title: "Invalid manifest" },
  BUILD_FAILED: { status: 400, kind: "user", title: "The function could not be bundled" },
  MIGRATION_FAILED: { status: 400, kind: "user", title: "A SQL migration failed" },
  VERSION_NOT_FOUND: { status: 404, kind: "user", title: "Version not found" },
  ROUTE_CONFLICT: { status: 409, kind: "user", title: "Another project holds this route" },
  // anything else
  INTERNAL: { status: 500, kind: "system", title: "Internal error" },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof catalog;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; fix?: string; requestId?: string; details?: unknown };
}

export class LitefaasError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly kind: ErrorKind;
  /** How to fix it, when the platform knows. */
  readonly fix: string | undefined;
  readonly details: unknown;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { fix?: string; details?: unknown; cause?: unknown } = {},
  ) {
    super(
      message ?? catalog[code].title,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = "LitefaasError";
    this.code = code;
    this.status = catalog[code].status;
    this.kind = catalog[code].kind;
    this.fix = options.fix;
    this.details = options.details;
  }

  toBody(requestId?: string): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.fix !== undefined) error.fix = this.fix;
    if (requestId !== undefined) error.requestId = requestId;
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(catalog, value);
}

/** Any thrown value as a LitefaasError; unknown errors become INTERNAL without leaking details. */
export function asLitefaasError(error: unknown): LitefaasError {
  if (error instanceof LitefaasError) return error;
  return new LitefaasError("INTERNAL", undefined, { cause: error });
}
