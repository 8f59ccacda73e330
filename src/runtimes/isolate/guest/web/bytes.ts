// Byte helpers shared by the body, blob, encoding and crypto code. They avoid copies where the
// caller only reads, and copy exactly once where the result leaves the caller's control.

export type BufferSource = ArrayBuffer | ArrayBufferView;

export function isBufferSource(value: unknown): value is BufferSource {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** A Uint8Array view over the same memory (no copy). */
export function bytesOf(source: BufferSource): Uint8Array {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (source instanceof Uint8Array) return source;
  return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
}

/** An ArrayBuffer holding exactly these bytes: the view's own buffer when it covers all of it. */
export function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  const { buffer } = bytes;
  if (
    buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === buffer.byteLength
  ) {
    return buffer;
  }
  return copyBuffer(bytes);
}

/** A fresh ArrayBuffer with a copy of the bytes. */
export function copyBuffer(source: BufferSource): ArrayBuffer {
  const bytes = bytesOf(source);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  let length = total ?? 0;
  if (total === undefined) for (const chunk of chunks) length += chunk.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** First index of `pattern` in `haystack` at or after `from`, or -1. */
export function indexOfBytes(haystack: Uint8Array, pattern: Uint8Array, from = 0): number {
  const first = pattern[0];
  if (first === undefined) return from;
  const last = haystack.length - pattern.length;
  for (
    let i = haystack.indexOf(first, from);
    i !== -1 && i <= last;
    i = haystack.indexOf(first, i + 1)
  ) {
    let j = 1;
    while (j < pattern.length && haystack[i + j] === pattern[j]) j++;
    if (j === pattern.length) return i;
  }
  return -1;
}

/** String.fromCharCode over UTF-16 code units (or Latin-1 bytes), in chunks small enough for apply(). */
export function fromCharCodes(units: Uint16Array | Uint8Array, length = units.length): string {
  const CHUNK = 8192;
  let out = "";
  for (let i = 0; i < length; i += CHUNK) {
    const end = Math.min(i + CHUNK, length);
    // apply() accepts any array-like; typing the view as number[] avoids copying it into an array.
    const slice = (i === 0 && end === units.length
      ? units
      : units.subarray(i, end)) as unknown as number[];
    out += String.fromCharCode.apply(null, slice);
  }
  return out;
}
