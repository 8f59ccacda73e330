// A small util.inspect: values rendered the way Node's console shows them (depth 2 by default,
// circular references marked, long collections broken over lines), without colors or options.

export interface InspectOptions {
  depth?: number;
}

interface State {
  readonly depth: number;
  readonly stack: object[];
  readonly circular: Map<object, number>;
}

const CUSTOM = Symbol.for("nodejs.util.inspect.custom");
const BREAK_LENGTH = 80;
const MAX_ITEMS = 100;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function inspect(value: unknown, options?: InspectOptions): string {
  return formatValue({ depth: options?.depth ?? 2, stack: [], circular: new Map() }, value, 0);
}

function formatValue(state: State, value: unknown, level: number): string {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "function":
      return functionLabel(value);
    case "undefined":
    case "boolean":
      return String(value);
    default:
      break;
  }
  if (value === null) return "null";
  const object = value as object;
  if (state.stack.includes(object)) {
    let index = state.circular.get(object);
    if (index === undefined) {
      index = state.circular.size + 1;
      state.circular.set(object, index);
    }
    return `[Circular *${index}]`;
  }
  const custom = (object as { [CUSTOM]?: unknown })[CUSTOM];
  if (typeof custom === "function") {
    const result: unknown = custom.call(
      object,
      state.depth - level,
      { depth: state.depth },
      inspect,
    );
    if (typeof result === "string") return result;
    if (result !== object) {
      // A custom inspector returning a plain object (as the platform classes do) keeps the class name.
      const plain =
        typeof result === "object" &&
        result !== null &&
        Object.getPrototypeOf(result) === Object.prototype;
      const rendered = formatValue(state, result, level);
      return plain ? `${constructorName(object)} ${rendered}` : rendered;
    }
  }
  state.stack.push(object);
  let out: string;
  try {
    out = formatObject(state, object, level);
  } finally {
    state.stack.pop();
  }
  const ref = state.circular.get(object);
  return ref === undefined ? out : `<ref *${ref}> ${out}`;
}

function formatObject(state: State, object: object, level: number): string {
  const name = constructorName(object);
  if (object instanceof Date)
    return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
  if (object instanceof RegExp) return String(object);
  if (object instanceof Error) return formatError(state, object, level);
  if (object instanceof Promise) return "Promise {}";
  if (object instanceof WeakMap || object instanceof WeakSet) return `${name} { <items unknown> }`;
  for (const Box of [Number, String, Boolean] as const) {
    if (object instanceof Box)
      return `[${Box.name}: ${formatValue(state, object.valueOf(), level + 1)}]`;
  }
  const tooDeep = level > state.depth;
  if (Array.isArray(object)) {
    if (tooDeep) return "[Array]";
    return wrap(
      name === "Array" ? "" : `${name}(${object.length}) `,
      "[",
      "]",
      arrayItems(state, object, level),
      level,
    );
  }
  if (ArrayBuffer.isView(object) && !(object instanceof DataView)) {
    if (tooDeep) return `[${name}]`;
    const items = Array.from(object as unknown as ArrayLike<number | bigint>)
      .slice(0, MAX_ITEMS)
      .map((v) => formatValue(state, v, level + 1));
    const length = (object as unknown as ArrayLike<unknown>).length;
    if (length > MAX_ITEMS) items.push(`... ${length - MAX_ITEMS} more items`);
    return wrap(`${name}(${length}) `, "[", "]", items, level);
  }
  if (object instanceof ArrayBuffer) {
    const bytes = Array.from(new Uint8Array(object, 0, Math.min(object.byteLength, 50)), (b) =>
      b.toString(16).padStart(2, "0"),
    );
    const more = object.byteLength > 50 ? ` ... ${object.byteLength - 50} more bytes` : "";
    return `ArrayBuffer { [Uint8Contents]: <${bytes.join(" ")}${more}>, byteLength: ${object.byteLength} }`;
  }
  if (object instanceof Map) {
    if (tooDeep) return `[${name}]`;
    const items = Array.from(
      object,
      ([k, v]) => `${formatValue(state, k, level + 1)} => ${formatValue(state, v, level + 1)}`,
    );
    return wrap(`${name}(${object.size}) `, "{", "}", items, level);
  }
  if (object instanceof Set) {
    if (tooDeep) return `[${name}]`;
    return wrap(
      `${name}(${object.size}) `,
      "{",
      "}",
      Array.from(object, (v) => formatValue(state, v, level + 1)),
      level,
    );
  }
  const prefix = name === "Object" ? "" : name === "" ? "[Object: null prototype] " : `${name} `;
  if (tooDeep) return `[${name || "Object"}]`;
  return wrap(prefix, "{", "}", propertyItems(state, object, level, null), level);
}

function arrayItems(state: State, array: unknown[], level: number): string[] {
  const items: string[] = [];
  let holes = 0;
  const flushHoles = (): void => {
    if (holes > 0) items.push(`<${holes} empty item${holes === 1 ? "" : "s"}>`);
    holes = 0;
  };
  const shown = Math.min(array.length, MAX_ITEMS);
  for (let i = 0; i < shown; i++) {
    if (!Object.prototype.hasOwnProperty.call(array, i)) {
      holes++;
      continue;
    }
    flushHoles();
    items.push(formatValue(state, array[i], level + 1));
  }
  flushHoles();
  if (array.length > MAX_ITEMS) items.push(`... ${array.length - MAX_ITEMS} more items`);
  return items.concat(propertyItems(state, array, level, (key) => !/^(0|[1-9]\d*)$/.test(key)));
}

function propertyItems(
  state: State,
  object: object,
  level: number,
  filter: ((key: string) => boolean) | null,
): string[] {
  const items: string[] = [];
  const keys: (string | symbol)[] = Object.keys(object);
  for (const symbol of Object.getOwnPropertySymbols(object)) {
    if (Object.prototype.propertyIsEnumerable.call(object, symbol)) keys.push(symbol);
  }
  for (const key of keys) {
    if (typeof key === "string" && filter !== null && !filter(key)) continue;
    const label =
      typeof key === "symbol" ? `[${key.toString()}]` : IDENTIFIER.test(key) ? key : quote(key);
    const descriptor = Object.getOwnPropertyDescriptor(object, key);
    if (descriptor === undefined) continue;
    if (descriptor.get !== undefined || descriptor.set !== undefined) {
      const kind =
        descriptor.get !== undefined
          ? descriptor.set !== undefined
            ? "Getter/Setter"
            : "Getter"
          : "Setter";
      items.push(`${label}: [${kind}]`);
    } else items.push(`${label}: ${formatValue(state, descriptor.value, level + 1)}`);
  }
  return items;
}

function formatError(state: State, error: Error, level: number): string {
  const head =
    typeof error.stack === "string" && error.stack !== ""
      ? error.stack
      : Error.prototype.toString.call(error);
  const extra = propertyItems(state, error, level, (key) => key !== "stack" && key !== "message");
  if ("cause" in error && !Object.prototype.propertyIsEnumerable.call(error, "cause")) {
    extra.push(`[cause]: ${formatValue(state, error.cause, level + 1)}`);
  }
  return extra.length === 0 ? head : `${head} ${wrap("", "{", "}", extra, level)}`;
}

function wrap(prefix: string, open: string, close: string, items: string[], level: number): string {
  if (items.length === 0) return `${prefix}${open}${close}`;
  const length = items.reduce((sum, item) => sum + item.length + 2, prefix.length + 4);
  if (length + level * 2 <= BREAK_LENGTH && !items.some((item) => item.includes("\n"))) {
    return `${prefix}${open} ${items.join(", ")} ${close}`;
  }
  return `${prefix}${open}\n${items.map((item) => `  ${item.replace(/\n/g, "\n  ")}`).join(",\n")}\n${close}`;
}

function quote(text: string): string {
  const q = !text.includes("'") ? "'" : !text.includes('"') ? '"' : !text.includes("`") ? "`" : "'";
  const escaped = text
    .replace(/[\\\n\r\t\b\f\v\0]/g, (c) => ESCAPES[c] ?? c)
    .replace(new RegExp(q, "g"), `\\${q}`);
  return `${q}${escaped}${q}`;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
  "\v": "\\v",
  "\0": "\\0",
};

function functionLabel(fn: unknown): string {
  const source = Function.prototype.toString.call(fn);
  const name = (fn as { name?: unknown }).name;
  const label = typeof name === "string" && name !== "" ? name : "";
  if (source.startsWith("class")) return label === "" ? "[class (anonymous)]" : `[class ${label}]`;
  const kind = source.startsWith("async")
    ? /^async\s*(function\s*)?\*/.test(source)
      ? "AsyncGeneratorFunction"
      : "AsyncFunction"
    : /^function\s*\*/.test(source)
      ? "GeneratorFunction"
      : "Function";
  return label === "" ? `[${kind} (anonymous)]` : `[${kind}: ${label}]`;
}

function constructorName(object: object): string {
  let proto: unknown = Object.getPrototypeOf(object);
  while (proto !== null && typeof proto === "object") {
    const ctor = Object.getOwnPropertyDescriptor(proto, "constructor")?.value as unknown;
    if (typeof ctor === "function" && typeof ctor.name === "string" && ctor.name !== "")
      return ctor.name;
    proto = Object.getPrototypeOf(proto);
  }
  return "";
}
