// structuredClone for the serializable types of the HTML spec: primitives, plain objects and
// arrays (prototypes are not kept), Date, RegExp, Map, Set, ArrayBuffer, typed arrays, DataView,
// boxed primitives, errors and Blob/File, with shared and circular references preserved.
// Transferred ArrayBuffers are copied, not detached (a bare V8 here cannot detach one).
import { Blob, File, blobBytes, blobFromBytes, fileFromBytes } from "./blob.js";
import { DOMException } from "./dom-exception.js";

type TypedArrayConstructor = new (
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
) => ArrayBufferView;

const ERROR_TYPES: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/** Prototypes of platform objects that are not serializable (Request, Headers, streams, …). */
const uncloneable = new Set<object>();

export function markUncloneable(...constructors: { prototype: object }[]): void {
  for (const constructor of constructors) uncloneable.add(constructor.prototype);
}

export function structuredClone<T>(value: T, options?: { transfer?: readonly unknown[] }): T {
  if (arguments.length === 0) throw new TypeError("structuredClone requires 1 argument");
  for (const item of options?.transfer ?? []) {
    if (!(item instanceof ArrayBuffer))
      throw new DOMException("Only ArrayBuffers can be transferred", "DataCloneError");
  }
  return cloneValue(value, new Map()) as T;
}

function cloneValue(value: unknown, memory: Map<object, unknown>): unknown {
  if (typeof value === "symbol") throw notCloneable("Symbol");
  if (typeof value === "function") throw notCloneable(`function ${value.name || "(anonymous)"}`);
  if (typeof value !== "object" || value === null) return value;
  const seen = memory.get(value);
  if (seen !== undefined) return seen;
  const copy = cloneObject(value, memory);
  return copy;
}

function cloneObject(value: object, memory: Map<object, unknown>): unknown {
  const remember = <T>(copy: T): T => {
    memory.set(value, copy);
    return copy;
  };
  if (Array.isArray(value)) {
    const copy = remember(new Array<unknown>(value.length));
    copyProperties(value, copy, memory);
    return copy;
  }
  if (value instanceof Date) return remember(new Date(value.getTime()));
  if (value instanceof RegExp) return remember(new RegExp(value.source, value.flags));
  if (value instanceof ArrayBuffer) return remember(value.slice(0));
  if (ArrayBuffer.isView(value)) {
    const buffer = cloneValue(value.buffer, memory) as ArrayBuffer;
    if (value instanceof DataView)
      return remember(new DataView(buffer, value.byteOffset, value.byteLength));
    const Typed = value.constructor as TypedArrayConstructor;
    const length = (value as unknown as { length: number }).length;
    return remember(new Typed(buffer, value.byteOffset, length));
  }
  if (value instanceof Map) {
    const copy = remember(new Map<unknown, unknown>());
    for (const [k, v] of value) copy.set(cloneValue(k, memory), cloneValue(v, memory));
    return copy;
  }
  if (value instanceof Set) {
    const copy = remember(new Set<unknown>());
    for (const v of value) copy.add(cloneValue(v, memory));
    return copy;
  }
  if (value instanceof DOMException) return remember(new DOMException(value.message, value.name));
  if (value instanceof Error) return remember(cloneError(value, memory));
  if (value instanceof Number || value instanceof String || value instanceof Boolean) {
    return remember(Object(value.valueOf()) as object);
  }
  if (value instanceof BigInt) return remember(Object(value.valueOf()) as object);
  if (value instanceof File)
    return remember(fileFromBytes(blobBytes(value), value.name, value.type));
  if (value instanceof Blob) return remember(blobFromBytes(blobBytes(value), value.type));
  if (
    value instanceof Promise ||
    value instanceof WeakMap ||
    value instanceof WeakSet ||
    value instanceof WeakRef ||
    value instanceof Symbol ||
    isPlatformObject(value)
  ) {
    throw notCloneable(Object.prototype.toString.call(value).slice(8, -1));
  }
  const copy: Record<string, unknown> = remember({});
  copyProperties(value, copy, memory);
  return copy;
}

function copyProperties(
  source: object,
  target: Record<string, unknown> | unknown[],
  memory: Map<object, unknown>,
): void {
  for (const key of Object.keys(source)) {
    (target as Record<string, unknown>)[key] = cloneValue(
      (source as Record<string, unknown>)[key],
      memory,
    );
  }
}

function cloneError(error: Error, memory: Map<object, unknown>): Error {
  const name = error.name;
  const Constructor = ERROR_TYPES[name] ?? Error;
  const copy = new Constructor(error.message);
  if (typeof error.stack === "string") copy.stack = error.stack;
  if ("cause" in error) copy.cause = cloneValue(error.cause, memory);
  return copy;
}

function isPlatformObject(value: object): boolean {
  for (
    let proto: unknown = Object.getPrototypeOf(value);
    proto !== null && typeof proto === "object";
    proto = Object.getPrototypeOf(proto)
  ) {
    if (uncloneable.has(proto)) return true;
  }
  return false;
}

function notCloneable(what: string): DOMException {
  return new DOMException(`${what} could not be cloned.`, "DataCloneError");
}
