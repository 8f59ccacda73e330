// FormData: an ordered list of (name, string | File) entries.
import { Blob, File } from "./blob.js";
import { toDOMString } from "./webidl.js";

export type FormDataEntryValue = string | File;

export class FormData {
  readonly #entries: [string, FormDataEntryValue][] = [];

  constructor(form?: unknown) {
    if (form !== undefined)
      throw new TypeError("FormData cannot be built from a form element here");
  }

  append(name: unknown, value: unknown, filename?: unknown): void {
    this.#entries.push(entry(name, value, filename, arguments.length));
  }

  set(name: unknown, value: unknown, filename?: unknown): void {
    const item = entry(name, value, filename, arguments.length);
    const first = this.#entries.findIndex(([key]) => key === item[0]);
    if (first === -1) {
      this.#entries.push(item);
      return;
    }
    this.#entries[first] = item;
    for (let i = this.#entries.length - 1; i > first; i--) {
      if (this.#entries[i]?.[0] === item[0]) this.#entries.splice(i, 1);
    }
  }

  get(name: unknown): FormDataEntryValue | null {
    const key = String(name);
    return this.#entries.find(([k]) => k === key)?.[1] ?? null;
  }

  getAll(name: unknown): FormDataEntryValue[] {
    const key = String(name);
    return this.#entries.filter(([k]) => k === key).map(([, v]) => v);
  }

  has(name: unknown): boolean {
    const key = String(name);
    return this.#entries.some(([k]) => k === key);
  }

  delete(name: unknown): void {
    const key = String(name);
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (this.#entries[i]?.[0] === key) this.#entries.splice(i, 1);
    }
  }

  forEach(
    callback: (value: FormDataEntryValue, name: string, parent: FormData) => void,
    thisArg?: unknown,
  ): void {
    for (const [name, value] of this.#entries.slice()) callback.call(thisArg, value, name, this);
  }

  *entries(): IterableIterator<[string, FormDataEntryValue]> {
    for (const [name, value] of this.#entries.slice()) yield [name, value];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.#entries.slice()) yield name;
  }

  *values(): IterableIterator<FormDataEntryValue> {
    for (const [, value] of this.#entries.slice()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, FormDataEntryValue]> {
    return this.entries();
  }
}
Object.defineProperty(FormData.prototype, Symbol.toStringTag, {
  value: "FormData",
  configurable: true,
});

function entry(
  name: unknown,
  value: unknown,
  filename: unknown,
  argc: number,
): [string, FormDataEntryValue] {
  if (argc < 2) throw new TypeError("FormData needs a name and a value");
  if (!(value instanceof Blob)) return [String(name), String(value)];
  if (value instanceof File && filename === undefined) return [String(name), value];
  const fileName = filename === undefined ? "blob" : toDOMString(filename);
  const options =
    value instanceof File
      ? { type: value.type, lastModified: value.lastModified }
      : { type: value.type };
  return [String(name), new File([value], fileName, options)];
}
