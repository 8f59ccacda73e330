// crypto.subtle as a thin client of the host's WebCrypto (hooks.crypto). Keys live on the host
// in a per-instance table; a CryptoKey here holds only the numeric handle and the key's public
// description. When a CryptoKey is garbage-collected, its host key is released.
import type { HostHooks } from "../host-api.js";
import { copyBuffer, isBufferSource } from "./bytes.js";
import { DOMException } from "./dom-exception.js";

export type KeyType = "secret" | "public" | "private";

/** How a key crosses from the host: its handle and the attributes CryptoKey exposes. */
export interface KeyDescriptor {
  handle: number;
  type: KeyType;
  extractable: boolean;
  algorithm: Record<string, unknown>;
  usages: string[];
}

export interface CryptoKeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

const INTERNAL = Symbol("internal");
let handleOf: (key: CryptoKey) => number;

export class CryptoKey {
  readonly #handle: number;
  readonly #type: KeyType;
  readonly #extractable: boolean;
  readonly #algorithm: Record<string, unknown>;
  readonly #usages: string[];

  constructor(token: symbol, descriptor: KeyDescriptor) {
    if (token !== INTERNAL) throw new TypeError("Illegal constructor");
    this.#handle = descriptor.handle;
    this.#type = descriptor.type;
    this.#extractable = descriptor.extractable;
    this.#algorithm = descriptor.algorithm;
    this.#usages = descriptor.usages;
  }

  get type(): KeyType {
    return this.#type;
  }
  get extractable(): boolean {
    return this.#extractable;
  }
  get algorithm(): Record<string, unknown> {
    return this.#algorithm;
  }
  get usages(): string[] {
    return this.#usages;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): Record<string, unknown> {
    return {
      type: this.#type,
      extractable: this.#extractable,
      algorithm: this.#algorithm,
      usages: this.#usages,
    };
  }

  static {
    handleOf = (key) => key.#handle;
  }
}
Object.defineProperty(CryptoKey.prototype, Symbol.toStringTag, {
  value: "CryptoKey",
  configurable: true,
});

type Call = (op: string, args: unknown[]) => Promise<unknown>;

export class SubtleCrypto {
  readonly #call: Call;
  readonly #key: (value: unknown) => CryptoKey;

  constructor(token: symbol, call: Call, key: (value: unknown) => CryptoKey) {
    if (token !== INTERNAL) throw new TypeError("Illegal constructor");
    this.#call = call;
    this.#key = key;
  }

  async digest(algorithm: unknown, data: unknown): Promise<ArrayBuffer> {
    return buffer(await this.#call("digest", [toHost(algorithm), bytesArg(data)]));
  }
  async encrypt(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    return buffer(await this.#call("encrypt", [toHost(algorithm), keyRef(key), bytesArg(data)]));
  }
  async decrypt(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    return buffer(await this.#call("decrypt", [toHost(algorithm), keyRef(key), bytesArg(data)]));
  }
  async sign(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    return buffer(await this.#call("sign", [toHost(algorithm), keyRef(key), bytesArg(data)]));
  }
  async verify(
    algorithm: unknown,
    key: CryptoKey,
    signature: unknown,
    data: unknown,
  ): Promise<boolean> {
    return (
      (await this.#call("verify", [
        toHost(algorithm),
        keyRef(key),
        bytesArg(signature),
        bytesArg(data),
      ])) === true
    );
  }
  async generateKey(
    algorithm: unknown,
    extractable: unknown,
    usages: Iterable<string>,
  ): Promise<CryptoKey | CryptoKeyPair> {
    const result = await this.#call("generateKey", [
      toHost(algorithm),
      Boolean(extractable),
      Array.from(usages, String),
    ]);
    if (isRecord(result) && "publicKey" in result) {
      return { publicKey: this.#key(result.publicKey), privateKey: this.#key(result.privateKey) };
    }
    return this.#key(result);
  }
  async importKey(
    format: unknown,
    keyData: unknown,
    algorithm: unknown,
    extractable: unknown,
    usages: Iterable<string>,
  ): Promise<CryptoKey> {
    const data = isBufferSource(keyData) ? copyBuffer(keyData) : toHost(keyData);
    return this.#key(
      await this.#call("importKey", [
        String(format),
        data,
        toHost(algorithm),
        Boolean(extractable),
        Array.from(usages, String),
      ]),
    );
  }
  async exportKey(format: unknown, key: CryptoKey): Promise<ArrayBuffer | Record<string, unknown>> {
    const result = await this.#call("exportKey", [String(format), keyRef(key)]);
    if (result instanceof ArrayBuffer || isRecord(result)) return result;
    throw new DOMException("The host returned no key data", "OperationError");
  }
  async deriveBits(
    algorithm: unknown,
    baseKey: CryptoKey,
    length?: number | null,
  ): Promise<ArrayBuffer> {
    return buffer(
      await this.#call("deriveBits", [toHost(algorithm), keyRef(baseKey), length ?? null]),
    );
  }
  async deriveKey(
    algorithm: unknown,
    baseKey: CryptoKey,
    derivedKeyType: unknown,
    extractable: unknown,
    usages: Iterable<string>,
  ): Promise<CryptoKey> {
    const args = [
      toHost(algorithm),
      keyRef(baseKey),
      toHost(derivedKeyType),
      Boolean(extractable),
      Array.from(usages, String),
    ];
    return this.#key(await this.#call("deriveKey", args));
  }
  async wrapKey(
    format: unknown,
    key: CryptoKey,
    wrappingKey: CryptoKey,
    algorithm: unknown,
  ): Promise<ArrayBuffer> {
    return buffer(
      await this.#call("wrapKey", [
        String(format),
        keyRef(key),
        keyRef(wrappingKey),
        toHost(algorithm),
      ]),
    );
  }
  async unwrapKey(
    format: unknown,
    wrappedKey: unknown,
    unwrappingKey: CryptoKey,
    unwrapAlgorithm: unknown,
    unwrappedKeyAlgorithm: unknown,
    extractable: unknown,
    usages: Iterable<string>,
  ): Promise<CryptoKey> {
    const args = [
      String(format),
      bytesArg(wrappedKey),
      keyRef(unwrappingKey),
      toHost(unwrapAlgorithm),
      toHost(unwrappedKeyAlgorithm),
      Boolean(extractable),
      Array.from(usages, String),
    ];
    return this.#key(await this.#call("unwrapKey", args));
  }
}
Object.defineProperty(SubtleCrypto.prototype, Symbol.toStringTag, {
  value: "SubtleCrypto",
  configurable: true,
});

export function createSubtleCrypto(hooks: HostHooks): SubtleCrypto {
  // Handles of collected keys, released in one host call per batch.
  let released: number[] = [];
  const release = (): void => {
    const handles = released;
    released = [];
    hooks.crypto("release", handles).then(ignore, ignore);
  };
  const registry = new FinalizationRegistry<number>((handle) => {
    if (released.push(handle) === 1) void Promise.resolve().then(release);
  });

  const call: Call = async (op, args) => {
    try {
      return await hooks.crypto(op, args);
    } catch (error) {
      throw guestError(error);
    }
  };
  const key = (value: unknown): CryptoKey => {
    if (!isDescriptor(value)) throw new DOMException("The host returned no key", "OperationError");
    const cryptoKey = new CryptoKey(INTERNAL, value);
    registry.register(cryptoKey, value.handle);
    return cryptoKey;
  };
  return new SubtleCrypto(INTERNAL, call, key);
}

/** A fresh guest-side error from the host's rejection: its name and message, never its stack. */
function guestError(error: unknown): Error {
  const name = error instanceof Error ? error.name : "OperationError";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "TypeError") return new TypeError(message);
  if (name === "RangeError") return new RangeError(message);
  return new DOMException(message, DOMException.isKnownName(name) ? name : "OperationError");
}

function keyRef(key: unknown): { handle: number } {
  if (!(key instanceof CryptoKey)) throw new TypeError("Expected a CryptoKey");
  return { handle: handleOf(key) };
}

function bytesArg(data: unknown): ArrayBuffer {
  if (!isBufferSource(data)) throw new TypeError("Expected an ArrayBuffer or an ArrayBuffer view");
  return copyBuffer(data);
}

/** Algorithm dictionaries and JWKs for the host: keys become handles, BufferSources exact copies. */
function toHost(value: unknown, depth = 0): unknown {
  if (depth > 8) throw new TypeError("Argument nests too deeply");
  if (value instanceof CryptoKey) return keyRef(value);
  if (isBufferSource(value)) return copyBuffer(value);
  if (Array.isArray(value)) return value.map((item: unknown) => toHost(item, depth + 1));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(value))
      out[name] = toHost((value as Record<string, unknown>)[name], depth + 1);
    return out;
  }
  return value;
}

function buffer(value: unknown): ArrayBuffer {
  if (value instanceof ArrayBuffer) return value;
  throw new DOMException("The host returned no data", "OperationError");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isDescriptor(value: unknown): value is KeyDescriptor {
  return (
    isRecord(value) &&
    typeof value.handle === "number" &&
    (value.type === "secret" || value.type === "public" || value.type === "private") &&
    typeof value.extractable === "boolean" &&
    isRecord(value.algorithm) &&
    Array.isArray(value.usages)
  );
}

function ignore(): void {}
