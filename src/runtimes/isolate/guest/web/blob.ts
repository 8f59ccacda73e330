// Blob and File: immutable bytes held in memory, sliced without copying.
import { type BufferSource, bytesOf, concatBytes, copyBuffer, isBufferSource } from "./bytes.js";
import { utf8Decode, utf8Encode } from "./encoding.js";
import { type ReadableStream, streamOfBytes } from "./streams.js";
import { toDOMString, toNumber } from "./webidl.js";

export type BlobPart = string | BufferSource | Blob;

export interface BlobPropertyBag {
  type?: string;
  endings?: "transparent" | "native";
}

export interface FilePropertyBag extends BlobPropertyBag {
  lastModified?: number;
}

let bytesOfBlob: (blob: Blob) => Uint8Array;
let adoptBytes: (blob: Blob, bytes: Uint8Array) => void;

export class Blob {
  #bytes: Uint8Array;
  readonly #type: string;

  constructor(parts?: Iterable<BlobPart>, options?: BlobPropertyBag) {
    if (
      parts !== undefined &&
      (typeof parts !== "object" || parts === null || !(Symbol.iterator in parts))
    ) {
      throw new TypeError("Blob parts must be an iterable");
    }
    this.#bytes = parts === undefined ? new Uint8Array(0) : joinParts(parts);
    this.#type = normalizeType(options?.type);
  }

  get size(): number {
    return this.#bytes.byteLength;
  }

  get type(): string {
    return this.#type;
  }

  slice(start?: number, end?: number, contentType?: string): Blob {
    const size = this.#bytes.byteLength;
    const from = relativeIndex(start ?? 0, size);
    const to = relativeIndex(end ?? size, size);
    return blobFromBytes(this.#bytes.subarray(from, Math.max(from, to)), contentType ?? "");
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(copyBuffer(this.#bytes));
  }

  bytes(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(copyBuffer(this.#bytes)));
  }

  text(): Promise<string> {
    return Promise.resolve(utf8Decode(this.#bytes));
  }

  stream(): ReadableStream<Uint8Array> {
    // The stream hands out a copy: a reader may write into its chunks, the blob stays immutable.
    return streamOfBytes(new Uint8Array(copyBuffer(this.#bytes)));
  }

  [Symbol.for("nodejs.util.inspect.custom")](): Record<string, unknown> {
    return { size: this.size, type: this.#type };
  }

  static {
    bytesOfBlob = (blob) => blob.#bytes;
    adoptBytes = (blob, bytes) => {
      blob.#bytes = bytes;
    };
  }
}
Object.defineProperty(Blob.prototype, Symbol.toStringTag, { value: "Blob", configurable: true });

export class File extends Blob {
  readonly #name: string;
  readonly #lastModified: number;

  constructor(parts: Iterable<BlobPart>, name: unknown, options?: FilePropertyBag) {
    if (arguments.length < 2) throw new TypeError("File needs parts and a name");
    super(parts, options);
    this.#name = toDOMString(name);
    this.#lastModified =
      options?.lastModified === undefined ? Date.now() : toNumber(options.lastModified);
  }

  get name(): string {
    return this.#name;
  }

  get lastModified(): number {
    return this.#lastModified;
  }

  get webkitRelativePath(): string {
    return "";
  }
}
Object.defineProperty(File.prototype, Symbol.toStringTag, { value: "File", configurable: true });

/** The blob's bytes, for the platform's own readers (never handed to user code: blobs are immutable). */
export function blobBytes(blob: Blob): Uint8Array {
  return bytesOfBlob(blob);
}

/** A Blob over these bytes without copying them; the caller gives up writing to them. */
export function blobFromBytes(bytes: Uint8Array, type: string): Blob {
  const blob = new Blob(undefined, { type });
  adoptBytes(blob, bytes);
  return blob;
}

export function fileFromBytes(bytes: Uint8Array, name: string, type: string): File {
  const file = new File([], name, { type });
  adoptBytes(file, bytes);
  return file;
}

function joinParts(parts: Iterable<BlobPart>): Uint8Array {
  const chunks: Uint8Array[] = [];
  let borrowed = false; // whether a chunk is memory the caller may still write to
  for (const part of parts) {
    if (part instanceof Blob) chunks.push(bytesOfBlob(part));
    else if (isBufferSource(part)) {
      chunks.push(bytesOf(part));
      borrowed = true;
    } else chunks.push(utf8Encode(toDOMString(part)));
  }
  const only = chunks.length === 1 ? chunks[0] : undefined;
  if (only !== undefined) return borrowed ? new Uint8Array(copyBuffer(only)) : only;
  return concatBytes(chunks);
}

function normalizeType(type: string | undefined): string {
  if (type === undefined) return "";
  const value = toDOMString(type);
  // Only printable ASCII survives; the spec then lower-cases it.
  return /^[\x20-\x7e]*$/.test(value) ? value.toLowerCase() : "";
}

function relativeIndex(index: number, size: number): number {
  const n = Math.trunc(toNumber(index)) || 0;
  return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
}
