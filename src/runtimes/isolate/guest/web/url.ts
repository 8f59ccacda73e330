// URL and URLSearchParams are core-js's WHATWG implementations (IDNA included). Its modules
// install themselves on globalThis when evaluated, so they are read back from there here;
// installWebPlatform re-defines them like the other globals.
import "core-js/modules/web.url.constructor.js";
import "core-js/modules/web.url.can-parse.js";
import "core-js/modules/web.url.parse.js";
import "core-js/modules/web.url-search-params.constructor.js";
import "core-js/modules/web.url-search-params.size.js";

export interface URL {
  href: string;
  readonly origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  readonly searchParams: URLSearchParams;
  hash: string;
  toString(): string;
  toJSON(): string;
}

export interface URLConstructor {
  new (url: string | URL, base?: string | URL): URL;
  readonly prototype: URL;
  canParse(url: string | URL, base?: string | URL): boolean;
  parse(url: string | URL, base?: string | URL): URL | null;
}

export type URLSearchParamsInit =
  string | URLSearchParams | Record<string, string> | Iterable<readonly [string, string]>;

export interface URLSearchParams extends Iterable<[string, string]> {
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string, value?: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string, value?: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  forEach(callback: (value: string, name: string, parent: URLSearchParams) => void): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  toString(): string;
}

export interface URLSearchParamsConstructor {
  new (init?: URLSearchParamsInit): URLSearchParams;
  readonly prototype: URLSearchParams;
}

const installed = globalThis as unknown as {
  URL: URLConstructor;
  URLSearchParams: URLSearchParamsConstructor;
};

export const URL: URLConstructor = installed.URL;
export const URLSearchParams: URLSearchParamsConstructor = installed.URLSearchParams;

/** core-js keeps its shared state in this global; its modules hold their own reference to it. */
export const CORE_JS_SHARED_GLOBAL = "__core-js_shared__";
