// TextEncoderStream and TextDecoderStream: TransformStreams around the encoders, keeping a
// surrogate pair (or a UTF-8 sequence) that a chunk boundary splits.
import { type BufferSource, isBufferSource } from "./bytes.js";
import { TextDecoder, type TextDecoderOptions, utf8Encode } from "./encoding.js";
import { type ReadableStream, TransformStream, type WritableStream } from "./streams.js";

export class TextEncoderStream {
  readonly #transform: TransformStream<unknown, Uint8Array>;

  constructor() {
    let pending = ""; // a high surrogate waiting for its pair
    this.#transform = new TransformStream<unknown, Uint8Array>({
      transform(chunk: unknown, controller) {
        let text = pending + String(chunk);
        pending = "";
        const last = text.charCodeAt(text.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          pending = text.slice(-1);
          text = text.slice(0, -1);
        }
        if (text !== "") controller.enqueue(utf8Encode(text));
      },
      flush(controller) {
        if (pending !== "") controller.enqueue(utf8Encode("\ufffd"));
      },
    });
  }

  get encoding(): string {
    return "utf-8";
  }
  get readable(): ReadableStream<Uint8Array> {
    return this.#transform.readable;
  }
  get writable(): WritableStream<unknown> {
    return this.#transform.writable;
  }
}

export class TextDecoderStream {
  readonly #decoder: TextDecoder;
  readonly #transform: TransformStream<BufferSource, string>;

  constructor(label: unknown = "utf-8", options?: TextDecoderOptions) {
    const decoder = new TextDecoder(label, options);
    this.#decoder = decoder;
    this.#transform = new TransformStream<BufferSource, string>({
      transform(chunk, controller) {
        if (!isBufferSource(chunk))
          throw new TypeError("TextDecoderStream accepts only ArrayBuffers and their views");
        const text = decoder.decode(chunk, { stream: true });
        if (text !== "") controller.enqueue(text);
      },
      flush(controller) {
        const text = decoder.decode();
        if (text !== "") controller.enqueue(text);
      },
    });
  }

  get encoding(): string {
    return this.#decoder.encoding;
  }
  get fatal(): boolean {
    return this.#decoder.fatal;
  }
  get ignoreBOM(): boolean {
    return this.#decoder.ignoreBOM;
  }
  get readable(): ReadableStream<string> {
    return this.#transform.readable;
  }
  get writable(): WritableStream<BufferSource> {
    return this.#transform.writable;
  }
}
