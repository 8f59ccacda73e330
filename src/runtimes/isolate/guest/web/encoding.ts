// TextEncoder (UTF-8) and TextDecoder (UTF-8 and windows-1252/latin1), per the WHATWG Encoding
// standard: replacement or `fatal` errors, BOM handling and streaming decodes.
import { type BufferSource, bytesOf, fromCharCodes } from "./bytes.js";

export interface TextDecoderOptions {
  fatal?: boolean;
  ignoreBOM?: boolean;
}

/** UTF-8 bytes of a string; lone surrogates become U+FFFD. */
export function utf8Encode(input: string): Uint8Array {
  const out = new Uint8Array(utf8Length(input));
  encodeInto(input, out);
  return out;
}

/** Decode complete UTF-8 (no BOM stripping, replacement on errors). */
export function utf8Decode(bytes: Uint8Array): string {
  return new Utf8Decoder(false).decode(bytes, false);
}

function utf8Length(input: string): number {
  let length = input.length;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) length += 1;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(input.charCodeAt(i + 1))) {
      length += 2; // 4 bytes for 2 code units
      i++;
    } else length += 2;
  }
  return length;
}

function encodeInto(input: string, out: Uint8Array): { read: number; written: number } {
  let w = 0;
  let i = 0;
  const end = out.length;
  for (; i < input.length; i++) {
    let c = input.charCodeAt(i);
    if (c < 0x80) {
      if (w >= end) break;
      out[w++] = c;
      continue;
    }
    if (c < 0x800) {
      if (w + 2 > end) break;
      out[w++] = 0xc0 | (c >> 6);
      out[w++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = input.charCodeAt(i + 1);
      if (c <= 0xdbff && isLowSurrogate(next)) {
        if (w + 4 > end) break;
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out[w++] = 0xf0 | (cp >> 18);
        out[w++] = 0x80 | ((cp >> 12) & 0x3f);
        out[w++] = 0x80 | ((cp >> 6) & 0x3f);
        out[w++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    if (w + 3 > end) break;
    out[w++] = 0xe0 | (c >> 12);
    out[w++] = 0x80 | ((c >> 6) & 0x3f);
    out[w++] = 0x80 | (c & 0x3f);
  }
  return { read: i, written: w };
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

export class TextEncoder {
  get encoding(): string {
    return "utf-8";
  }

  encode(input: unknown = ""): Uint8Array {
    return utf8Encode(String(input));
  }

  encodeInto(source: unknown, destination: Uint8Array): { read: number; written: number } {
    return encodeInto(String(source), destination);
  }
}

const SCRATCH_LIMIT = 65536;
let scratch = new Uint16Array(0);

/** A buffer for decoded code units: shared up to 64 Ki units (decoding is synchronous), fresh above. */
function scratchUnits(length: number): Uint16Array {
  if (length > SCRATCH_LIMIT) return new Uint16Array(length);
  if (scratch.length < length) scratch = new Uint16Array(SCRATCH_LIMIT);
  return scratch;
}

/** The WHATWG UTF-8 decoder as a resumable state machine. */
class Utf8Decoder {
  #needed = 0;
  #seen = 0;
  #codePoint = 0;
  #lower = 0x80;
  #upper = 0xbf;

  constructor(readonly fatal: boolean) {}

  decode(bytes: Uint8Array, stream: boolean): string {
    // Each byte yields at most one code unit, plus two for a sequence begun in an earlier chunk
    // and one for an error at the end.
    const units = scratchUnits(bytes.length + 4);
    let n = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] ?? 0;
      if (this.#needed === 0) {
        if (byte < 0x80) units[n++] = byte;
        else if (byte >= 0xc2 && byte <= 0xdf) this.#start(1, byte & 0x1f);
        else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) this.#lower = 0xa0;
          if (byte === 0xed) this.#upper = 0x9f;
          this.#start(2, byte & 0xf);
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) this.#lower = 0x90;
          if (byte === 0xf4) this.#upper = 0x8f;
          this.#start(3, byte & 0x7);
        } else n = this.#error(units, n);
        continue;
      }
      if (byte < this.#lower || byte > this.#upper) {
        this.#reset();
        n = this.#error(units, n);
        i--; // the byte starts over as the first of a new sequence
        continue;
      }
      this.#lower = 0x80;
      this.#upper = 0xbf;
      this.#codePoint = (this.#codePoint << 6) | (byte & 0x3f);
      if (++this.#seen === this.#needed) {
        const cp = this.#codePoint;
        this.#reset();
        if (cp > 0xffff) {
          units[n++] = 0xd800 + ((cp - 0x10000) >> 10);
          units[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        } else units[n++] = cp;
      }
    }
    if (!stream && this.#needed !== 0) {
      this.#reset();
      n = this.#error(units, n);
    }
    return fromCharCodes(units, n);
  }

  #start(needed: number, bits: number): void {
    this.#needed = needed;
    this.#codePoint = bits;
  }

  #reset(): void {
    this.#needed = 0;
    this.#seen = 0;
    this.#codePoint = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }

  #error(units: Uint16Array, n: number): number {
    if (this.fatal) {
      this.#reset();
      throw new TypeError("The encoded data was not valid for encoding utf-8");
    }
    units[n] = 0xfffd;
    return n + 1;
  }
}

// windows-1252 differs from Latin-1 only in 0x80–0x9F.
const WINDOWS_1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152,
  0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122,
  0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeWindows1252(bytes: Uint8Array): string {
  const units = new Uint16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    units[i] = byte >= 0x80 && byte <= 0x9f ? (WINDOWS_1252_HIGH[byte - 0x80] ?? byte) : byte;
  }
  return fromCharCodes(units);
}

const LABELS: Readonly<Record<string, "utf-8" | "windows-1252">> = {
  "utf-8": "utf-8",
  utf8: "utf-8",
  "unicode-1-1-utf-8": "utf-8",
  unicode11utf8: "utf-8",
  unicode20utf8: "utf-8",
  "x-unicode20utf8": "utf-8",
  "windows-1252": "windows-1252",
  latin1: "windows-1252",
  "iso-8859-1": "windows-1252",
  "iso8859-1": "windows-1252",
  "iso_8859-1": "windows-1252",
  l1: "windows-1252",
  ascii: "windows-1252",
  "us-ascii": "windows-1252",
  cp1252: "windows-1252",
  "x-cp1252": "windows-1252",
};

export class TextDecoder {
  readonly #encoding: "utf-8" | "windows-1252";
  readonly #fatal: boolean;
  readonly #ignoreBOM: boolean;
  #utf8: Utf8Decoder | null = null;
  #bomChecked = false;

  constructor(label: unknown = "utf-8", options?: TextDecoderOptions) {
    const encoding = LABELS[String(label).trim().toLowerCase()];
    if (encoding === undefined)
      throw new RangeError(`The encoding label provided ('${String(label)}') is not supported`);
    this.#encoding = encoding;
    this.#fatal = Boolean(options?.fatal);
    this.#ignoreBOM = Boolean(options?.ignoreBOM);
  }

  get encoding(): string {
    return this.#encoding;
  }
  get fatal(): boolean {
    return this.#fatal;
  }
  get ignoreBOM(): boolean {
    return this.#ignoreBOM;
  }

  decode(input?: BufferSource | null, options?: { stream?: boolean }): string {
    if (
      input !== undefined &&
      input !== null &&
      !(input instanceof ArrayBuffer) &&
      !ArrayBuffer.isView(input)
    ) {
      throw new TypeError("TextDecoder.decode needs an ArrayBuffer or a view of one");
    }
    const bytes = input === undefined || input === null ? new Uint8Array(0) : bytesOf(input);
    const stream = Boolean(options?.stream);
    if (this.#encoding === "windows-1252") return decodeWindows1252(bytes);
    this.#utf8 ??= new Utf8Decoder(this.#fatal);
    let text: string;
    try {
      text = this.#utf8.decode(bytes, stream);
    } catch (error) {
      this.#endStream();
      throw error;
    }
    if (!this.#ignoreBOM && !this.#bomChecked && text.length > 0) {
      this.#bomChecked = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (!stream) this.#endStream();
    return text;
  }

  #endStream(): void {
    this.#utf8 = null;
    this.#bomChecked = false;
  }
}
