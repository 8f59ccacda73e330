// The client's address: the socket's peer, or, when the peer is a proxy the operator trusts
// (--trusted-proxies), the nearest address in X-Forwarded-For that is not one. A client that
// is not behind a trusted proxy cannot choose its address by sending the header.
import { BlockList, isIP } from "node:net";
import type { IncomingMessage } from "node:http";

export class ClientAddress {
  private readonly trusted: BlockList | undefined;

  /** `proxies`: addresses and CIDR ranges, IPv4 or IPv6. Throws naming one that is neither. */
  constructor(proxies: string[]) {
    if (proxies.length === 0) return;
    const list = new BlockList();
    for (const entry of proxies) {
      const [address = "", bits] = entry.split("/");
      const family = isIP(address);
      if (family === 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
        throw new Error(`"${entry}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, ::1)`);
      }
      const type = family === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) list.addAddress(address, type);
      else list.addSubnet(address, Number(bits), type);
    }
    this.trusted = list;
  }

  of(req: IncomingMessage): string {
    const peer = plain(req.socket.remoteAddress ?? "");
    if (this.trusted === undefined || !this.isTrusted(peer)) return peer;
    const forwarded = req.headers["x-forwarded-for"];
    if (typeof forwarded !== "string") return peer;
    const hops = forwarded
      .split(",")
      .map((hop) => plain(hop.trim()))
      .filter((hop) => isIP(hop) !== 0);
    // the rightmost hop was added by the trusted proxy; walk left past other trusted ones
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] ?? "";
      if (!this.isTrusted(hop)) return hop;
    }
    return hops[0] ?? peer;
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted?.check(address, family === 6 ? "ipv6" : "ipv4") === true;
  }
}

/** "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) as "10.0.0.1". */
function plain(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
