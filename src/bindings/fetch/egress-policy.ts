// A function's egress list (the `egress:` key of its manifest entry): parsing with errors a
// user can act on, and the host/port check. Address checks (loopback, private, …) happen
// after DNS, in guarded-connector.ts; this file only decides which names and ports are listed.
import { isIPv4, isIPv6 } from "node:net";
import { domainToASCII } from "node:url";
import { ipKey, parseIp } from "./ip-address.js";

/** What the host part of an entry matches. */
export type EgressHostPattern =
  /** `*`: any host whose addresses are all public. */
  | { readonly kind: "any-public" }
  /** `*.example.com`: subdomains of `example.com` at any depth, not `example.com` itself. */
  | { readonly kind: "subdomains"; readonly domain: string }
  /** `api.example.com`: exactly this name (lower case, ASCII, no trailing dot). */
  | { readonly kind: "hostname"; readonly name: string }
  /** `10.0.0.5`, `[::1]`: exactly this address (canonical key, see ipKey). */
  | { readonly kind: "ip"; readonly key: string };

export interface EgressRule {
  /** The entry as written in the manifest (trimmed). */
  readonly entry: string;
  readonly host: EgressHostPattern;
  /** The only port allowed, or null when the entry has no port (any port). */
  readonly port: number | null;
}

/** A parsed egress list. The empty policy refuses every request. */
export interface EgressPolicy {
  readonly rules: readonly EgressRule[];
}

/** One malformed entry: what is wrong, why, and how to fix it. */
export interface EgressEntryError {
  /** Position in the list, so a manifest validator can report `egress[index]`. */
  readonly index: number;
  readonly entry: string;
  readonly problem: string;
  readonly fix: string;
  /** `egress[2] "http://x.com": <problem>; <fix>` */
  readonly message: string;
}

export type EgressParseResult =
  | { readonly ok: true; readonly policy: EgressPolicy }
  | { readonly ok: false; readonly errors: readonly EgressEntryError[] };

export const DENY_ALL: EgressPolicy = { rules: [] };

/** Parses an `egress:` list. Takes unknown items because the list comes from YAML. */
export function parseEgressList(entries: readonly unknown[]): EgressParseResult {
  const rules: EgressRule[] = [];
  const errors: EgressEntryError[] = [];
  entries.forEach((item, index) => {
    const entry = typeof item === "string" ? item.trim() : String(item);
    const parsed =
      typeof item === "string"
        ? parseEntry(entry)
        : {
            problem: `an entry must be a string, not ${typeof item}`,
            fix: `quote it, e.g. "api.example.com"`,
          };
    if ("host" in parsed) {
      rules.push({ entry, ...parsed });
    } else {
      const message = `egress[${index}] "${entry}": ${parsed.problem}; ${parsed.fix}`;
      errors.push({ index, entry, problem: parsed.problem, fix: parsed.fix, message });
    }
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policy: { rules } };
}

type Problem = { problem: string; fix: string };
type ParsedEntry = { host: EgressHostPattern; port: number | null } | Problem;

const EXAMPLE = `e.g. "api.example.com", "*.example.com", "api.example.com:8443", "10.0.0.5" or "[::1]:8080"`;

function parseEntry(entry: string): ParsedEntry {
  if (entry === "")
    return { problem: "the entry is empty", fix: `remove it or write a host, ${EXAMPLE}` };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
    const host = safeUrl(entry)?.host ?? "";
    const example = host === "" ? "api.example.com" : host;
    return {
      problem: "an entry is a host, not a URL",
      fix: `write only the host and port, e.g. "${example}"`,
    };
  }
  if (/[/?#@\s]/.test(entry)) {
    return {
      problem:
        "an entry is a host with an optional port; paths, queries, user names and spaces are not allowed",
      fix: `write only the host, ${EXAMPLE}`,
    };
  }
  const split = splitHostPort(entry);
  if ("problem" in split) return split;
  const port = split.portText === null ? null : parsePort(split.portText);
  if (port !== null && typeof port !== "number") return port;
  const host = parseHost(split.host, split.bracketed);
  return "problem" in host ? host : { host, port };
}

function safeUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function splitHostPort(
  entry: string,
): { host: string; portText: string | null; bracketed: boolean } | Problem {
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close === -1)
      return {
        problem: 'the IPv6 address has no closing "]"',
        fix: `write it as "[::1]" or "[::1]:8080"`,
      };
    const rest = entry.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) {
      return {
        problem: `unexpected "${rest}" after the IPv6 address`,
        fix: `write "[address]" or "[address]:port", e.g. "[::1]:8080"`,
      };
    }
    return {
      host: entry.slice(1, close),
      portText: rest === "" ? null : rest.slice(1),
      bracketed: true,
    };
  }
  const colons = entry.split(":").length - 1;
  if (colons > 1) {
    const fix = isIPv6(entry)
      ? `write "[${entry}]", or "[${entry}]:8080" to allow only port 8080`
      : `write an IPv6 address in brackets, e.g. "[::1]:8080"`;
    return {
      problem: "an IPv6 address must be written in brackets (a bare one is ambiguous with a port)",
      fix,
    };
  }
  const colon = entry.indexOf(":");
  if (colon === -1) return { host: entry, portText: null, bracketed: false };
  return { host: entry.slice(0, colon), portText: entry.slice(colon + 1), bracketed: false };
}

function parsePort(text: string): number | Problem {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (port >= 1 && port <= 65535) return port;
  return {
    problem: text === "" ? 'the port after ":" is missing' : `"${text}" is not a port`,
    fix: `write a port from 1 to 65535, e.g. "api.example.com:8443", or leave the port out to allow any port`,
  };
}

function parseHost(host: string, bracketed: boolean): EgressHostPattern | Problem {
  if (bracketed) {
    const bytes = isIPv6(host) ? parseIp(host) : null;
    if (bytes === null)
      return {
        problem: `"${host}" is not an IPv6 address`,
        fix: `write an IPv6 address in brackets, e.g. "[::1]"`,
      };
    return { kind: "ip", key: ipKey(bytes) };
  }
  if (host === "")
    return { problem: "the host before the port is missing", fix: `write a host, ${EXAMPLE}` };
  if (host === "*") return { kind: "any-public" };
  const v4 = isIPv4(host) ? parseIp(host) : null;
  if (v4 !== null) return { kind: "ip", key: ipKey(v4) };
  const wildcard = host.startsWith("*.");
  const name = wildcard ? host.slice(2) : host;
  if (wildcard && name === "") {
    return {
      problem: "the wildcard has no domain after it",
      fix: `write "*.example.com" for every subdomain of example.com`,
    };
  }
  if (name.includes("*")) {
    return {
      problem: "a wildcard may only be the whole first label",
      fix: `write "*.example.com" for every subdomain of example.com, or "*" for any public host`,
    };
  }
  const checked = normalizeHostname(name);
  if (typeof checked !== "string") return checked;
  return wildcard ? { kind: "subdomains", domain: checked } : { kind: "hostname", name: checked };
}

/** Lower case, punycode (IDN), no trailing dot; or why the name is not a valid host name. */
function normalizeHostname(name: string): string | Problem {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  const lastLabel = bare.slice(bare.lastIndexOf(".") + 1);
  if (/^(\d+|0x[0-9a-f]*)$/i.test(lastLabel)) {
    return {
      problem: `"${name}" looks like an IPv4 address but is not one`,
      fix: `write four numbers from 0 to 255, e.g. "10.0.0.5"`,
    };
  }
  const ascii = domainToASCII(bare);
  const labels = ascii.split(".");
  const valid =
    ascii !== "" &&
    ascii.length <= 253 &&
    labels.every((label) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label));
  if (valid) return ascii;
  return {
    problem: `"${name}" is not a valid host name (labels of letters, digits and "-", separated by single dots, none starting or ending with "-")`,
    fix: `write a host, ${EXAMPLE}`,
  };
}

/** Why a request is not listed, for the refusal message. */
export type EgressRefusalReason =
  | { readonly kind: "empty-list" }
  | { readonly kind: "host-not-listed" }
  | { readonly kind: "port-not-listed"; readonly listedPorts: readonly number[] };

export type EgressDecision =
  /** explicit: an exact hostname or IP entry matched, which also opens non-public addresses. */
  | { readonly allowed: true; readonly explicit: boolean }
  | { readonly allowed: false; readonly reason: EgressRefusalReason };

/**
 * Checks a URL host (as URL.hostname gives it: lower case, punycode, IPv6 in brackets)
 * and port against the policy. Says nothing about the addresses the name resolves to.
 */
export function checkEgress(policy: EgressPolicy, hostname: string, port: number): EgressDecision {
  if (policy.rules.length === 0) return { allowed: false, reason: { kind: "empty-list" } };
  const bytes = parseIp(hostname);
  const key = bytes === null ? null : ipKey(bytes);
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  let allowed = false;
  let explicit = false;
  const listedPorts: number[] = [];
  for (const rule of policy.rules) {
    if (!hostMatches(rule.host, name, key)) continue;
    if (rule.port !== null && rule.port !== port) {
      listedPorts.push(rule.port);
      continue;
    }
    allowed = true;
    if (rule.host.kind === "hostname" || rule.host.kind === "ip") explicit = true;
  }
  if (allowed) return { allowed: true, explicit };
  if (listedPorts.length > 0)
    return { allowed: false, reason: { kind: "port-not-listed", listedPorts } };
  return { allowed: false, reason: { kind: "host-not-listed" } };
}

function hostMatches(pattern: EgressHostPattern, name: string, key: string | null): boolean {
  switch (pattern.kind) {
    case "any-public":
      return true;
    case "subdomains":
      return key === null && name.endsWith(`.${pattern.domain}`);
    case "hostname":
      return key === null && name === pattern.name;
    case "ip":
      return key === pattern.key;
  }
}
