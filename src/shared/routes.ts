// Routes as the manifest declares them: method, host and path patterns, their order of
// specificity, and when two routes are the same route (a tie: a deploy error). Shared by the
// manifest's validation, the deployer (ties across projects) and the gateway's router.

/** A route of a project, normalized. */
export interface RouteConfig {
  /** Upper-case methods; undefined: any method. */
  methods: string[] | undefined;
  /** Lower-case, exact ("api.example.com") or a wildcard ("*.example.com"); undefined: any. */
  host: string | undefined;
  /** "/users/:id", "/files/*", "/v2/*rest". */
  path: string;
  function: string;
  /** Who may call it: undefined, the project's default (auth.default); [] anyone. */
  auth?: AuthMethod[] | undefined;
  /** Scopes the caller's token or key must all carry (403 otherwise). */
  scopes?: string[];
  /** Names of the project's rate limits and quotas that apply; all must admit. */
  rateLimits?: string[];
  /** Cross-origin requests from browsers: allowed as this says; none when absent. */
  cors?: CorsConfig;
  /** How long the gateway waits for the function's answer (504 after); the function's own
   * timeout when absent. */
  timeoutMs?: number;
}

export interface CorsConfig {
  /** "*" for any origin, or origins such as "https://app.example.com" ("https://*.example.com"). */
  origins: "*" | string[];
  /** What a preflight may ask for; undefined: the route's own methods. */
  methods: string[] | undefined;
  /** Request headers allowed; undefined: whatever the preflight asks for. */
  headers: string[] | undefined;
  /** Response headers a browser script may read beyond the safelisted ones. */
  exposeHeaders: string[];
  credentials: boolean;
  maxAgeSeconds: number;
}

/** Who a limit counts apart: everyone on the route together, each caller, each client IP. */
export type LimitScope = "route" | "caller" | "ip";

/** A project's named limit: a token bucket, or a quota over a fixed window. */
export type RateLimitPolicy =
  | { kind: "rate"; key: string; name: string; rate: number; burst: number; by: LimitScope }
  | { kind: "quota"; key: string; name: string; limit: number; periodMs: number; by: LimitScope };

export type AuthMethod = "api-key" | "jwt";

/** A project's authentication: what its routes and /fn/ URLs require unless a route says. */
export interface AuthConfig {
  /** Any one of these is enough; [] lets anyone call. */
  default: AuthMethod[];
  jwt: JwtConfig | undefined;
}

export interface JwtConfig {
  /** The `iss` a token must carry. */
  issuer: string | undefined;
  /** One of these must be in `aud`. */
  audience: string[] | undefined;
  /** Keys from a JWKS URL (cached, fetched again for an unknown `kid`)… */
  jwksUrl: string | undefined;
  /** …or an HS256 secret from the platform's environment variable of this name. */
  secretEnv: string | undefined;
  algorithms: string[];
  clockSkewMs: number;
}

export const JWT_ALGORITHMS = ["HS256", "RS256", "ES256", "EdDSA"] as const;

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** First path segments the platform serves itself (or keeps for the console and metrics). */
export const RESERVED_SEGMENTS = ["fn", "admin", "invocations", "healthz", "console", "metrics"];

export type Segment =
  | { kind: "literal"; value: string }
  | { kind: "param"; name: string }
  | { kind: "rest"; name: string };

export interface RoutePattern {
  segments: Segment[];
  host: { kind: "any" } | { kind: "exact"; name: string } | { kind: "wildcard"; suffix: string };
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST_LABELS = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** What is wrong with a route's path, or its segments. */
export function parsePath(path: string): Segment[] | string {
  if (!path.startsWith("/")) return "a route path starts with /";
  if (path.includes("?") || path.includes("#")) return "a route path has no query or fragment";
  if (RESERVED_SEGMENTS.includes(path.split("/")[1] ?? ""))
    return `${RESERVED_SEGMENTS.map((s) => `/${s}`).join(", ")} are the platform's own paths`;
  // a trailing slash is not significant: /users and /users/ are one route
  const parts = path === "/" ? [] : path.replace(/\/$/, "").slice(1).split("/");
  const segments: Segment[] = [];
  const names = new Set<string>();
  for (const [i, part] of parts.entries()) {
    if (part === "") return "a route path has no empty segments (//)";
    if (part.startsWith(":") || part.startsWith("*")) {
      const rest = part.startsWith("*");
      const unnamed = part === "*";
      const name = unnamed ? "*" : part.slice(1);
      if (!unnamed && !PARAM_NAME.test(name))
        return `"${part}": a parameter is named with letters, digits and _, e.g. :id or *rest`;
      if (names.has(name)) return `parameter "${name}" appears twice`;
      names.add(name);
      if (rest && i !== parts.length - 1) return `"${part}": a wildcard comes last in the path`;
      segments.push(rest ? { kind: "rest", name } : { kind: "param", name });
    } else {
      segments.push({ kind: "literal", value: part });
    }
  }
  return segments;
}

export function parseHost(host: string | undefined): RoutePattern["host"] | string {
  if (host === undefined) return { kind: "any" };
  const h = host.toLowerCase();
  if (h.startsWith("*.")) {
    if (!HOST_LABELS.test(h.slice(2))) return `"${host}" is not a host name pattern`;
    return { kind: "wildcard", suffix: h.slice(1) };
  }
  if (!HOST_LABELS.test(h)) return `"${host}" is not a host name (no port, no scheme)`;
  return { kind: "exact", name: h };
}

/**
 * Which of two routes that both match a request wins: negative when `a` is the more specific.
 * An exact host beats a wildcard host (a longer suffix beats a shorter), which beats none; then,
 * segment by segment from the left, a literal beats a parameter beats a wildcard; then a route
 * with methods named beats one for any method.
 */
export function compareSpecificity(
  a: RoutePattern & { methods: string[] | undefined },
  b: RoutePattern & { methods: string[] | undefined },
): number {
  const byHost = hostRank(b.host) - hostRank(a.host);
  if (byHost !== 0) return byHost;
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const byKind = segmentRank(b.segments[i]) - segmentRank(a.segments[i]);
    if (byKind !== 0) return byKind;
  }
  return (a.methods === undefined ? 1 : 0) - (b.methods === undefined ? 1 : 0);
}

function hostRank(host: RoutePattern["host"]): number {
  if (host.kind === "exact") return 1_000_000;
  if (host.kind === "wildcard") return 1 + host.suffix.length;
  return 0;
}

/** A path that ended ranks above a wildcard there: /a matches /a exactly, /a/* by its rest. */
function segmentRank(segment: Segment | undefined): number {
  if (segment === undefined) return 2.5;
  return segment.kind === "literal" ? 3 : segment.kind === "param" ? 2 : 1;
}

/**
 * The requests a route answers, as a string: equal keys mean the same requests for the methods
 * both name (parameter names do not matter). Undefined for a route that does not parse.
 */
export function routeIdentity(route: Pick<RouteConfig, "host" | "path">): string | undefined {
  const segments = parsePath(route.path);
  const host = parseHost(route.host);
  if (typeof segments === "string" || typeof host === "string") return undefined;
  return identityOf({ segments, host });
}

function identityOf(pattern: RoutePattern): string {
  const host =
    pattern.host.kind === "any"
      ? ""
      : pattern.host.kind === "exact"
        ? pattern.host.name
        : `*${pattern.host.suffix}`;
  const path = pattern.segments
    .map((s) =>
      s.kind === "literal"
        ? encodeURIComponent(decodeSegment(s.value))
        : s.kind === "param"
          ? ":"
          : "*",
    )
    .join("/");
  return `${host}/${path}`;
}

/** A path segment percent-decoded; as written when its escapes are not valid. */
export function decodeSegment(raw: string): string {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function methodsOverlap(a: string[] | undefined, b: string[] | undefined): boolean {
  return a === undefined || b === undefined || a.some((m) => b.includes(m));
}

/** How a route reads in messages: "GET /users/:id", "api.example.com /v2/*". */
export function describeRoute(route: Pick<RouteConfig, "methods" | "host" | "path">): string {
  return `${route.methods === undefined ? "ANY" : route.methods.join(",")} ${route.host ?? ""}${route.path}`;
}

/** Two routes that answer the same requests; undefined when none. */
export function findTie<T extends RouteConfig>(routes: T[]): [T, T] | undefined {
  const seen = new Map<string, T[]>();
  for (const route of routes) {
    const key = routeIdentity(route);
    if (key === undefined) continue;
    const same = seen.get(key) ?? [];
    const other = same.find((r) => methodsOverlap(r.methods, route.methods));
    if (other !== undefined) return [other, route];
    same.push(route);
    seen.set(key, same);
  }
  return undefined;
}
