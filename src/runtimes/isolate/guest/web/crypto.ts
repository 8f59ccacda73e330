// crypto: getRandomValues and randomUUID from an entropy pool that the host refills in 4 KiB
// blocks (one host call per 256 UUIDs), and crypto.subtle over the host.
import type { HostHooks } from "../host-api.js";
import { DOMException } from "./dom-exception.js";
import { SubtleCrypto, createSubtleCrypto } from "./subtle.js";

const POOL_SIZE = 4096;
const MAX_RANDOM_BYTES = 65536;

class EntropyPool {
  readonly #source: (length: number) => ArrayBuffer;
  #bytes: Uint8Array = new Uint8Array(0);
  #position = 0;

  constructor(source: (length: number) => ArrayBuffer) {
    this.#source = source;
  }

  fill(target: Uint8Array): void {
    if (target.byteLength > POOL_SIZE) {
      target.set(this.#draw(target.byteLength));
      return;
    }
    let written = 0;
    while (written < target.byteLength) {
      if (this.#position === this.#bytes.byteLength) {
        this.#bytes = this.#draw(POOL_SIZE);
        this.#position = 0;
      }
      const take = Math.min(target.byteLength - written, this.#bytes.byteLength - this.#position);
      target.set(this.#bytes.subarray(this.#position, this.#position + take), written);
      this.#position += take;
      written += take;
    }
  }

  #draw(length: number): Uint8Array {
    const bytes = new Uint8Array(this.#source(length));
    if (bytes.byteLength !== length)
      throw new Error(`the host returned ${bytes.byteLength} random bytes, not ${length}`);
    return bytes;
  }
}

let constructing = false;

export class Crypto {
  readonly #pool: EntropyPool;
  readonly #subtle: SubtleCrypto;

  constructor(pool: EntropyPool, subtle: SubtleCrypto) {
    if (!constructing) throw new TypeError("Illegal constructor");
    this.#pool = pool;
    this.#subtle = subtle;
  }

  get subtle(): SubtleCrypto {
    return this.#subtle;
  }

  getRandomValues<T extends ArrayBufferView | null>(array: T): T {
    if (!isIntegerTypedArray(array)) {
      throw new DOMException("getRandomValues needs an integer typed array", "TypeMismatchError");
    }
    if (array.byteLength > MAX_RANDOM_BYTES) {
      throw new DOMException(
        `The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (${MAX_RANDOM_BYTES})`,
        "QuotaExceededError",
      );
    }
    this.#pool.fill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    return array;
  }

  randomUUID(): `${string}-${string}-${string}-${string}-${string}` {
    const b = new Uint8Array(16);
    this.#pool.fill(b);
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x40; // version 4
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80; // variant 10
    const h = Array.from(b, (byte) => HEX[byte] ?? "00");
    return `${h[0]}${h[1]}${h[2]}${h[3]}-${h[4]}${h[5]}-${h[6]}${h[7]}-${h[8]}${h[9]}-${h[10]}${h[11]}${h[12]}${h[13]}${h[14]}${h[15]}` as `${string}-${string}-${string}-${string}-${string}`;
  }
}
Object.defineProperty(Crypto.prototype, Symbol.toStringTag, {
  value: "Crypto",
  configurable: true,
});

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function isIntegerTypedArray(value: unknown): value is ArrayBufferView {
  return (
    value instanceof Int8Array ||
    value instanceof Uint8Array ||
    value instanceof Uint8ClampedArray ||
    value instanceof Int16Array ||
    value instanceof Uint16Array ||
    value instanceof Int32Array ||
    value instanceof Uint32Array ||
    value instanceof BigInt64Array ||
    value instanceof BigUint64Array
  );
}

/** The `crypto` global; its methods also work when called unbound. */
export function createCrypto(hooks: HostHooks): Crypto {
  const pool = new EntropyPool((length) => hooks.randomBytes(length));
  constructing = true;
  let crypto: Crypto;
  try {
    crypto = new Crypto(pool, createSubtleCrypto(hooks));
  } finally {
    constructing = false;
  }
  const bound = crypto;
  Object.defineProperties(crypto, {
    getRandomValues: {
      value: <T extends ArrayBufferView | null>(array: T): T =>
        Crypto.prototype.getRandomValues.call(bound, array) as T,
      writable: true,
      configurable: true,
    },
    randomUUID: {
      value: () => Crypto.prototype.randomUUID.call(bound),
      writable: true,
      configurable: true,
    },
  });
  return crypto;
}
