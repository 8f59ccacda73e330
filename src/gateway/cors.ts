// CORS for routes that allow it (Fetch standard): the gateway answers preflights itself, before
// authentication (browsers send no credentials on them), and adds the Access-Control headers
// to every answer of an allowed origin, its own refusals included, so a page can read them.
import type { CorsConfig } from "../shared/routes.js";

/** The Access-Control-Allow-Origin value for `origin`, or undefined when it is not allowed. */
function allowOrigin(cors: CorsConfig, origin: string): string | undefined {
  if (cors.origins === "*") return cors.credentials ? origin : "*";
  const o = origin.toLowerCase();
  for (const allowed of cors.origins) {
    if (allowed === o) return origin;
    // https://*.example.com: any subdomain, same scheme, not the domain itself
    const star = allowed.indexOf("://*.");
    if (star === -1) continue;
    const scheme = allowed.slice(0, star + 3);
    const suffix = allowed.slice(star + 4);
    if (o.startsWith(scheme) && o.endsWith(suffix) && o.length > scheme.length + suffix.length)
      return origin;
  }
  return undefined;
}

/** Headers for a response to a request from `origin` (flat: name, value, …); [] when not allowed. */
export function corsHeaders(cors: CorsConfig | undefined, origin: string | undefined): string[] {
  if (cors === undefined || origin === undefined) return [];
  const allowed = allowOrigin(cors, origin);
  if (allowed === undefined) return [];
  const out = ["access-control-allow-origin", allowed];
  if (allowed !== "*") out.push("vary", "Origin");
  if (cors.credentials) out.push("access-control-allow-credentials", "true");
  if (cors.exposeHeaders.length > 0)
    out.push("access-control-expose-headers", cors.exposeHeaders.join(", "));
  return out;
}

/**
 * The answer to a preflight for a route: its headers when the origin, method and headers asked
 * for are allowed; undefined otherwise (the browser then refuses the request itself).
 */
export function preflightHeaders(
  cors: CorsConfig,
  routeMethods: string[] | undefined,
  origin: string,
  method: string,
  requestHeaders: string | undefined,
): Record<string, string> | undefined {
  const allowed = allowOrigin(cors, origin);
  if (allowed === undefined) return undefined;
  const methods = cors.methods ?? routeMethods;
  if (methods !== undefined && !methods.includes(method)) return undefined;
  const asked = (requestHeaders ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  if (cors.headers !== undefined && asked.some((h) => !cors.headers?.includes(h))) return undefined;
  const headers: Record<string, string> = {
    "access-control-allow-origin": allowed,
    "access-control-allow-methods": (methods ?? [method]).join(", "),
    "access-control-max-age": String(cors.maxAgeSeconds),
    vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
  };
  if (asked.length > 0) headers["access-control-allow-headers"] = asked.join(", ");
  if (cors.credentials) headers["access-control-allow-credentials"] = "true";
  return headers;
}
