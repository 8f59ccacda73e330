// atob / btoa over "binary strings" (one char per byte), with the HTML spec's forgiving decode.
import { fromCharCodes } from "./bytes.js";
import { DOMException } from "./dom-exception.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const ASCII_WHITESPACE = /[\t\n\f\r ]+/g;
const PAD = 0x3d; // "="

export function btoa(data: unknown): string {
  if (arguments.length === 0) throw new TypeError("btoa requires 1 argument");
  const input = String(data);
  // Output goes to a byte buffer first: appending to a string 4 chars at a time would build
  // millions of rope nodes for a large input.
  const out = new Uint8Array(Math.ceil(input.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < input.length; i += 3) {
    const n = (byteAt(input, i) << 16) | (byteAt(input, i + 1) << 8) | byteAt(input, i + 2);
    out[o++] = ALPHABET.charCodeAt(n >> 18);
    out[o++] = ALPHABET.charCodeAt((n >> 12) & 63);
    out[o++] = ALPHABET.charCodeAt((n >> 6) & 63);
    out[o++] = ALPHABET.charCodeAt(n & 63);
  }
  const rest = input.length - i;
  if (rest > 0) {
    const n = (byteAt(input, i) << 16) | (rest === 2 ? byteAt(input, i + 1) << 8 : 0);
    out[o++] = ALPHABET.charCodeAt(n >> 18);
    out[o++] = ALPHABET.charCodeAt((n >> 12) & 63);
    out[o++] = rest === 2 ? ALPHABET.charCodeAt((n >> 6) & 63) : PAD;
    out[o++] = PAD;
  }
  return fromCharCodes(out, o);
}

export function atob(data: unknown): string {
  if (arguments.length === 0) throw new TypeError("atob requires 1 argument");
  let input = String(data).replace(ASCII_WHITESPACE, "");
  if (input.length % 4 === 0) {
    if (input.endsWith("==")) input = input.slice(0, -2);
    else if (input.endsWith("=")) input = input.slice(0, -1);
  }
  if (input.length % 4 === 1) throw invalid();
  const out = new Uint8Array(Math.floor((input.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let written = 0;
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i);
    const value = code < 128 ? (DECODE[code] ?? -1) : -1;
    if (value < 0) throw invalid();
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[written++] = (buffer >> bits) & 0xff;
    }
  }
  return fromCharCodes(out, written);
}

function byteAt(input: string, index: number): number {
  const code = input.charCodeAt(index);
  if (code > 0xff)
    throw new DOMException(
      "The string to be encoded contains characters outside of the Latin1 range.",
      "InvalidCharacterError",
    );
  return code;
}

function invalid(): DOMException {
  return new DOMException(
    "The string to be decoded is not correctly encoded.",
    "InvalidCharacterError",
  );
}
