// The platform's own listening addresses (gateway, admin API, …). A function must not reach
// them through a public-looking name or a wildcard entry: that would bypass the gateway's
// authentication and rate limits from inside the platform.
import { networkInterfaces } from "node:os";
import { ipKey, parseIp, unmapIPv4 } from "./ip-address.js";

export interface PlatformAddress {
  readonly host: string;
  readonly port: number;
}

export interface AddressResolver {
  (hostname: string): Promise<ReadonlyArray<{ readonly address: string }>>;
}

const ANY_INTERFACE = new Set(["", "0.0.0.0", "::", "[::]"]);

export class PlatformAddresses {
  /** `${ipKey}|${port}` → the listen address as configured (for messages). */
  private readonly exact = new Map<string, string>();
  /** Ports the platform listens on on every interface (0.0.0.0 / ::). */
  private readonly anyInterface = new Map<number, string>();
  private readonly named: readonly PlatformAddress[];
  private namedKeys: Promise<Map<string, string>> | null = null;
  // Interfaces are read once: a platform bound to 0.0.0.0 is reachable on each of them.
  private readonly interfaceKeys: ReadonlySet<string>;

  constructor(
    list: readonly PlatformAddress[],
    private readonly resolve: AddressResolver,
  ) {
    const named: PlatformAddress[] = [];
    for (const entry of list) {
      const label = `${entry.host.includes(":") && !entry.host.startsWith("[") ? `[${entry.host}]` : entry.host}:${entry.port}`;
      const bytes = parseIp(entry.host);
      if (ANY_INTERFACE.has(entry.host)) this.anyInterface.set(entry.port, label);
      else if (bytes !== null) this.exact.set(`${ipKey(unmapIPv4(bytes))}|${entry.port}`, label);
      else named.push(entry);
    }
    this.named = named;
    this.interfaceKeys = this.anyInterface.size === 0 ? new Set() : localInterfaceKeys();
  }

  /** The platform listen address that `address`:`port` reaches, or null. */
  async find(address: string, port: number): Promise<string | null> {
    const bytes = parseIp(address);
    if (bytes === null) return null;
    const key = ipKey(unmapIPv4(bytes));
    const exact = this.exact.get(`${key}|${port}`);
    if (exact !== undefined) return exact;
    const anyInterface = this.anyInterface.get(port);
    if (anyInterface !== undefined && this.interfaceKeys.has(key)) return anyInterface;
    if (this.named.length === 0) return null;
    return (await this.resolveNamed()).get(`${key}|${port}`) ?? null;
  }

  /** Listen addresses given as names ("localhost", "node1.internal") are resolved once. */
  private resolveNamed(): Promise<Map<string, string>> {
    this.namedKeys ??= Promise.all(
      this.named.map(async ({ host, port }) => {
        // A name that does not resolve cannot be reached through it either.
        const found = await this.resolve(host).catch(() => []);
        return found.flatMap(({ address }) => {
          const bytes = parseIp(address);
          return bytes === null
            ? []
            : [[`${ipKey(unmapIPv4(bytes))}|${port}`, `${host}:${port}`] as const];
        });
      }),
    ).then((pairs) => new Map(pairs.flat()));
    return this.namedKeys;
  }
}

function localInterfaceKeys(): Set<string> {
  const keys = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const { address } of list ?? []) {
      const bytes = parseIp(address);
      if (bytes !== null) keys.add(ipKey(unmapIPv4(bytes)));
    }
  }
  return keys;
}
