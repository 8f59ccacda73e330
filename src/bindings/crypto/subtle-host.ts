// The host half of crypto.subtle: one per isolate instance, over Node's WebCrypto. Keys stay
// here in a per-instance table and cross to the guest as descriptors ({ handle, type,
// extractable, algorithm, usages }); the guest refers to a key by its handle only, so it can
// reach no key but the ones it made. BufferSources arrive as copied ArrayBuffers.
import { webcrypto } from "node:crypto";

type NodeKey = webcrypto.CryptoKey;

export interface KeyDescriptor {
  handle: number;
  type: string;
  extractable: boolean;
  algorithm: Record<string, unknown>;
  usages: string[];
}

export interface SubtleHost {
  /** Run SubtleCrypto method `op` (or "release" with key handles); rejects with a named Error. */
  call(op: string, args: unknown[]): Promise<unknown>;
  /** Forget every key; later calls reject. */
  dispose(): void;
  /** Live keys in the table (for metrics and tests). */
  readonly keyCount: number;
}

export interface SubtleHostOptions {
  /** Most keys alive at once; the guest releases keys it garbage-collects. */
  maxKeys?: number;
}

/**
 * The error the guest sees. isolated-vm copies an error's `name` only for classes it does not
 * know, so the DOMException name (DataError, NotSupportedError, …) survives the crossing; the
 * stack is reduced to its first line so no host path reaches the guest.
 */
export class SubtleCryptoError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
    this.stack = `${name}: ${message}`;
  }
}

const subtle = webcrypto.subtle;
const DEFAULT_MAX_KEYS = 100_000;
const DOM_EXCEPTION_NAMES = new Set([
  "NotSupportedError",
  "SyntaxError",
  "InvalidAccessError",
  "DataError",
  "OperationError",
  "QuotaExceededError",
  "InvalidStateError",
  "NotAllowedError",
]);

export function createSubtleHost(options: SubtleHostOptions = {}): SubtleHost {
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  const keys = new Map<number, NodeKey>();
  let nextHandle = 1;
  let disposed = false;

  function keyAt(args: readonly unknown[], index: number): NodeKey {
    const ref = args[index];
    const handle = isRecord(ref) ? ref["handle"] : undefined;
    const key = typeof handle === "number" ? keys.get(handle) : undefined;
    if (key === undefined)
      throw new SubtleCryptoError(
        "InvalidAccessError",
        `argument ${index + 1} is not a live CryptoKey`,
      );
    return key;
  }

  /** Algorithm dictionaries as WebCrypto wants them: nested key handles resolved, publicExponent a Uint8Array. */
  function algorithmAt(args: readonly unknown[], index: number): webcrypto.AlgorithmIdentifier {
    const value = args[index];
    if (typeof value === "string") return value;
    if (!isRecord(value) || typeof value["name"] !== "string") {
      throw new TypeError(
        `argument ${index + 1} must be an algorithm name or an object with a name`,
      );
    }
    const algorithm: Record<string, unknown> = { ...value };
    if (isRecord(algorithm["public"])) algorithm["public"] = keyAt([algorithm["public"]], 0);
    const exponent = algorithm["publicExponent"];
    if (exponent instanceof ArrayBuffer) algorithm["publicExponent"] = new Uint8Array(exponent);
    return algorithm as unknown as webcrypto.Algorithm;
  }

  function describe(key: NodeKey): KeyDescriptor {
    if (keys.size >= maxKeys) {
      throw new SubtleCryptoError(
        "QuotaExceededError",
        `this instance holds ${maxKeys} CryptoKeys already`,
      );
    }
    const handle = nextHandle++;
    keys.set(handle, key);
    const algorithm: Record<string, unknown> = {
      ...(key.algorithm as unknown as Record<string, unknown>),
    };
    const exponent = algorithm["publicExponent"];
    if (exponent instanceof Uint8Array) algorithm["publicExponent"] = new Uint8Array(exponent);
    if (isRecord(algorithm["hash"])) algorithm["hash"] = { ...algorithm["hash"] };
    return {
      handle,
      type: key.type,
      extractable: key.extractable,
      algorithm,
      usages: [...key.usages],
    };
  }

  function keyResult(
    value: NodeKey | webcrypto.CryptoKeyPair,
  ): KeyDescriptor | { publicKey: KeyDescriptor; privateKey: KeyDescriptor } {
    if ("publicKey" in value)
      return { publicKey: describe(value.publicKey), privateKey: describe(value.privateKey) };
    return describe(value);
  }

  async function run(op: string, args: readonly unknown[]): Promise<unknown> {
    switch (op) {
      case "digest":
        return subtle.digest(algorithmAt(args, 0), bytesAt(args, 1));
      case "encrypt":
        return subtle.encrypt(algorithmAt(args, 0), keyAt(args, 1), bytesAt(args, 2));
      case "decrypt":
        return subtle.decrypt(algorithmAt(args, 0), keyAt(args, 1), bytesAt(args, 2));
      case "sign":
        return subtle.sign(algorithmAt(args, 0), keyAt(args, 1), bytesAt(args, 2));
      case "verify":
        return subtle.verify(
          algorithmAt(args, 0),
          keyAt(args, 1),
          bytesAt(args, 2),
          bytesAt(args, 3),
        );
      case "generateKey":
        return keyResult(
          await subtle.generateKey(algorithmAt(args, 0), booleanAt(args, 1), usagesAt(args, 2)),
        );
      case "importKey": {
        const format = formatAt(args, 0);
        const data = args[1];
        if (format === "jwk") {
          if (!isRecord(data)) throw new TypeError("a JWK must be an object");
          return describe(
            await subtle.importKey(
              "jwk",
              data as webcrypto.JsonWebKey,
              algorithmAt(args, 2),
              booleanAt(args, 3),
              usagesAt(args, 4),
            ),
          );
        }
        return describe(
          await subtle.importKey(
            format,
            bytesAt(args, 1),
            algorithmAt(args, 2),
            booleanAt(args, 3),
            usagesAt(args, 4),
          ),
        );
      }
      case "exportKey": {
        const format = formatAt(args, 0);
        return format === "jwk"
          ? subtle.exportKey("jwk", keyAt(args, 1))
          : subtle.exportKey(format, keyAt(args, 1));
      }
      case "deriveBits": {
        const length = args[2];
        if (length !== null && length !== undefined && typeof length !== "number")
          throw new TypeError("length must be a number");
        // Node's typings allow null only for ECDH; its implementation checks per algorithm.
        return subtle.deriveBits(
          algorithmAt(args, 0) as webcrypto.EcdhKeyDeriveParams,
          keyAt(args, 1),
          length ?? null,
        );
      }
      case "deriveKey":
        return describe(
          await subtle.deriveKey(
            algorithmAt(args, 0),
            keyAt(args, 1),
            algorithmAt(args, 2),
            booleanAt(args, 3),
            usagesAt(args, 4),
          ),
        );
      case "wrapKey":
        return subtle.wrapKey(
          formatAt(args, 0),
          keyAt(args, 1),
          keyAt(args, 2),
          algorithmAt(args, 3),
        );
      case "unwrapKey":
        return describe(
          await subtle.unwrapKey(
            formatAt(args, 0),
            bytesAt(args, 1),
            keyAt(args, 2),
            algorithmAt(args, 3),
            algorithmAt(args, 4),
            booleanAt(args, 5),
            usagesAt(args, 6),
          ),
        );
      case "release":
        for (const handle of args) if (typeof handle === "number") keys.delete(handle);
        return undefined;
      default:
        throw new SubtleCryptoError("NotSupportedError", `crypto.subtle has no operation "${op}"`);
    }
  }

  return {
    call(op, args) {
      const result = (async () => {
        if (disposed)
          throw new SubtleCryptoError(
            "InvalidStateError",
            "this isolate's crypto has been disposed",
          );
        if (!Array.isArray(args)) throw new TypeError("crypto arguments must be an array");
        return run(op, args);
      })().catch((error: unknown) => {
        throw guestError(error);
      });
      // isolated-vm attaches its handlers to a returned promise a tick late; a rejection that
      // happens before then would count as unhandled and bring Node down. Mark it handled now.
      result.catch(() => undefined);
      return result;
    },
    dispose() {
      disposed = true;
      keys.clear();
    },
    get keyCount() {
      return keys.size;
    },
  };
}

/** Node's error, renamed for the guest: TypeError/RangeError stay themselves, DOMExceptions keep their name. */
function guestError(error: unknown): Error {
  if (error instanceof SubtleCryptoError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof TypeError || error instanceof RangeError) {
    const copy = error instanceof TypeError ? new TypeError(message) : new RangeError(message);
    copy.stack = `${copy.name}: ${message}`;
    return copy;
  }
  const name =
    error instanceof Error && DOM_EXCEPTION_NAMES.has(error.name) ? error.name : "OperationError";
  return new SubtleCryptoError(name, message);
}

function bytesAt(args: readonly unknown[], index: number): ArrayBuffer | ArrayBufferView {
  const value = args[index];
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  throw new TypeError(`argument ${index + 1} must be an ArrayBuffer or an ArrayBuffer view`);
}

function booleanAt(args: readonly unknown[], index: number): boolean {
  const value = args[index];
  if (typeof value !== "boolean")
    throw new TypeError(`argument ${index + 1} (extractable) must be a boolean`);
  return value;
}

function usagesAt(args: readonly unknown[], index: number): webcrypto.KeyUsage[] {
  const value = args[index];
  if (!Array.isArray(value) || !value.every((usage) => typeof usage === "string")) {
    throw new TypeError(`argument ${index + 1} (key usages) must be an array of strings`);
  }
  return value as webcrypto.KeyUsage[];
}

function formatAt(args: readonly unknown[], index: number): "raw" | "pkcs8" | "spki" | "jwk" {
  const value = args[index];
  if (value === "raw" || value === "pkcs8" || value === "spki" || value === "jwk") return value;
  throw new TypeError(`argument ${index + 1} must be a key format: raw, pkcs8, spki or jwk`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
