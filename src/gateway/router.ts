// The route table every project's routes make, as the gateway asks it: which function answers
// this method, host and path, with which parameters, or why none does (405 with Allow). Built
// whole from the registry and swapped in one assignment, so a deploy's routes apply at once.
import {
  compareSpecificity,
  decodeSegment,
  describeRoute,
  parseHost,
  parsePath,
  type RouteConfig,
  type RoutePattern,
} from "../shared/routes.js";

export interface ProjectRoute extends RouteConfig {
  project: string;
}

interface CompiledRoute extends RoutePattern {
  route: ProjectRoute;
  methods: string[] | undefined;
  /** "GET /users/:id", as Lambda's routeKey and the x-litefaas-route header show it. */
  key: string;
}

export type RouteMatch =
  | {
      kind: "route";
      route: ProjectRoute;
      key: string;
      params: Record<string, string>;
      /** HEAD served by a GET route is invoked as GET; the gateway drops the body. */
      method: string;
    }
  /** Routes match the path, none the method: 405, or the answer to OPTIONS. */
  | { kind: "methods"; allow: string[] };

export class Router {
  private readonly routes: CompiledRoute[];
  private readonly limitsByFunction = new Map<string, string[]>();

  constructor(routes: ProjectRoute[]) {
    const compiled: CompiledRoute[] = [];
    for (const route of routes) {
      const segments = parsePath(route.path);
      const host = parseHost(route.host);
      // the deployer refused anything that does not parse; a stored one that does not is skipped
      if (typeof segments === "string" || typeof host === "string") continue;
      compiled.push({ route, segments, host, methods: route.methods, key: describeRoute(route) });
    }
    this.routes = compiled.sort(compareSpecificity);
    for (const route of routes) {
      if (route.rateLimits === undefined) continue;
      const key = `${route.project}/${route.function}`;
      const names = new Set([...(this.limitsByFunction.get(key) ?? []), ...route.rateLimits]);
      this.limitsByFunction.set(key, [...names]);
    }
  }

  /** Every limit a route to this function names: what its /fn/ URL is held to. */
  limitsOf(project: string, fn: string): string[] | undefined {
    return this.limitsByFunction.get(`${project}/${fn}`);
  }

  get size(): number {
    return this.routes.length;
  }

  /** `path` is the request's path, still percent-encoded, without the query. */
  match(method: string, hostHeader: string | undefined, path: string): RouteMatch | undefined {
    if (this.routes.length === 0) return undefined;
    const host = hostOf(hostHeader);
    const parts = path === "/" ? [] : path.replace(/\/$/, "").slice(1).split("/");
    let allow: Set<string> | undefined;
    let getForHead: CompiledRoute | undefined;
    for (const compiled of this.routes) {
      // HEAD is GET without the body (RFC 9110): the GET route answers it, unless one as
      // specific takes HEAD itself
      if (getForHead !== undefined && compareSpecificity(getForHead, compiled) < 0) break;
      if (!hostMatches(compiled.host, host)) continue;
      const params = matchSegments(compiled.segments, parts);
      if (params === undefined) continue;
      const methods = compiled.methods;
      if (methods === undefined || methods.includes(method)) {
        return { kind: "route", route: compiled.route, key: compiled.key, params, method };
      }
      if (method === "HEAD" && methods.includes("GET")) getForHead ??= compiled;
      allow ??= new Set();
      for (const m of methods) allow.add(m);
    }
    if (getForHead !== undefined) {
      const params = matchSegments(getForHead.segments, parts) ?? {};
      return { kind: "route", route: getForHead.route, key: getForHead.key, params, method: "GET" };
    }
    if (allow === undefined) return undefined;
    if (allow.has("GET")) allow.add("HEAD");
    allow.add("OPTIONS");
    return { kind: "methods", allow: [...allow].sort() };
  }
}

function hostOf(header: string | undefined): string {
  if (header === undefined) return "";
  const h = header.toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1); // IPv6 literal
  const colon = h.indexOf(":");
  return colon === -1 ? h : h.slice(0, colon);
}

function hostMatches(pattern: RoutePattern["host"], host: string): boolean {
  if (pattern.kind === "any") return true;
  if (pattern.kind === "exact") return host === pattern.name;
  return host.endsWith(pattern.suffix) && host.length > pattern.suffix.length;
}

/** The parameters when the path matches, percent-decoded; undefined when it does not. */
function matchSegments(
  segments: RoutePattern["segments"],
  parts: string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === undefined) break;
    if (segment.kind === "rest") {
      params[segment.name] = parts.slice(i).map(decodeSegment).join("/");
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.kind === "literal") {
      if (part !== segment.value && decodeSegment(part) !== decodeSegment(segment.value))
        return undefined;
    } else {
      params[segment.name] = decodeSegment(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}
