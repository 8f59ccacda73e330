// Errors of the fetch binding. Only the message crosses into the isolate, so every message
// says what happened and, where the user can do something, what to do.

export type FetchErrorCode =
  | "EGRESS_REFUSED"
  | "INVALID_REQUEST"
  | "TIMEOUT"
  | "RESPONSE_TOO_LARGE"
  | "TOO_MANY_REDIRECTS"
  | "DNS_FAILED"
  | "NETWORK_ERROR";

export class FetchError extends Error {
  override readonly name = "FetchError";
  readonly code: FetchErrorCode;

  constructor(code: FetchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A refusal by the egress policy, built so that a redirect can add where it came from. */
export class EgressRefusedError extends FetchError {
  /** The refused host as URL.host writes it ("10.0.0.5", "api.example.com:8443", "[::1]:80"). */
  readonly target: string;
  readonly why: string;
  /** The entry that would allow the request (the same URL.host form). */
  readonly allowEntry: string;
  readonly hint: string | null;

  constructor(parts: {
    target: string;
    why: string;
    allowEntry: string;
    hint?: string;
    redirectedFrom?: string;
  }) {
    const via =
      parts.redirectedFrom === undefined ? "" : ` (redirected from "${parts.redirectedFrom}")`;
    const hint = parts.hint === undefined ? "" : ` (${parts.hint})`;
    super(
      "EGRESS_REFUSED",
      `egress to "${parts.target}"${via} refused: ${parts.why}; ` +
        `add "${parts.allowEntry}" to this function's egress list in litefaas.yaml to allow it${hint}`,
    );
    this.target = parts.target;
    this.why = parts.why;
    this.allowEntry = parts.allowEntry;
    this.hint = parts.hint ?? null;
  }

  /** The same refusal, saying which URL redirected to the refused host. */
  redirectedFrom(url: string): EgressRefusedError {
    const { target, why, allowEntry } = this;
    return new EgressRefusedError({
      target,
      why,
      allowEntry,
      redirectedFrom: url,
      ...(this.hint === null ? {} : { hint: this.hint }),
    });
  }
}

/** Any thrown value as an Error (undici and Node reject with Errors, but be safe). */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** The `code` of a Node or undici error ("ECONNREFUSED", "UND_ERR_INVALID_ARG", …), if any. */
export function errorCode(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || !("code" in value)) return undefined;
  return typeof value.code === "string" ? value.code : undefined;
}
