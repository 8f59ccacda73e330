// IP address parsing and the ranges a function may not reach unless its egress list names
// the address. Works on bytes so that every textual form (compressed IPv6, IPv4-mapped,
// IPv4-compatible, NAT64, 6to4) is classified by what it actually reaches.
import { isIPv4, isIPv6 } from "node:net";

/** Parses an IPv4 or IPv6 literal (brackets and a zone id allowed) into 4 or 16 bytes. */
export function parseIp(text: string): Uint8Array | null {
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = s.indexOf("%");
  if (zone !== -1) s = s.slice(0, zone);
  if (isIPv4(s)) return parseIPv4(s);
  if (isIPv6(s)) return parseIPv6(s);
  return null;
}

function parseIPv4(s: string): Uint8Array {
  return Uint8Array.from(s.split("."), Number);
}

function parseIPv6(input: string): Uint8Array {
  let s = input;
  if (s.includes(".")) {
    // A trailing dotted quad ("::ffff:1.2.3.4") becomes two hex groups.
    const cut = s.lastIndexOf(":") + 1;
    const [a = 0, b = 0, c = 0, d = 0] = parseIPv4(s.slice(cut));
    s = `${s.slice(0, cut)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = s.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  const groups = [...headGroups, ...zeros, ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** A canonical text form, equal for equal addresses (IPv6 uncompressed, lower case). */
export function ipKey(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(":");
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches, else the input. */
export function unmapIPv4(bytes: Uint8Array): Uint8Array {
  return bytes.length === 16 && hasPrefix(bytes, MAPPED, 96) ? bytes.slice(12) : bytes;
}

type Range = readonly [prefix: Uint8Array, bits: number, label: string];

function range(address: string, bits: number, label: string): Range {
  const bytes = parseIp(address);
  if (bytes === null) throw new Error(`bad range literal ${address}`);
  return [bytes, bits, label];
}

// Most specific first: the first match names the range in refusal messages.
const IPV4_RANGES: readonly Range[] = [
  range("0.0.0.0", 32, "unspecified address"),
  range("0.0.0.0", 8, '"this network" address (0.0.0.0/8)'),
  range("10.0.0.0", 8, "private address"),
  range("100.64.0.0", 10, "carrier-grade NAT address (100.64.0.0/10)"),
  range("127.0.0.0", 8, "loopback address"),
  range("169.254.169.254", 32, "cloud metadata address"),
  range("169.254.0.0", 16, "link-local address"),
  range("172.16.0.0", 12, "private address"),
  // Includes 192.0.0.192, Oracle Cloud's metadata service.
  range("192.0.0.0", 24, "IETF protocol assignment address (192.0.0.0/24)"),
  range("192.168.0.0", 16, "private address"),
  range("198.18.0.0", 15, "benchmarking address (198.18.0.0/15)"),
  range("224.0.0.0", 4, "multicast address"),
  range("255.255.255.255", 32, "broadcast address"),
  range("240.0.0.0", 4, "reserved address (240.0.0.0/4)"),
];

const IPV6_RANGES: readonly Range[] = [
  range("::", 128, "unspecified address"),
  range("::1", 128, "loopback address"),
  range("fd00:ec2::254", 128, "cloud metadata address"),
  range("64:ff9b:1::", 48, "private address (local-use NAT64)"),
  range("100::", 64, "discard-only address (100::/64)"),
  range("fc00::", 7, "private address (unique local)"),
  range("fe80::", 10, "link-local address"),
  range("fec0::", 10, "site-local address"),
  range("ff00::", 8, "multicast address"),
];

const MAPPED = parseIPv6("::ffff:0:0");
// IPv6 forms that carry an IPv4 address and reach it: [prefix, bits, offset of the IPv4 bytes].
const EMBEDDED_IPV4: ReadonlyArray<readonly [Uint8Array, number, number, string]> = [
  [MAPPED, 96, 12, "IPv4-mapped"],
  [parseIPv6("::"), 96, 12, "IPv4-compatible"],
  [parseIPv6("64:ff9b::"), 96, 12, "NAT64"],
  [parseIPv6("2002::"), 16, 2, "6to4"],
];

function hasPrefix(bytes: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const keep = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - keep)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

function firstMatch(bytes: Uint8Array, ranges: readonly Range[]): string | null {
  for (const [prefix, bits, label] of ranges) if (hasPrefix(bytes, prefix, bits)) return label;
  return null;
}

/**
 * Names the non-public range an address is in ("loopback address", "private address", …),
 * or returns null for a public address. Throws nothing: a non-IP input is "not an IP address".
 */
export function nonPublicRange(address: string): string | null {
  const bytes = parseIp(address);
  if (bytes === null) return "not an IP address";
  if (bytes.length === 4) return firstMatch(bytes, IPV4_RANGES);
  const own = firstMatch(bytes, IPV6_RANGES);
  if (own !== null) return own;
  for (const [prefix, bits, offset, form] of EMBEDDED_IPV4) {
    if (!hasPrefix(bytes, prefix, bits)) continue;
    const inner = firstMatch(bytes.slice(offset, offset + 4), IPV4_RANGES);
    return inner === null ? null : `${inner} (${form})`;
  }
  return null;
}
