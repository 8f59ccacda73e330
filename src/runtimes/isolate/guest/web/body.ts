// The body of a Request or Response. It stays in its cheapest form (the string, buffer or blob it
// was made from) until someone asks for `.body`; only then is a stream made. Reading it directly
// from that form skips the stream entirely, and the host gets it without any conversion.
import { Blob, blobBytes, blobFromBytes } from "./blob.js";
import { type BufferSource, bytesOf, copyBuffer, exactBuffer, isBufferSource } from "./bytes.js";
import { utf8Decode, utf8Encode } from "./encoding.js";
import { FormData } from "./form-data.js";
import { newBoundary, parseFormBody, serializeMultipart } from "./multipart.js";
import { ReadableStream, isDisturbed, readAllBytes, streamOfBytes } from "./streams.js";
import { URLSearchParams } from "./url.js";

export type BodyInit =
  string | BufferSource | Blob | FormData | URLSearchParams | ReadableStream<Uint8Array>;

type InMemory = string | ArrayBuffer | Uint8Array | Blob;

export class Body {
  #memory: InMemory | null;
  #stream: ReadableStream<Uint8Array> | null;
  #used = false;

  constructor(source: InMemory | ReadableStream<Uint8Array>) {
    if (source instanceof ReadableStream) {
      this.#memory = null;
      this.#stream = source;
    } else {
      this.#memory = source;
      this.#stream = null;
    }
  }

  /** The body as a stream (made on first use); from then on the stream is the only source. */
  get stream(): ReadableStream<Uint8Array> {
    if (this.#stream === null) {
      this.#stream = streamOfBytes(
        this.#used ? new Uint8Array(0) : memoryBytes(this.#memory ?? ""),
      );
      if (this.#used) void this.#stream.cancel();
      this.#memory = null;
    }
    return this.#stream;
  }

  get used(): boolean {
    return this.#used || (this.#stream !== null && isDisturbed(this.#stream));
  }

  async bytes(): Promise<Uint8Array> {
    const memory = this.#take();
    if (memory instanceof Blob) return new Uint8Array(copyBuffer(blobBytes(memory)));
    return memory !== null ? memoryBytes(memory) : readAllBytes(this.stream);
  }

  async text(): Promise<string> {
    const memory = this.#take();
    if (typeof memory === "string") return memory;
    return utf8Decode(memory !== null ? memoryBytes(memory) : await readAllBytes(this.stream));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const memory = this.#take();
    if (memory instanceof ArrayBuffer) return memory;
    if (memory instanceof Blob) return copyBuffer(blobBytes(memory));
    return exactBuffer(memory !== null ? memoryBytes(memory) : await readAllBytes(this.stream));
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  async blob(contentType: string | null): Promise<Blob> {
    const memory = this.#take();
    if (memory instanceof Blob && (contentType ?? "") === memory.type) return memory;
    const bytes = memory !== null ? memoryBytes(memory) : await readAllBytes(this.stream);
    return blobFromBytes(
      memory instanceof Uint8Array || memory instanceof ArrayBuffer ? bytes.slice() : bytes,
      contentType ?? "",
    );
  }

  async formData(contentType: string | null): Promise<FormData> {
    const memory = this.#take();
    return parseFormBody(
      memory !== null ? memoryBytes(memory) : await readAllBytes(this.stream),
      contentType,
    );
  }

  /** The cheapest form for the host: the in-memory value as is, or the stream. Consumes the body. */
  forHost(): string | ArrayBuffer | ReadableStream<Uint8Array> {
    if (this.#stream !== null) {
      if (this.used || this.#stream.locked) throw new TypeError("Body has already been used");
      return this.#stream;
    }
    const memory = this.#take();
    if (memory === null) return "";
    if (typeof memory === "string" || memory instanceof ArrayBuffer) return memory;
    return exactBuffer(memory instanceof Blob ? blobBytes(memory) : memory);
  }

  /** A second, independent body: in-memory bodies are shared (copied when mutable), streams teed. */
  clone(): Body {
    if (this.used) throw new TypeError("Body has already been used");
    if (this.#stream !== null) {
      const [mine, theirs] = this.#stream.tee();
      this.#stream = mine;
      return new Body(theirs);
    }
    const memory = this.#memory ?? "";
    if (typeof memory === "string" || memory instanceof Blob) return new Body(memory);
    return new Body(copyBuffer(memory));
  }

  /** Mark used and return the in-memory form, or null when the body is a stream. */
  #take(): InMemory | null {
    if (this.used) throw new TypeError("Body has already been used");
    if (this.#stream !== null && this.#stream.locked) throw new TypeError("Body stream is locked");
    this.#used = true;
    const memory = this.#memory;
    this.#memory = null;
    return memory;
  }
}

/** Turn a BodyInit into a Body and the Content-Type it implies. */
export function extractBody(init: BodyInit): { body: Body; contentType: string | null } {
  if (typeof init === "string")
    return { body: new Body(init), contentType: "text/plain;charset=UTF-8" };
  if (init instanceof ReadableStream) {
    if (init.locked || isDisturbed(init))
      throw new TypeError("The body stream is locked or already read");
    return { body: new Body(init), contentType: null };
  }
  if (init instanceof ArrayBuffer) return { body: new Body(init), contentType: null };
  if (ArrayBuffer.isView(init)) return { body: new Body(bytesOf(init)), contentType: null };
  if (init instanceof Blob)
    return { body: new Body(init), contentType: init.type === "" ? null : init.type };
  if (init instanceof URLSearchParams) {
    return {
      body: new Body(init.toString()),
      contentType: "application/x-www-form-urlencoded;charset=UTF-8",
    };
  }
  if (init instanceof FormData) {
    const boundary = newBoundary();
    return {
      body: new Body(serializeMultipart(init, boundary)),
      contentType: `multipart/form-data; boundary=${boundary}`,
    };
  }
  if (isBufferSource(init)) return { body: new Body(bytesOf(init)), contentType: null };
  // Anything else is stringified, as WebIDL's USVString conversion does.
  return { body: new Body(String(init)), contentType: "text/plain;charset=UTF-8" };
}

function memoryBytes(memory: InMemory): Uint8Array {
  if (typeof memory === "string") return utf8Encode(memory);
  if (memory instanceof ArrayBuffer) return new Uint8Array(memory);
  if (memory instanceof Blob) return blobBytes(memory);
  return memory;
}
