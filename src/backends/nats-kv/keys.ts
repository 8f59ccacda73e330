// Port keys are any non-empty Unicode string; NATS KV keys are [-/_=.a-zA-Z0-9] where "." splits
// subject tokens. Each character of a port key becomes one token: safe ASCII as itself, anything
// else as its UTF-8 bytes in =XX escapes ("a b/ü" → "a.=20.b./.=C3=BC"). One token per character
// makes every prefix a token boundary, so list and watch by prefix are server-side subject
// filters (`<prefix>` and `<prefix>.>`) for any prefix, not only those ending in "/".
import { LitefaasError } from "../../shared/errors.js";

const SAFE = /^[A-Za-z0-9_/-]$/;
const ESCAPED = /^(?:=[0-9A-F]{2}){1,4}$/;
/** A lone surrogate cannot be written as UTF-8, so no backend could store it faithfully. */
const LONE_SURROGATE = /\p{Cs}/u;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Longest encoded key. A publish line (subject, reply inbox, sizes) must fit the server's
 * max_control_line (4 KiB by default) with the "$KV.<bucket>." prefix in front; at most 4 encoded
 * characters per UTF-8 byte means every key up to 512 bytes fits.
 */
export const MAX_ENCODED_KEY = 3_000;

/** First token of the bucket's internal subjects: never a port key (one character per token). */
export const CHUNKS_TOKEN = "chunks";

function tokenOf(char: string): string {
  if (SAFE.test(char)) return char;
  const cp = char.codePointAt(0) ?? 0;
  const bytes =
    cp < 0x80
      ? [cp]
      : cp < 0x800
        ? [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)]
        : cp < 0x10000
          ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
          : [
              0xf0 | (cp >> 18),
              0x80 | ((cp >> 12) & 0x3f),
              0x80 | ((cp >> 6) & 0x3f),
              0x80 | (cp & 0x3f),
            ];
  return bytes.map((b) => `=${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
}

function invalid(what: string, why: string, fix: string): LitefaasError {
  return new LitefaasError("INVALID_REQUEST", `invalid kv ${what}: ${why}`, { fix });
}

function encode(text: string, what: "key" | "prefix"): string {
  if (LONE_SURROGATE.test(text)) {
    throw invalid(what, "it contains a lone UTF-16 surrogate", "use well-formed Unicode strings");
  }
  const tokens: string[] = [];
  for (const char of text) tokens.push(tokenOf(char));
  const encoded = tokens.join(".");
  if (encoded.length > MAX_ENCODED_KEY) {
    throw invalid(
      what,
      `it is too long for NATS (${encoded.length} characters encoded, at most ${MAX_ENCODED_KEY})`,
      "keep keys under 512 bytes of UTF-8",
    );
  }
  return encoded;
}

/** The NATS KV key (subject suffix) for a port key; throws for keys no backend can store. */
export function encodeKey(key: string): string {
  if (key.length === 0) throw invalid("key", "it is empty", "use a non-empty string");
  return encode(key, "key");
}

/** The encoded form of a prefix; "" for the empty prefix (the whole bucket). */
export function encodePrefix(prefix: string): string {
  return prefix === "" ? "" : encode(prefix, "prefix");
}

/**
 * The port key of a NATS key, or undefined for a subject that is not one (the bucket's chunk
 * subjects, or keys written by other tools): only the canonical encoding decodes, so the mapping
 * is one to one.
 */
export function decodeKey(encoded: string): string | undefined {
  let key = "";
  for (const token of encoded.split(".")) {
    if (token.length === 1 && SAFE.test(token)) {
      key += token;
      continue;
    }
    if (!ESCAPED.test(token)) return undefined;
    const bytes = Uint8Array.from(token.slice(1).split("="), (hex) => Number.parseInt(hex, 16));
    let char: string;
    try {
      char = strictUtf8.decode(bytes);
    } catch {
      return undefined;
    }
    // one code point per token, in its one canonical spelling
    if (Array.from(char).length !== 1 || tokenOf(char) !== token) return undefined;
    key += char;
  }
  return key === "" ? undefined : key;
}
