// The undici connector of the fetch binding: it resolves the host name itself, checks EVERY
// address, then opens the socket to exactly those addresses (a pinned lookup), so a DNS
// answer that changes between check and connect (rebinding) cannot reach another address.
// Connections are pooled per origin by the Agent; each new connection is checked here.
import { lookup as dnsLookup } from "node:dns/promises";
import { isIPv6, type LookupFunction, type Socket } from "node:net";
import { buildConnector } from "undici";
import { checkEgress, type EgressPolicy } from "./egress-policy.js";
import { asError, EgressRefusedError, errorCode, FetchError } from "./errors.js";
import { nonPublicRange, parseIp } from "./ip-address.js";
import { PlatformAddresses, type PlatformAddress } from "./platform-addresses.js";

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all of its addresses. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo, so /etc/hosts applies), every address in its order. */
export const systemResolver: Resolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

export interface GuardOptions {
  readonly policy: EgressPolicy;
  readonly platformAddresses: readonly PlatformAddress[];
  readonly resolve: Resolver;
  readonly connectTimeoutMs: number;
}

export function createGuardedConnector(options: GuardOptions): buildConnector.connector {
  const platform = new PlatformAddresses(options.platformAddresses, options.resolve);
  return (target, callback) => {
    checkedAddresses(options, platform, target)
      .then((addresses) => connectPinned(target, addresses, options.connectTimeoutMs))
      .then(
        (socket) => {
          callback(null, socket);
        },
        (error: unknown) => {
          callback(asError(error), null);
        },
      );
  };
}

/**
 * The same checks as the fetch binding's, for a proxy: the addresses `hostname:port` may be
 * reached at under the policy, or an EgressRefusedError / FetchError saying why not.
 */
export function createEgressCheck(
  options: Omit<GuardOptions, "connectTimeoutMs">,
): (hostname: string, port: number) => Promise<readonly ResolvedAddress[]> {
  const platform = new PlatformAddresses(options.platformAddresses, options.resolve);
  return (hostname, port) =>
    checkedAddresses({ ...options, connectTimeoutMs: 0 }, platform, {
      hostname,
      port: String(port),
      protocol: port === 443 ? "https:" : "http:",
    });
}

/** The addresses of the target host if every one of them may be reached; else throws. */
async function checkedAddresses(
  options: GuardOptions,
  platform: PlatformAddresses,
  { hostname, protocol, port }: buildConnector.Options,
): Promise<readonly ResolvedAddress[]> {
  const portNumber = port === "" ? (protocol === "https:" ? 443 : 80) : Number(port);
  // URL.host form, so the message and the suggested entry read as the user would write them.
  const target = `${isIPv6(hostname) ? `[${hostname}]` : hostname}${port === "" ? "" : `:${port}`}`;
  const decision = checkEgress(options.policy, hostname, portNumber);
  if (!decision.allowed) {
    // fetch-host checks first with a fuller message; this guards the connector on its own.
    throw new EgressRefusedError({
      target,
      why: "not in this function's egress list",
      allowEntry: target,
    });
  }
  const literal = parseIp(hostname);
  const addresses =
    literal === null
      ? await resolveName(options.resolve, hostname)
      : [{ address: hostname, family: literal.length === 4 ? 4 : 6 } as const];
  // An entry naming this exact host or IP is the user's explicit choice: it opens any address.
  if (decision.explicit) return addresses;
  for (const { address } of addresses) {
    const listen = await platform.find(address, portNumber);
    const what =
      listen === null
        ? nonPublicRange(address)
        : `this platform's own address (it listens on ${listen})`;
    if (what === null) continue;
    const why =
      literal === null ? `"${hostname}" resolves to ${address}, ${withArticle(what)}` : what;
    const hint = listen === null ? undefined : "to call another function, use env.invoke instead";
    throw new EgressRefusedError({
      target,
      why,
      allowEntry: target,
      ...(hint === undefined ? {} : { hint }),
    });
  }
  return addresses;
}

async function resolveName(
  resolve: Resolver,
  hostname: string,
): Promise<readonly ResolvedAddress[]> {
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await resolve(hostname);
  } catch (error) {
    const reason = errorCode(error) ?? asError(error).message;
    throw new FetchError("DNS_FAILED", `could not resolve "${hostname}" (${reason})`, {
      cause: error,
    });
  }
  if (addresses.length === 0) {
    throw new FetchError("DNS_FAILED", `could not resolve "${hostname}" (no addresses)`);
  }
  return addresses;
}

function withArticle(phrase: string): string {
  if (phrase.startsWith("this ")) return phrase;
  return `${/^[aeiou]/i.test(phrase) ? "an" : "a"} ${phrase}`;
}

function connectPinned(
  target: buildConnector.Options,
  addresses: readonly ResolvedAddress[],
  timeoutMs: number,
): Promise<Socket> {
  // Built per connection because the lookup is per connection; the TLS name and the Host
  // header still come from the URL, so certificates are verified against the host name.
  const connect = buildConnector({
    timeout: timeoutMs,
    autoSelectFamily: true,
    lookup: pinnedLookup(addresses),
  });
  return new Promise((resolve, reject) => {
    connect(target, (...result) => {
      if (result[0] === null) resolve(result[1]);
      else reject(result[0]);
    });
  });
}

/** A lookup that answers only with the checked addresses, never asking DNS again. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === "IPv4" ? 4 : options.family === "IPv6" ? 6 : options.family;
    const wanted =
      family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
    // A lookup must answer asynchronously, as dns.lookup does.
    process.nextTick(() => {
      const first = wanted[0];
      if (first === undefined) {
        const error: NodeJS.ErrnoException = new Error(
          `no IPv${String(family)} address for "${hostname}"`,
        );
        error.code = "ENOTFOUND";
        callback(error, []);
      } else if (options.all === true) {
        callback(
          null,
          wanted.map(({ address, family: f }) => ({ address, family: f })),
        );
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}
