// Headers per the Fetch standard: case-insensitive names, values combined with ", " except
// Set-Cookie (kept apart for getSetCookie()), iteration sorted by name. A Headers built from a
// host's flat list parses it only when first used.
import type { FlatHeaders } from "../host-api.js";

export type HeadersInit = Headers | Iterable<Iterable<string>> | Record<string, string>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[\0\r\n]/;
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

let fromFlat: (flat: FlatHeaders, immutable: boolean) => Headers;
let toFlat: (headers: Headers) => FlatHeaders;
let freeze: (headers: Headers) => void;

export class Headers {
  /** Lower-case name → combined value; Set-Cookie lives in #cookies only. */
  #map = new Map<string, string>();
  #cookies: string[] = [];
  /** The host's list, not yet folded into #map. */
  #raw: FlatHeaders | null = null;
  #immutable = false;
  #sorted: [string, string][] | null = null;

  constructor(init?: HeadersInit) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      init.#materialize();
      this.#map = new Map(init.#map);
      this.#cookies = init.#cookies.slice();
    } else if (typeof init !== "object") {
      throw new TypeError("Headers init must be an object or an iterable of pairs");
    } else if (Symbol.iterator in init) {
      for (const pair of init) {
        const [name, value, ...rest] = Array.from(pair);
        if (name === undefined || value === undefined || rest.length > 0) {
          throw new TypeError("Each header pair must be [name, value]");
        }
        this.append(name, value);
      }
    } else {
      for (const name of Object.keys(init)) this.append(name, String(init[name]));
    }
  }

  append(name: unknown, value: unknown): void {
    this.#writable();
    this.#add(checkName(name), checkValue(value));
  }

  set(name: unknown, value: unknown): void {
    this.#writable();
    const key = checkName(name);
    const normalized = checkValue(value);
    if (key === "set-cookie") this.#cookies = [normalized];
    else this.#map.set(key, normalized);
    this.#sorted = null;
  }

  delete(name: unknown): void {
    this.#writable();
    const key = checkName(name);
    if (key === "set-cookie") this.#cookies = [];
    else this.#map.delete(key);
    this.#sorted = null;
  }

  get(name: unknown): string | null {
    this.#materialize();
    const key = checkName(name);
    if (key === "set-cookie") return this.#cookies.length === 0 ? null : this.#cookies.join(", ");
    return this.#map.get(key) ?? null;
  }

  has(name: unknown): boolean {
    this.#materialize();
    const key = checkName(name);
    return key === "set-cookie" ? this.#cookies.length > 0 : this.#map.has(key);
  }

  getSetCookie(): string[] {
    this.#materialize();
    return this.#cookies.slice();
  }

  forEach(
    callback: (value: string, name: string, parent: Headers) => void,
    thisArg?: unknown,
  ): void {
    for (const [name, value] of this.#sortedList()) callback.call(thisArg, value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    for (const [name, value] of this.#sortedList()) yield [name, value];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.#sortedList()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.#sortedList()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): Record<string, string> {
    return Object.fromEntries(this.#sortedList());
  }

  #add(key: string, value: string): void {
    if (key === "set-cookie") this.#cookies.push(value);
    else {
      const existing = this.#map.get(key);
      this.#map.set(key, existing === undefined ? value : `${existing}, ${value}`);
    }
    this.#sorted = null;
  }

  #materialize(): void {
    const raw = this.#raw;
    if (raw === null) return;
    this.#raw = null;
    // The host's names and values are already valid HTTP (Node parsed them).
    for (let i = 0; i + 1 < raw.length; i += 2)
      this.#add((raw[i] ?? "").toLowerCase(), raw[i + 1] ?? "");
  }

  #writable(): void {
    if (this.#immutable) throw new TypeError("Can't modify immutable headers");
    this.#materialize();
  }

  #sortedList(): [string, string][] {
    this.#materialize();
    if (this.#sorted !== null) return this.#sorted;
    const list: [string, string][] = Array.from(this.#map);
    for (const cookie of this.#cookies) list.push(["set-cookie", cookie]);
    // Stable sort: the Set-Cookie entries keep their order.
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#sorted = list;
    return list;
  }

  static {
    fromFlat = (flat, immutable) => {
      const headers = new Headers();
      headers.#raw = flat;
      headers.#immutable = immutable;
      return headers;
    };
    toFlat = (headers) => {
      if (headers.#raw !== null) return headers.#raw;
      const flat: FlatHeaders = [];
      for (const [name, value] of headers.#map) flat.push(name, value);
      for (const cookie of headers.#cookies) flat.push("set-cookie", cookie);
      return flat;
    };
    freeze = (headers) => {
      headers.#immutable = true;
    };
  }
}
Object.defineProperty(Headers.prototype, Symbol.toStringTag, {
  value: "Headers",
  configurable: true,
});

/** Headers over a host's flat list, parsed on first use. */
export function headersFromFlat(flat: FlatHeaders, immutable: boolean): Headers {
  return fromFlat(flat, immutable);
}

/** The flat list for the host: every Set-Cookie separate; unparsed host lists pass through. */
export function flattenHeaders(headers: Headers): FlatHeaders {
  return toFlat(headers);
}

/** Make headers read-only (the guard of an incoming request's or a fetch response's headers). */
export function freezeHeaders(headers: Headers): void {
  freeze(headers);
}

function checkName(name: unknown): string {
  const value = String(name);
  if (!TOKEN.test(value)) throw new TypeError(`Invalid header name: "${value}"`);
  return value.toLowerCase();
}

function checkValue(value: unknown): string {
  const normalized = String(value).replace(HTTP_WHITESPACE, "");
  if (INVALID_VALUE.test(normalized)) throw new TypeError(`Invalid header value: "${normalized}"`);
  return normalized;
}
