// The guest Web platform, exercised inside a real isolate: the test bundles a test-only guest
// entry (and an unmodified hono app) with esbuild, gives the isolate host hooks as isolated-vm
// References, and asserts what user code observes.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { createSubtleHost, type SubtleHost } from "../../../src/bindings/crypto/subtle-host.js";
import { ivm } from "../../../src/runtimes/isolate/ivm.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const fixtures = join(root, "test/runtimes/isolate/fixtures");

type Isolate = InstanceType<typeof ivm.Isolate>;
type Context = Awaited<ReturnType<Isolate["createContext"]>>;
type LogLine = [level: string, requestId: string, message: string];
interface FetchCall {
  requestId: string;
  method: string;
  url: string;
  headers: string[];
  body: string | null;
}

/** Bundle a guest entry exactly as scripts/build.js bundles the bootstrap. */
async function bundle(entry: string, outDir: string): Promise<string> {
  const outfile = join(outDir, entry.replace(/\.ts$/, ".js"));
  await build({
    entryPoints: [join(fixtures, entry)],
    bundle: true,
    minify: true,
    format: "iife",
    platform: "neutral",
    mainFields: ["module", "main"],
    target: "es2022",
    outfile,
    legalComments: "none",
    logLevel: "warning",
  });
  return readFile(outfile, "utf8");
}

/** A host promise handed to isolated-vm must not reject "unhandled" before isolated-vm attaches to it. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class Harness {
  readonly logs: LogLine[] = [];
  readonly fetches: FetchCall[] = [];
  readonly subtle: SubtleHost = createSubtleHost();
  readonly isolate: Isolate = new ivm.Isolate({ memoryLimit: 128 });
  #context: Context | null = null;

  async start(scripts: string[]): Promise<void> {
    const context = await this.isolate.createContext();
    this.#context = context;
    const [platform, ...rest] = scripts;
    assert.ok(platform !== undefined);
    await (await this.isolate.compileScript(platform)).run(context);
    const setup = await context.global.get("__setup", { reference: true });
    await setup.apply(undefined, [
      new ivm.Reference((level: string, requestId: string, message: string) => {
        this.logs.push([level, requestId, message]);
      }),
      new ivm.Reference((ms: number) => delay(ms)),
      new ivm.Reference((...args: [string, string, string, string[], ArrayBuffer | null]) =>
        handled(this.#fetch(...args)),
      ),
      new ivm.Reference((op: string, args: unknown[]) => this.subtle.call(op, args)),
      new ivm.Reference((length: number) => {
        const bytes = randomBytes(length);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + length);
      }),
      new ivm.Reference(() => Promise.resolve()),
    ]);
    for (const script of rest) await (await this.isolate.compileScript(script)).run(context);
  }

  /** Run the body of an async function inside the isolate; its result is copied out. */
  async run<T>(body: string): Promise<T> {
    assert.ok(this.#context !== null);
    return (await this.#context.eval(`(async () => {\n${body}\n})()`, {
      promise: true,
      copy: true,
      timeout: 5000,
    })) as T;
  }

  /** Log lines arrive through applyIgnored, a little after the call that made them. */
  async logsMatching(pattern: RegExp, count = 1): Promise<LogLine[]> {
    for (let i = 0; i < 100; i++) {
      const found = this.logs.filter(([, , message]) => pattern.test(message));
      if (found.length >= count) return found;
      await delay(5);
    }
    assert.fail(`no log line matching ${String(pattern)}; got ${JSON.stringify(this.logs)}`);
  }

  async #fetch(
    requestId: string,
    method: string,
    url: string,
    headers: string[],
    body: ArrayBuffer | null,
  ) {
    const text = body === null ? null : Buffer.from(body).toString("utf8");
    this.fetches.push({ requestId, method, url, headers, body: text });
    if (url.includes("denied"))
      throw new Error(`egress denied: ${new URL(url).hostname} is not in the allow list`);
    if (url.includes("slow")) await delay(200);
    const payload = Buffer.from(JSON.stringify({ method, url, body: text }));
    const finalUrl = url.includes("redirect") ? "https://final.example/landed" : url;
    const result: [number, string, string[], ArrayBuffer, string] = [
      201,
      "Created",
      ["Content-Type", "application/json", "Set-Cookie", "a=1", "Set-Cookie", "b=2"],
      payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength),
      finalUrl,
    ];
    return result;
  }

  dispose(): void {
    this.subtle.dispose();
    this.isolate.dispose();
  }
}

let outDir = "";
let platformBundle = "";
let honoBundle = "";
const harness = new Harness();

before(async () => {
  outDir = await mkdtemp(join(tmpdir(), "litefaas-web-"));
  platformBundle = await bundle("web-entry.ts", outDir);
  honoBundle = await bundle("hono-app.ts", outDir);
  await harness.start([platformBundle, honoBundle]);
});

after(async () => {
  harness.dispose();
  await rm(outDir, { recursive: true, force: true });
});

void describe("bundle and globals", () => {
  void test("the platform bundle stays small", (t) => {
    const size = Buffer.byteLength(platformBundle);
    const gzipped = gzipSync(platformBundle).byteLength;
    t.diagnostic(`web platform bundle: ${size} bytes minified, ${gzipped} bytes gzipped`);
    assert.ok(size < 180_000, `bundle is ${size} bytes`);
    assert.ok(gzipped < 60_000, `gzipped bundle is ${gzipped} bytes`);
  });

  void test("defines the Web globals, non-enumerable, and nothing Node-specific", async () => {
    const names = [
      "Headers",
      "Request",
      "Response",
      "Blob",
      "File",
      "FormData",
      "AbortController",
      "AbortSignal",
      "Event",
      "EventTarget",
      "DOMException",
      "atob",
      "btoa",
      "structuredClone",
      "setTimeout",
      "clearTimeout",
      "setInterval",
      "clearInterval",
      "queueMicrotask",
      "console",
      "crypto",
      "CryptoKey",
      "fetch",
      "URL",
      "URLSearchParams",
      "TextEncoder",
      "TextDecoder",
      "ReadableStream",
      "WritableStream",
      "TransformStream",
      "ByteLengthQueuingStrategy",
      "CountQueuingStrategy",
      "TextEncoderStream",
      "TextDecoderStream",
      "navigator",
      "performance",
      "self",
    ];
    const result = await harness.run<{
      missing: string[];
      enumerable: string[];
      node: string[];
      self: boolean;
      ua: string;
      perf: boolean;
    }>(`
      const names = ${JSON.stringify(names)};
      return {
        missing: names.filter((n) => typeof globalThis[n] === "undefined"),
        enumerable: Object.keys(globalThis).filter((k) => names.includes(k) || k.startsWith("__core")),
        node: ["require", "process", "Buffer", "global", "__core-js_shared__"].filter((n) => n in globalThis),
        self: self === globalThis,
        ua: navigator.userAgent,
        perf: typeof performance.now() === "number" && performance.now() >= 0,
      };
    `);
    assert.deepEqual(result.missing, []);
    assert.deepEqual(result.enumerable, []);
    assert.deepEqual(result.node, []);
    assert.equal(result.self, true);
    assert.equal(result.ua, "litefaas");
    assert.equal(result.perf, true);
  });
});

void describe("Headers", () => {
  void test("names are case-insensitive, values combine, iteration is sorted and lower-case", async () => {
    const result = await harness.run<unknown>(`
      const h = new Headers({ "X-B": "1", "Content-Type": "text/plain" });
      h.append("x-b", "2");
      h.append("A-First", " padded\\t");
      let invalid = "";
      try { h.set("bad name", "x"); } catch (e) { invalid = e.constructor.name; }
      return { get: h.get("X-b"), padded: h.get("a-first"), has: h.has("CONTENT-TYPE"), missing: h.get("nope"), entries: [...h], invalid };
    `);
    assert.deepEqual(result, {
      get: "1, 2",
      padded: "padded",
      has: true,
      missing: null,
      entries: [
        ["a-first", "padded"],
        ["content-type", "text/plain"],
        ["x-b", "1, 2"],
      ],
      invalid: "TypeError",
    });
  });

  void test("every Set-Cookie stays separate for getSetCookie, iteration and the host", async () => {
    const result = await harness.run<unknown>(`
      const h = new Headers([["Set-Cookie", "a=1; Path=/"], ["set-cookie", "b=2, c=3"], ["Vary", "x"]]);
      return { list: h.getSetCookie(), get: h.get("set-cookie"), entries: [...h], flat: __web.headersForHost(h) };
    `);
    assert.deepEqual(result, {
      list: ["a=1; Path=/", "b=2, c=3"],
      get: "a=1; Path=/, b=2, c=3",
      entries: [
        ["set-cookie", "a=1; Path=/"],
        ["set-cookie", "b=2, c=3"],
        ["vary", "x"],
      ],
      flat: ["vary", "x", "set-cookie", "a=1; Path=/", "set-cookie", "b=2, c=3"],
    });
  });
});

void describe("Request", () => {
  const newHostRequest = (method: string, body: string | null, headers: string[] = []) => `
    const controller = new AbortController();
    const body = ${body === null ? "null" : `new TextEncoder().encode(${JSON.stringify(body)}).buffer`};
    const request = __web.requestFromHost(${JSON.stringify(method)}, "https://fn.test/p/a?x=1", ${JSON.stringify(headers)}, body, controller.signal);
  `;

  void test("a host request reads as text once, with its headers, and refuses a second read", async () => {
    const result = await harness.run<unknown>(`
      ${newHostRequest("POST", "héllo wörld", ["Content-Type", "text/plain", "X-Multi", "a", "x-multi", "b"])}
      const before = request.bodyUsed;
      const text = await request.text();
      let second = "";
      try { await request.text(); } catch (e) { second = e.constructor.name; }
      let immutable = "";
      try { request.headers.set("x", "y"); } catch (e) { immutable = e.constructor.name; }
      return { method: request.method, url: request.url, type: request.headers.get("content-type"), multi: request.headers.get("X-MULTI"),
        before, text, after: request.bodyUsed, second, immutable, signal: request.signal === controller.signal };
    `);
    assert.deepEqual(result, {
      method: "POST",
      url: "https://fn.test/p/a?x=1",
      type: "text/plain",
      multi: "a, b",
      before: false,
      text: "héllo wörld",
      after: true,
      second: "TypeError",
      immutable: "TypeError",
      signal: true,
    });
  });

  void test("json, arrayBuffer, stream and clone", async () => {
    const result = await harness.run<unknown>(`
      ${newHostRequest("PUT", '{"n":1,"s":"ü"}')}
      const copy = request.clone();
      const json = await request.json();
      const bytes = new Uint8Array(await copy.arrayBuffer());
      const streamed = new Request("https://x.test/", { method: "POST", body: "stream me" });
      const reader = streamed.body.getReader();
      const chunks = [];
      for (;;) { const { done, value } = await reader.read(); if (done) break; chunks.push(...value); }
      const empty = __web.requestFromHost("GET", "https://x.test/", [], null, new AbortController().signal);
      return { json, length: bytes.length, first: bytes[0], streamed: new TextDecoder().decode(new Uint8Array(chunks)),
        streamedUsed: streamed.bodyUsed, emptyBody: empty.body, emptyText: await empty.text() };
    `);
    assert.deepEqual(result, {
      json: { n: 1, s: "ü" },
      length: 16,
      first: 123,
      streamed: "stream me",
      streamedUsed: true,
      emptyBody: null,
      emptyText: "",
    });
  });

  void test("the constructor validates and normalizes like fetch's", async () => {
    const result = await harness.run<unknown>(`
      const errors = [];
      for (const make of [
        () => new Request("/relative"),
        () => new Request("https://x.test/", { method: "GET", body: "no" }),
        () => new Request("https://u:p@x.test/"),
        () => new Request("https://x.test/", { method: "CONNECT" }),
      ]) { try { make(); errors.push("none"); } catch (e) { errors.push(e.constructor.name); } }
      const r = new Request(new URL("https://X.test/a/../b"), { method: "post", headers: { "x-a": "1" } });
      const copy = new Request(r, { headers: { "x-b": "2" } });
      return { errors, method: r.method, url: r.url, copyMethod: copy.method, copyHeaders: [...copy.headers], patch: new Request("https://x.test", { method: "patch" }).method };
    `);
    assert.deepEqual(result, {
      errors: ["TypeError", "TypeError", "TypeError", "TypeError"],
      method: "POST",
      url: "https://x.test/b",
      copyMethod: "POST",
      copyHeaders: [["x-b", "2"]],
      patch: "patch",
    });
  });
});

void describe("Response", () => {
  void test("bodies read as text, json, arrayBuffer, blob and stream; clone reads twice", async () => {
    const result = await harness.run<unknown>(`
      const r = new Response("a€", { status: 201, statusText: "Made", headers: { "x-y": "z" } });
      const c = r.clone();
      const text = await r.text();
      const bytes = new Uint8Array(await c.arrayBuffer());
      const json = await Response.json({ ok: [1, 2] }, { status: 202 });
      const blob = await new Response(new Uint8Array([1, 2, 3]), { headers: { "content-type": "application/x-demo" } }).blob();
      const streamed = new Response(new ReadableStream({ start(ctl) { ctl.enqueue(new TextEncoder().encode("s1")); ctl.enqueue(new TextEncoder().encode("s2")); ctl.close(); } }));
      return { text, bytes: [...bytes], status: r.status, statusText: r.statusText, ok: r.ok, type: r.headers.get("content-type"),
        jsonType: json.headers.get("content-type"), jsonStatus: json.status, json: await json.json(), blobType: blob.type, blobSize: blob.size,
        streamed: await streamed.text(), streamedUsed: streamed.bodyUsed };
    `);
    assert.deepEqual(result, {
      text: "a€",
      bytes: [0x61, 0xe2, 0x82, 0xac],
      status: 201,
      statusText: "Made",
      ok: true,
      type: "text/plain;charset=UTF-8",
      jsonType: "application/json",
      jsonStatus: 202,
      json: { ok: [1, 2] },
      blobType: "application/x-demo",
      blobSize: 3,
      streamed: "s1s2",
      streamedUsed: true,
    });
  });

  void test("redirect, error and the constructor's checks", async () => {
    const result = await harness.run<unknown>(`
      const redirect = Response.redirect("https://x.test/next", 307);
      const error = Response.error();
      const errors = [];
      for (const make of [() => new Response("x", { status: 99 }), () => new Response("x", { status: 204 }), () => Response.redirect("https://x.test", 200)]) {
        try { make(); errors.push("none"); } catch (e) { errors.push(e.constructor.name); }
      }
      return { location: redirect.headers.get("location"), status: redirect.status, errorType: error.type, errorStatus: error.status, errors,
        noContent: new Response(null, { status: 204 }).body };
    `);
    assert.deepEqual(result, {
      location: "https://x.test/next",
      status: 307,
      errorType: "error",
      errorStatus: 0,
      errors: ["RangeError", "TypeError", "RangeError"],
      noContent: null,
    });
  });

  void test("bodyForHost hands over the cheapest form, once", async () => {
    const result = await harness.run<unknown>(`
      const kind = (v) => v === null ? "null" : typeof v === "string" ? "string:" + v : v instanceof ArrayBuffer ? "buffer:" + v.byteLength : v instanceof ReadableStream ? "stream" : typeof v;
      const view = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5);
      const forms = [
        kind(__web.bodyForHost(new Response("hi"))),
        kind(__web.bodyForHost(new Response(new ArrayBuffer(4)))),
        kind(__web.bodyForHost(new Response(view))),
        kind(__web.bodyForHost(new Response(new Blob(["abc", new Uint8Array([1])])))),
        kind(__web.bodyForHost(new Response(new URLSearchParams({ a: "1 2" })))),
        kind(__web.bodyForHost(new Response(new ReadableStream()))),
        kind(__web.bodyForHost(new Response(null))),
      ];
      const used = new Response("x");
      await used.text();
      let reuse = "";
      try { __web.bodyForHost(used); } catch (e) { reuse = e.constructor.name; }
      const exact = __web.bodyForHost(new Response(view));
      return { forms, reuse, exact: [...new Uint8Array(exact)], isResponse: [__web.isResponse(new Response()), __web.isResponse({ status: 200 })] };
    `);
    assert.deepEqual(result, {
      forms: ["string:hi", "buffer:4", "buffer:3", "buffer:4", "string:a=1+2", "stream", "null"],
      reuse: "TypeError",
      exact: [1, 2, 3],
      isResponse: [true, false],
    });
  });

  void test("FormData round-trips through multipart and urlencoded bodies", async () => {
    const result = await harness.run<unknown>(`
      const form = new FormData();
      form.append("name", "Zoë");
      form.append("file", new Blob(["file body"], { type: "text/x-demo" }), "notes.txt");
      form.append("name", "second");
      const response = new Response(form);
      const type = response.headers.get("content-type");
      const parsed = await response.formData();
      const file = parsed.get("file");
      const encoded = await new Request("https://x.test/", { method: "POST", body: new URLSearchParams("a=1&b=%C3%BC&a=2") }).formData();
      return { multipart: type.startsWith("multipart/form-data; boundary="), names: parsed.getAll("name"), fileName: file.name,
        fileType: file.type, fileText: await file.text(), isFile: file instanceof File, a: encoded.getAll("a"), b: encoded.get("b") };
    `);
    assert.deepEqual(result, {
      multipart: true,
      names: ["Zoë", "second"],
      fileName: "notes.txt",
      fileType: "text/x-demo",
      fileText: "file body",
      isFile: true,
      a: ["1", "2"],
      b: "ü",
    });
  });
});

void describe("URL, encoding, base64, structuredClone", () => {
  void test("URL resolves relative references and exposes searchParams", async () => {
    const result = await harness.run<unknown>(`
      const u = new URL("../c/d?x=1&y=a%20b#frag", "https://user@Example.COM:8443/a/b/");
      u.searchParams.append("z", "é");
      let invalid = "";
      try { new URL("not a url"); } catch (e) { invalid = e.constructor.name; }
      const params = new URLSearchParams({ q: "a+b", r: "1" });
      params.sort();
      return { href: u.href, host: u.host, path: u.pathname, y: u.searchParams.get("y"), invalid, canParse: URL.canParse("/x", "https://h/"),
        params: params.toString(), idn: new URL("https://bücher.example/").hostname, size: params.size };
    `);
    assert.deepEqual(result, {
      href: "https://user@example.com:8443/a/c/d?x=1&y=a+b&z=%C3%A9#frag",
      host: "example.com:8443",
      path: "/a/c/d",
      y: "a b",
      invalid: "TypeError",
      canParse: true,
      params: "q=a%2Bb&r=1",
      idn: "xn--bcher-kva.example",
      size: 2,
    });
  });

  void test("TextEncoder/TextDecoder handle multi-byte text, invalid input, BOMs and streaming", async () => {
    const result = await harness.run<unknown>(`
      const text = "aé€😀中";
      const bytes = new TextEncoder().encode(text);
      const decoder = new TextDecoder();
      const split = decoder.decode(bytes.subarray(0, 7), { stream: true }) + decoder.decode(bytes.subarray(7));
      let fatal = "";
      try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0x61, 0xc3])); } catch (e) { fatal = e.constructor.name; }
      const into = new Uint8Array(4);
      const progress = new TextEncoder().encodeInto("a€b", into);
      return {
        length: bytes.length,
        roundTrip: new TextDecoder().decode(bytes) === text,
        split,
        replaced: new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0xe2, 0x82, 0x62, 0xed, 0xa0, 0x80])),
        loneSurrogate: [...new TextEncoder().encode("\\ud800")],
        fatal,
        bom: new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])),
        keptBom: new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length,
        latin1: new TextDecoder("latin1").decode(new Uint8Array([0x63, 0x80, 0xe9])),
        progress,
      };
    `);
    assert.deepEqual(result, {
      length: 13,
      roundTrip: true,
      split: "aé€😀中",
      replaced: "a\ufffd\ufffdb\ufffd\ufffd\ufffd",
      loneSurrogate: [0xef, 0xbf, 0xbd],
      fatal: "TypeError",
      bom: "A",
      keptBom: 2,
      latin1: "c€é",
      progress: { read: 2, written: 4 },
    });
  });

  void test("atob/btoa round-trip binary strings and reject what is not base64 or Latin-1", async () => {
    const result = await harness.run<unknown>(`
      const binary = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
      const errors = [];
      for (const bad of [() => atob("abc*"), () => atob("a"), () => btoa("€")]) {
        try { bad(); errors.push("none"); } catch (e) { errors.push(e instanceof DOMException ? e.name : e.constructor.name); }
      }
      return { hello: btoa("hello"), back: atob(" aGVs\\nbG8= "), unpadded: atob("aGk"), roundTrip: atob(btoa(binary)) === binary, errors };
    `);
    assert.deepEqual(result, {
      hello: "aGVsbG8=",
      back: "hello",
      unpadded: "hi",
      roundTrip: true,
      errors: ["InvalidCharacterError", "InvalidCharacterError", "InvalidCharacterError"],
    });
  });

  void test("structuredClone copies deeply, keeps cycles and shared references, refuses functions", async () => {
    const result = await harness.run<unknown>(`
      const shared = { n: 1 };
      const buffer = new ArrayBuffer(8);
      const source = { date: new Date(5), re: /a+/gi, map: new Map([[shared, "v"]]), set: new Set([shared]), list: [shared, shared],
        bytes: new Uint8Array(buffer, 2, 4), view: new Float64Array(buffer), error: new RangeError("bad"), big: 10n };
      source.self = source;
      const copy = structuredClone(source);
      copy.list[0].n = 2;
      let fn = "";
      try { structuredClone({ f() {} }); } catch (e) { fn = e.name; }
      let platform = "";
      try { structuredClone(new Headers()); } catch (e) { platform = e.name; }
      return { cycle: copy.self === copy, notSame: copy !== source && copy.list[0] !== shared, sharedKept: copy.list[0] === copy.list[1] && copy.map.keys().next().value === copy.list[0],
        original: shared.n, date: copy.date instanceof Date && copy.date.getTime(), re: String(copy.re), set: copy.set.has(copy.list[0]),
        bufferShared: copy.bytes.buffer === copy.view.buffer, offset: copy.bytes.byteOffset, error: copy.error instanceof RangeError && copy.error.message,
        big: copy.big === 10n, fn, platform };
    `);
    assert.deepEqual(result, {
      cycle: true,
      notSame: true,
      sharedKept: true,
      original: 1,
      date: 5,
      re: "/a+/gi",
      set: true,
      bufferShared: true,
      offset: 2,
      error: "bad",
      big: true,
      fn: "DataCloneError",
      platform: "DataCloneError",
    });
  });
});

void describe("timers, events and abort", () => {
  void test("timers fire in due order, equal delays first-come, microtasks first, cleared ones never", async () => {
    const order = await harness.run<string[]>(`
      const order = [];
      setTimeout(() => order.push("t30"), 30);
      setTimeout(() => order.push("t0-a"), 0);
      const cleared = setTimeout(() => order.push("cleared"), 10);
      setTimeout((x) => order.push("t10-" + x), 10, "arg");
      setTimeout(() => order.push("t0-b"), 0);
      queueMicrotask(() => order.push("micro"));
      clearTimeout(cleared);
      let ticks = 0;
      const interval = setInterval(() => { order.push("tick"); if (++ticks === 3) clearInterval(interval); }, 5);
      await new Promise((resolve) => setTimeout(resolve, 80));
      return order;
    `);
    assert.equal(order[0], "micro");
    assert.deepEqual(
      order.filter((e) => !e.startsWith("tick")),
      ["micro", "t0-a", "t0-b", "t10-arg", "t30"],
    );
    assert.equal(order.filter((e) => e === "tick").length, 3);
    assert.ok(!order.includes("cleared"));
  });

  void test("AbortController, AbortSignal.timeout/any and listener options", async () => {
    const result = await harness.run<unknown>(`
      const controller = new AbortController();
      const seen = [];
      controller.signal.addEventListener("abort", (e) => seen.push(e.type + ":" + e.isTrusted));
      controller.signal.onabort = () => seen.push("onabort");
      const remover = new AbortController();
      controller.signal.addEventListener("abort", () => seen.push("removed"), { signal: remover.signal });
      remover.abort();
      const combined = AbortSignal.any([controller.signal, new AbortController().signal]);
      controller.abort(new Error("stop"));
      controller.abort(new Error("again"));
      let thrown = "";
      try { controller.signal.throwIfAborted(); } catch (e) { thrown = e.message; }
      const timeout = AbortSignal.timeout(10);
      const before = timeout.aborted;
      await new Promise((resolve) => timeout.addEventListener("abort", resolve));
      let illegal = "";
      try { new AbortSignal(); } catch (e) { illegal = e.constructor.name; }
      const target = new EventTarget();
      let once = 0;
      target.addEventListener("ping", () => once++, { once: true });
      target.dispatchEvent(new Event("ping"));
      target.dispatchEvent(new Event("ping"));
      return { seen, reason: controller.signal.reason.message, thrown, combined: combined.aborted && combined.reason.message,
        before, timeoutName: timeout.reason.name, defaultReason: AbortSignal.abort().reason.name, illegal, once };
    `);
    assert.deepEqual(result, {
      seen: ["abort:true", "onabort"],
      reason: "stop",
      thrown: "stop",
      combined: "stop",
      before: false,
      timeoutName: "TimeoutError",
      defaultReason: "AbortError",
      illegal: "TypeError",
      once: 1,
    });
  });
});

void describe("console", () => {
  void test("formats like util.format and attributes lines to the request set by withRequest", async () => {
    await harness.run(`
      __web.withRequest("req-format", () => {
        console.log("%s is %d years and %i days, %f%% sure, %j %o", "Ada", 36.5, 7.9, 0.5, { a: [1] }, [1, "x"]);
        console.warn({ nested: { deep: { deeper: { deepest: 1 } } }, list: [1, 2], s: "str", m: new Map([["k", 1]]) });
        const cyclic = { name: "loop" };
        cyclic.self = cyclic;
        console.error("cyclic", cyclic, new Set([1]), null, undefined, 5n, Symbol("s"));
        console.info(new Headers({ "x-a": "1" }), new URL("https://u.test/p?q=1"), function named() {}, class Klass {});
        console.debug(new Error("boom"));
        console.assert(1 + 1 === 3, "math is %s", "broken");
        console.count("hits");
        console.count("hits");
        console.trace("traced");
      });
      console.log("outside any request");
    `);
    const [format] = await harness.logsMatching(/^Ada is/);
    assert.deepEqual(format, [
      "log",
      "req-format",
      `Ada is 36.5 years and 7 days, 0.5% sure, {"a":[1]} [ 1, 'x' ]`,
    ]);
    const [warn] = await harness.logsMatching(/nested/);
    assert.deepEqual(warn, [
      "warn",
      "req-format",
      "{\n  nested: { deep: { deeper: [Object] } },\n  list: [ 1, 2 ],\n  s: 'str',\n  m: Map(1) { 'k' => 1 }\n}",
    ]);
    const [error] = await harness.logsMatching(/^cyclic/);
    assert.deepEqual(error, [
      "error",
      "req-format",
      "cyclic <ref *1> { name: 'loop', self: [Circular *1] } Set(1) { 1 } null undefined 5n Symbol(s)",
    ]);
    const [info] = await harness.logsMatching(/^Headers/);
    assert.deepEqual(info, [
      "info",
      "req-format",
      "Headers { 'x-a': '1' } URL {\n  href: 'https://u.test/p?q=1',\n  origin: 'https://u.test',\n  pathname: '/p',\n  search: '?q=1',\n  hash: ''\n} [Function: named] [class Klass]",
    ]);
    const [debug] = await harness.logsMatching(/^Error: boom/);
    assert.equal(debug?.[0], "debug");
    assert.match(debug?.[2] ?? "", /^Error: boom\n\s+at /);
    assert.deepEqual((await harness.logsMatching(/^Assertion failed/))[0], [
      "warn",
      "req-format",
      "Assertion failed: math is broken",
    ]);
    assert.deepEqual((await harness.logsMatching(/^hits: /, 2))[1], [
      "log",
      "req-format",
      "hits: 2",
    ]);
    const [trace] = await harness.logsMatching(/^Trace: traced/);
    assert.equal(trace?.[0], "log");
    assert.match(trace?.[2] ?? "", /^Trace: traced\n\s+at /);
    const [outside] = await harness.logsMatching(/^outside any request$/);
    assert.deepEqual(outside, ["log", "", "outside any request"]);
  });

  void test("attribution follows an in-flight request across awaits and into timers", async () => {
    await harness.run(`
      await __web.withRequest("req-async", async () => {
        await Promise.resolve();
        console.log("after await");
        await new Promise((resolve) => setTimeout(() => { console.log("in timer"); resolve(); }, 1));
      });
      console.log("after the request settled");
    `);
    assert.equal((await harness.logsMatching(/^after await$/))[0]?.[1], "req-async");
    assert.equal((await harness.logsMatching(/^in timer$/))[0]?.[1], "req-async");
    assert.equal((await harness.logsMatching(/^after the request settled$/))[0]?.[1], "");
  });

  void test("a throwing listener or timer is reported as an uncaught error, not thrown at the caller", async () => {
    const dispatched = await harness.run<boolean>(`
      const target = new EventTarget();
      target.addEventListener("x", () => { throw new TypeError("listener broke"); });
      setTimeout(() => { throw new Error("timer broke"); }, 0);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return target.dispatchEvent(new Event("x"));
    `);
    assert.equal(dispatched, true);
    assert.match(
      (await harness.logsMatching(/listener broke/))[0]?.[2] ?? "",
      /^Uncaught TypeError: listener broke/,
    );
    assert.equal((await harness.logsMatching(/timer broke/))[0]?.[0], "error");
  });
});

void describe("crypto", () => {
  void test("getRandomValues and randomUUID draw from the host's CSPRNG", async () => {
    const result = await harness.run<{
      uuids: string[];
      a: number[];
      b: number[];
      big: number;
      errors: string[];
    }>(`
      const uuids = Array.from({ length: 300 }, () => crypto.randomUUID());
      const a = crypto.getRandomValues(new Uint8Array(32));
      const b = new Uint32Array(8);
      const { getRandomValues } = crypto;
      getRandomValues(b);
      const big = crypto.getRandomValues(new Uint8Array(65536)).reduce((n, x) => n + (x === 0 ? 0 : 1), 0);
      const errors = [];
      for (const bad of [() => crypto.getRandomValues(new Float32Array(2)), () => crypto.getRandomValues(new Uint8Array(65537))]) {
        try { bad(); errors.push("none"); } catch (e) { errors.push(e.name); }
      }
      return { uuids, a: [...a], b: [...b], big, errors };
    `);
    for (const uuid of result.uuids)
      assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(result.uuids).size, result.uuids.length);
    assert.ok(new Set(result.a).size > 16, "32 random bytes should not repeat that much");
    assert.ok(
      result.b.some((n) => n > 0xffff),
      "Uint32 values use all four bytes",
    );
    assert.ok(result.big > 65536 * 0.98);
    assert.deepEqual(result.errors, ["TypeMismatchError", "QuotaExceededError"]);
  });

  void test("subtle: SHA-256 known vector, HMAC sign/verify, CryptoKey instances", async () => {
    const result = await harness.run<unknown>(`
      const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
      const digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc")));
      const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("key"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
      const data = new TextEncoder().encode("The quick brown fox jumps over the lazy dog");
      const mac = await crypto.subtle.sign("HMAC", key, data);
      const good = await crypto.subtle.verify("HMAC", key, mac, data);
      const bad = await crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode("tampered"));
      let illegal = "";
      try { new CryptoKey(); } catch (e) { illegal = e.constructor.name; }
      return { digest, mac: hex(mac), good, bad, isKey: key instanceof CryptoKey, type: key.type, extractable: key.extractable,
        algorithm: key.algorithm, usages: key.usages, illegal };
    `);
    assert.deepEqual(result, {
      digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      mac: "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
      good: true,
      bad: false,
      isKey: true,
      type: "secret",
      extractable: false,
      algorithm: { name: "HMAC", length: 24, hash: { name: "SHA-256" } },
      usages: ["sign", "verify"],
      illegal: "TypeError",
    });
  });

  void test("subtle: ECDSA P-256 key pairs, JWK export, AES-GCM and PBKDF2", async () => {
    const result = await harness.run<unknown>(`
      const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
      const data = new TextEncoder().encode("signed message");
      const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data);
      const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pair.publicKey, signature, data);
      const forged = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pair.publicKey, signature, new TextEncoder().encode("other"));
      const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
      const aes = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aes, new TextEncoder().encode("secret text"));
      const opened = new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, aes, sealed));
      const password = await crypto.subtle.importKey("raw", new TextEncoder().encode("password"), "PBKDF2", false, ["deriveBits"]);
      const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-1", salt: new TextEncoder().encode("salt"), iterations: 1 }, password, 160);
      return { ok, forged, types: [pair.publicKey.type, pair.privateKey.type], pairIsKeys: pair.publicKey instanceof CryptoKey,
        curve: pair.privateKey.algorithm.namedCurve, signatureLength: signature.byteLength, jwk: { kty: jwk.kty, crv: jwk.crv, hasX: typeof jwk.x === "string" },
        opened, sealedLength: sealed.byteLength, pbkdf2: hex(bits) };
    `);
    assert.deepEqual(result, {
      ok: true,
      forged: false,
      types: ["public", "private"],
      pairIsKeys: true,
      curve: "P-256",
      signatureLength: 64,
      jwk: { kty: "EC", crv: "P-256", hasX: true },
      opened: "secret text",
      sealedLength: 27,
      pbkdf2: "0c60c80f961f0e71f3a9b524af6012062fe037a6",
    });
  });

  void test("subtle: host errors become DOMExceptions and TypeErrors inside the guest", async () => {
    const result = await harness.run<string[]>(`
      const errors = [];
      const attempts = [
        () => crypto.subtle.digest("MD5", new Uint8Array(1)),
        () => crypto.subtle.importKey("raw", new Uint8Array(3), { name: "AES-GCM" }, false, ["encrypt"]),
        () => crypto.subtle.sign("HMAC", { fake: "key" }, new Uint8Array(1)),
        () => crypto.subtle.digest("SHA-256", "not bytes"),
      ];
      for (const attempt of attempts) {
        try { await attempt(); errors.push("none"); } catch (e) { errors.push((e instanceof DOMException ? "DOMException:" : "") + e.name + (e.stack.includes("node:") ? " (host stack!)" : "")); }
      }
      return errors;
    `);
    assert.deepEqual(result, [
      "DOMException:NotSupportedError",
      "DOMException:DataError",
      "TypeError",
      "TypeError",
    ]);
  });
  void test("keys the guest garbage-collects are released from the host's table", async () => {
    // A fresh isolate: its small heap makes V8 collect (and run finalizers) predictably.
    const fresh = new Harness();
    try {
      await fresh.start([platformBundle]);
      await fresh.run(`
        for (let i = 0; i < 300; i++) {
          await crypto.subtle.importKey("raw", new Uint8Array(16), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
        }
      `);
      assert.equal(fresh.subtle.keyCount, 300);
      for (let round = 0; round < 20 && fresh.subtle.keyCount === 300; round++) {
        await fresh.run(`
          for (let i = 0; i < 40; i++) {
            const garbage = new Array(100000).fill(i);
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        `);
      }
      assert.ok(fresh.subtle.keyCount < 300, `still ${fresh.subtle.keyCount} keys`);
    } finally {
      fresh.dispose();
    }
  });
});

void describe("crypto.subtle host", () => {
  void test("rejects unknown operations, foreign handles and calls after dispose with named errors", async () => {
    const host = createSubtleHost({ maxKeys: 2 });
    await assert.rejects(host.call("constructor", []), {
      name: "NotSupportedError",
      message: /no operation "constructor"/,
    });
    await assert.rejects(host.call("sign", ["HMAC", { handle: 42 }, new ArrayBuffer(1)]), {
      name: "InvalidAccessError",
    });
    await assert.rejects(host.call("importKey", ["pem", new ArrayBuffer(1), "HMAC", false, []]), {
      name: "TypeError",
      message: /key format/,
    });
    const usages = ["sign"];
    const key = { name: "HMAC", hash: "SHA-256" };
    const first = (await host.call("importKey", [
      "raw",
      new ArrayBuffer(16),
      key,
      true,
      usages,
    ])) as { handle: number };
    await host.call("importKey", ["raw", new ArrayBuffer(16), key, true, usages]);
    await assert.rejects(host.call("importKey", ["raw", new ArrayBuffer(16), key, true, usages]), {
      name: "QuotaExceededError",
    });
    await host.call("release", [first.handle]);
    assert.equal(host.keyCount, 1);
    await assert.rejects(host.call("exportKey", ["raw", first]), { name: "InvalidAccessError" });
    host.dispose();
    await assert.rejects(host.call("digest", ["SHA-256", new ArrayBuffer(1)]), {
      name: "InvalidStateError",
    });
  });

  void test("supports RSA, RSA-PSS, Ed25519, AES-CBC, HKDF and ECDH deriveKey", async () => {
    const host = createSubtleHost();
    type Pair = { publicKey: { handle: number }; privateKey: { handle: number } };
    const data = new TextEncoder().encode("data").buffer;
    const exponent = new Uint8Array([1, 0, 1]).buffer;
    const rsa = (await host.call("generateKey", [
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: exponent, hash: "SHA-256" },
      true,
      ["sign", "verify"],
    ])) as Pair & { publicKey: { algorithm: { publicExponent: Uint8Array } } };
    assert.deepEqual([...rsa.publicKey.algorithm.publicExponent], [1, 0, 1]);
    const rsaSig = await host.call("sign", ["RSASSA-PKCS1-v1_5", rsa.privateKey, data]);
    assert.equal(
      await host.call("verify", ["RSASSA-PKCS1-v1_5", rsa.publicKey, rsaSig, data]),
      true,
    );
    const spki = (await host.call("exportKey", ["spki", rsa.publicKey])) as ArrayBuffer;
    const pkcs8 = (await host.call("exportKey", ["pkcs8", rsa.privateKey])) as ArrayBuffer;
    const pssPrivate = await host.call("importKey", [
      "pkcs8",
      pkcs8,
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["sign"],
    ]);
    const pssPublic = await host.call("importKey", [
      "spki",
      spki,
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["verify"],
    ]);
    const pssSig = await host.call("sign", [{ name: "RSA-PSS", saltLength: 32 }, pssPrivate, data]);
    assert.equal(
      await host.call("verify", [{ name: "RSA-PSS", saltLength: 32 }, pssPublic, pssSig, data]),
      true,
    );

    const ed = (await host.call("generateKey", [
      { name: "Ed25519" },
      false,
      ["sign", "verify"],
    ])) as Pair;
    const edSig = await host.call("sign", ["Ed25519", ed.privateKey, data]);
    assert.equal(await host.call("verify", ["Ed25519", ed.publicKey, edSig, data]), true);

    const cbc = await host.call("importKey", [
      "raw",
      new Uint8Array(16).fill(7).buffer,
      "AES-CBC",
      false,
      ["encrypt", "decrypt"],
    ]);
    const iv = new Uint8Array(16).buffer;
    const sealed = (await host.call("encrypt", [
      { name: "AES-CBC", iv },
      cbc,
      data,
    ])) as ArrayBuffer;
    assert.equal(
      Buffer.from(
        (await host.call("decrypt", [{ name: "AES-CBC", iv }, cbc, sealed])) as ArrayBuffer,
      ).toString(),
      "data",
    );

    const ikm = await host.call("importKey", [
      "raw",
      new Uint8Array(22).fill(0x0b).buffer,
      "HKDF",
      false,
      ["deriveBits"],
    ]);
    const salt = Uint8Array.from({ length: 13 }, (_, i) => i).buffer;
    const info = Uint8Array.from({ length: 10 }, (_, i) => 0xf0 + i).buffer;
    const okm = (await host.call("deriveBits", [
      { name: "HKDF", hash: "SHA-256", salt, info },
      ikm,
      336,
    ])) as ArrayBuffer;
    // RFC 5869 test case 1.
    assert.equal(
      Buffer.from(okm).toString("hex"),
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    );

    const alice = (await host.call("generateKey", [
      { name: "ECDH", namedCurve: "P-256" },
      false,
      ["deriveKey"],
    ])) as Pair;
    const bob = (await host.call("generateKey", [
      { name: "ECDH", namedCurve: "P-256" },
      false,
      ["deriveKey"],
    ])) as Pair;
    const derive = (own: Pair, other: Pair) =>
      host.call("deriveKey", [
        { name: "ECDH", public: other.publicKey },
        own.privateKey,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        true,
        ["sign"],
      ]);
    const [ab, ba] = await Promise.all([derive(alice, bob), derive(bob, alice)]);
    const [rawAb, rawBa] = await Promise.all([
      host.call("exportKey", ["raw", ab]),
      host.call("exportKey", ["raw", ba]),
    ]);
    assert.deepEqual(Buffer.from(rawAb as ArrayBuffer), Buffer.from(rawBa as ArrayBuffer));
    host.dispose();
  });
});

void describe("fetch", () => {
  void test("sends method, URL, flat headers, body and the request id; resolves to a Response", async () => {
    const result = await harness.run<unknown>(`
      const response = await __web.withRequest("req-fetch", () =>
        fetch("https://api.example/redirect?x=1", { method: "POST", headers: { "X-Token": "t" }, body: JSON.stringify({ hello: "wörld" }) }));
      return { status: response.status, statusText: response.statusText, ok: response.ok, cookies: response.headers.getSetCookie(),
        type: response.headers.get("content-type"), url: response.url, redirected: response.redirected, body: await response.json() };
    `);
    assert.deepEqual(result, {
      status: 201,
      statusText: "Created",
      ok: true,
      cookies: ["a=1", "b=2"],
      type: "application/json",
      url: "https://final.example/landed",
      redirected: true,
      body: { method: "POST", url: "https://api.example/redirect?x=1", body: '{"hello":"wörld"}' },
    });
    const call = harness.fetches.find((f) => f.url.includes("redirect"));
    assert.ok(call !== undefined);
    const { headers, ...rest } = call;
    assert.deepEqual(rest, {
      requestId: "req-fetch",
      method: "POST",
      url: "https://api.example/redirect?x=1",
      body: '{"hello":"wörld"}',
    });
    const pairs = headers
      .flatMap((name, i) => (i % 2 === 0 ? [`${name}: ${headers[i + 1] ?? ""}`] : []))
      .sort();
    assert.deepEqual(pairs, ["content-type: text/plain;charset=UTF-8", "x-token: t"]);
  });

  void test("a host refusal is a catchable TypeError; an abort rejects with the signal's reason", async () => {
    const result = await harness.run<unknown>(`
      let refused = null;
      try { await fetch("https://denied.example/"); } catch (e) { refused = { type: e.constructor.name, message: e.message, hostStack: String(e.stack).includes("node:") }; }
      const controller = new AbortController();
      const pending = fetch("https://slow.example/", { signal: controller.signal });
      setTimeout(() => controller.abort(), 5);
      let aborted = "";
      try { await pending; } catch (e) { aborted = e.name; }
      let invalid = "";
      try { await fetch("/relative"); } catch (e) { invalid = e.constructor.name; }
      return { refused, aborted, invalid };
    `);
    assert.deepEqual(result, {
      refused: {
        type: "TypeError",
        message: "egress denied: denied.example is not in the allow list",
        hostStack: false,
      },
      aborted: "AbortError",
      invalid: "TypeError",
    });
  });
});

void describe("streams", () => {
  void test("pipeThrough, pipeTo, TextEncoderStream/TextDecoderStream and a streamed Response", async () => {
    const result = await harness.run<unknown>(`
      const source = new ReadableStream({ start(c) { for (const part of ["he", "llo ", "wo", "rld"]) c.enqueue(part); c.close(); } });
      const upper = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); } });
      const bytes = source.pipeThrough(upper).pipeThrough(new TextEncoderStream());
      const response = new Response(bytes);
      const [a, b] = response.body.tee();
      const text = await new Response(a).text();
      const collected = [];
      await b.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write(chunk) { collected.push(chunk); } }));
      const split = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([0xe2, 0x82])); c.enqueue(new Uint8Array([0xac])); c.close(); } });
      let decoded = "";
      for await (const chunk of split.pipeThrough(new TextDecoderStream())) decoded += chunk;
      let badChunk = "";
      try { await new Response(new ReadableStream({ start(c) { c.enqueue(42); c.close(); } })).text(); } catch (e) { badChunk = e.constructor.name; }
      const strategy = new CountQueuingStrategy({ highWaterMark: 3 }).highWaterMark + new ByteLengthQueuingStrategy({ highWaterMark: 4 }).size(new Uint8Array(7));
      return { text, collected: collected.join(""), decoded, badChunk, strategy };
    `);
    assert.deepEqual(result, {
      text: "HELLO WORLD",
      collected: "HELLO WORLD",
      decoded: "€",
      badChunk: "TypeError",
      strategy: 10,
    });
  });
});

void describe("WebSockets", () => {
  interface Caught {
    type: string;
    name: string;
    message: string;
  }
  /** Guest helper: what a call threw (constructor name, name, message), or null. */
  const caught = `
    const caught = (fn) => {
      try { fn(); return null; } catch (e) { return { type: e.constructor.name, name: e.name, message: e.message }; }
    };
  `;
  const assertThrew = (
    actual: Caught | null | undefined,
    expected: { type: string; name?: string; message: RegExp },
  ): void => {
    assert.ok(actual !== null && actual !== undefined, "expected the call to throw");
    assert.equal(actual.type, expected.type);
    assert.equal(actual.name, expected.name ?? expected.type);
    assert.match(actual.message, expected.message);
  };

  void test("new WebSocketPair() gives a client and a server WebSocket, both CONNECTING", async () => {
    const result = await harness.run<unknown>(`
      const pair = new WebSocketPair();
      const values = Object.values(pair);
      const [client, server] = values;
      return {
        count: values.length,
        keys: Object.keys(pair),
        isSocket: values.map((s) => s instanceof WebSocket && s instanceof EventTarget),
        distinct: client !== server,
        indexed: pair[0] === client && pair[1] === server,
        readyState: values.map((s) => s.readyState),
        constants: [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
        tag: Object.prototype.toString.call(server),
        url: server.url,
        protocol: server.protocol,
        extensions: server.extensions,
        bufferedAmount: server.bufferedAmount,
        enumerable: Object.keys(globalThis).filter((k) => ["WebSocket", "WebSocketPair", "MessageEvent", "CloseEvent"].includes(k)),
        names: [WebSocket.name, WebSocketPair.name, MessageEvent.name, CloseEvent.name],
      };
    `);
    assert.deepEqual(result, {
      count: 2,
      keys: ["0", "1"],
      isSocket: [true, true],
      distinct: true,
      indexed: true,
      readyState: [0, 0],
      constants: [0, 1, 2, 3],
      tag: "[object WebSocket]",
      url: null,
      protocol: "",
      extensions: "",
      bufferedAmount: 0,
      enumerable: [],
      names: ["WebSocket", "WebSocketPair", "MessageEvent", "CloseEvent"],
    });
  });

  void test("new WebSocket() throws a TypeError that points at WebSocketPair", async () => {
    const result = await harness.run<Caught[]>(`
      ${caught}
      return [caught(() => new WebSocket("wss://x")), caught(() => new WebSocket()), caught(() => { class Mine extends WebSocket {} new Mine(); })];
    `);
    assert.equal(result.length, 3);
    for (const error of result) assertThrew(error, { type: "TypeError", message: /WebSocketPair/ });
  });

  void test("accept() opens the server half once; the client half cannot accept", async () => {
    const result = await harness.run<{
      before: number;
      accepted: unknown;
      after: number;
      again: Caught | null;
      stillOpen: number;
      client: Caught | null;
      clientState: number;
      clientFirst: Caught | null;
    }>(`
      ${caught}
      const [client, server] = Object.values(new WebSocketPair());
      const before = server.readyState;
      const accepted = server.accept();
      const after = server.readyState;
      const again = caught(() => server.accept());
      const stillOpen = server.readyState;
      const clientError = caught(() => client.accept());
      const [freshClient] = Object.values(new WebSocketPair());
      return { before, accepted, after, again, stillOpen, client: clientError, clientState: client.readyState, clientFirst: caught(() => freshClient.accept()) };
    `);
    assert.equal(result.before, 0);
    assert.equal(result.accepted, undefined);
    assert.equal(result.after, 1);
    assertThrew(result.again, { type: "TypeError", message: /already accepted/ });
    assert.equal(result.stillOpen, 1);
    assertThrew(result.client, { type: "TypeError", message: /server half/ });
    assert.equal(result.clientState, 0);
    assertThrew(result.clientFirst, { type: "TypeError", message: /server half/ });
  });

  void test("send() needs an accepted, open server half and a string, ArrayBuffer or typed array", async () => {
    const result = await harness.run<{
      beforeAccept: Caught | null;
      accepted: (Caught | null)[];
      wrong: (Caught | null)[];
      afterClose: Caught | null;
      afterCloseState: number;
    }>(`
      ${caught}
      const [, server] = Object.values(new WebSocketPair());
      const beforeAccept = caught(() => server.send("x"));
      server.accept();
      const accepted = [
        caught(() => server.send("x")),
        caught(() => server.send(new ArrayBuffer(2))),
        caught(() => server.send(new Uint8Array([1, 2, 3]))),
        caught(() => server.send(new DataView(new ArrayBuffer(4)))),
      ];
      const wrong = [caught(() => server.send({})), caught(() => server.send(42)), caught(() => server.send(new Blob(["b"])))];
      server.close();
      return { beforeAccept, accepted, wrong, afterClose: caught(() => server.send("x")), afterCloseState: server.readyState };
    `);
    assertThrew(result.beforeAccept, { type: "TypeError", message: /accept\(\)/ });
    assert.deepEqual(result.accepted, [null, null, null, null]);
    assert.equal(result.wrong.length, 3);
    for (const error of result.wrong)
      assertThrew(error, {
        type: "TypeError",
        message: /string, an ArrayBuffer or a typed array/,
      });
    assertThrew(result.afterClose, { type: "TypeError", message: /after close\(\)/ });
    assert.equal(result.afterCloseState, 2);
  });

  void test("close() allows 1000 and 3000-4999, a reason of at most 123 bytes, then is a no-op", async () => {
    const result = await harness.run<{
      codes: (Caught | null)[];
      dom: boolean;
      reasons: (Caught | null)[];
      stateAfterRefusals: number;
      connecting: Caught | null;
      closed: unknown;
      state: number;
      second: unknown;
      secondState: number;
      allowed: (Caught | null)[];
    }>(`
      ${caught}
      const open = () => { const [, server] = Object.values(new WebSocketPair()); server.accept(); return server; };
      const server = open();
      const codes = [1001, 999, 1005, 2999, 5000, 0].map((code) => caught(() => server.close(code)));
      let dom = false;
      try { server.close(1001); } catch (e) { dom = e instanceof DOMException; }
      const reasons = [
        caught(() => server.close(1000, "x".repeat(124))),
        caught(() => server.close(4000, "é".repeat(62))),
      ];
      const stateAfterRefusals = server.readyState;
      const [, connectingServer] = Object.values(new WebSocketPair());
      const connecting = caught(() => connectingServer.close());
      const closed = server.close(4000, "bye");
      const state = server.readyState;
      const second = server.close();
      const secondState = server.readyState;
      const allowed = [
        caught(() => open().close()),
        caught(() => open().close(1000)),
        caught(() => open().close(3000)),
        caught(() => open().close(4999, "x".repeat(123))),
        caught(() => open().close(4999, "é".repeat(61) + "x")),
      ];
      return { codes, dom, reasons, stateAfterRefusals, connecting, closed, state, second, secondState, allowed };
    `);
    assert.equal(result.codes.length, 6);
    for (const [i, code] of [1001, 999, 1005, 2999, 5000, 0].entries()) {
      assertThrew(result.codes[i], {
        type: "DOMException",
        name: "InvalidAccessError",
        message: new RegExp(`close code ${code} is not allowed`),
      });
    }
    assert.equal(result.dom, true);
    for (const error of result.reasons)
      assertThrew(error, { type: "DOMException", name: "SyntaxError", message: /123 bytes/ });
    assert.equal(result.stateAfterRefusals, 1);
    assertThrew(result.connecting, { type: "TypeError", message: /accept\(\)/ });
    assert.equal(result.closed, undefined);
    assert.equal(result.state, 2);
    assert.equal(result.second, undefined);
    assert.equal(result.secondState, 2);
    assert.deepEqual(result.allowed, [null, null, null, null, null]);
  });

  void test('binaryType is "arraybuffer" and refuses "blob"', async () => {
    const result = await harness.run<{
      initial: string;
      blob: Caught | null;
      afterBlob: string;
      same: Caught | null;
    }>(`
      ${caught}
      const [, server] = Object.values(new WebSocketPair());
      const initial = server.binaryType;
      const blob = caught(() => { server.binaryType = "blob"; });
      return { initial, blob, afterBlob: server.binaryType, same: caught(() => { server.binaryType = "arraybuffer"; }) };
    `);
    assert.equal(result.initial, "arraybuffer");
    assertThrew(result.blob, { type: "TypeError", message: /"arraybuffer"/ });
    assert.equal(result.afterBlob, "arraybuffer");
    assert.equal(result.same, null);
  });

  void test("onmessage and the other handler attributes round-trip, replace and clear", async () => {
    const result = await harness.run<unknown>(`
      const [, server] = Object.values(new WebSocketPair());
      const seen = [];
      const first = (e) => seen.push("first:" + e.data);
      const second = (e) => seen.push("second:" + e.data);
      const defaults = [server.onmessage, server.onclose, server.onerror, server.onopen];
      server.onmessage = first;
      const roundTrip = server.onmessage === first;
      server.dispatchEvent(new MessageEvent("message", { data: 1 }));
      server.onmessage = second;
      const replaced = server.onmessage === second;
      server.dispatchEvent(new MessageEvent("message", { data: 2 }));
      server.onmessage = null;
      const cleared = server.onmessage;
      server.dispatchEvent(new MessageEvent("message", { data: 3 }));
      const onClose = (e) => seen.push("close:" + e.code);
      server.onclose = onClose;
      const closeRoundTrip = server.onclose === onClose;
      server.dispatchEvent(new CloseEvent("close", { code: 3001 }));
      server.onclose = "not a function";
      server.dispatchEvent(new CloseEvent("close", { code: 3002 }));
      return { defaults, roundTrip, replaced, cleared, closeRoundTrip, seen, onclose: server.onclose };
    `);
    assert.deepEqual(result, {
      defaults: [null, null, null, null],
      roundTrip: true,
      replaced: true,
      cleared: null,
      closeRoundTrip: true,
      seen: ["first:1", "second:2", "close:3001"],
      onclose: null,
    });
  });

  void test("new Response(null, { status: 101, webSocket: client }) carries the client half", async () => {
    const result = await harness.run<{
      status: number;
      same: boolean;
      ok: boolean;
      body: null;
      plain: null;
      handedOver: boolean;
      notAccepted: Caught | null;
      serverHalf: Caught | null;
      refused: (Caught | null)[];
      withBody: Caught | null;
    }>(`
      ${caught}
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      const response = new Response(null, { status: 101, webSocket: client });
      const [lateClient] = Object.values(new WebSocketPair());
      const [, loneServer] = Object.values(new WebSocketPair());
      loneServer.accept();
      return {
        status: response.status,
        same: response.webSocket === client,
        ok: response.ok,
        body: response.body,
        plain: new Response("x").webSocket,
        handedOver: __web.serverSocketOf(response) === server,
        notAccepted: caught(() => __web.serverSocketOf(new Response(null, { status: 101, webSocket: lateClient }))),
        serverHalf: caught(() => __web.serverSocketOf(new Response(null, { status: 101, webSocket: loneServer }))),
        refused: [
          caught(() => new Response(null, { status: 101 })),
          caught(() => new Response(null, { status: 200, webSocket: client })),
          caught(() => new Response(null, { status: 101, webSocket: {} })),
          caught(() => new Response(null, { webSocket: client })),
        ],
        withBody: caught(() => new Response("hi", { status: 101, webSocket: client })),
      };
    `);
    assert.equal(result.status, 101);
    assert.equal(result.same, true);
    assert.equal(result.ok, false);
    assert.equal(result.body, null);
    assert.equal(result.plain, null);
    assert.equal(result.handedOver, true);
    assertThrew(result.notAccepted, { type: "TypeError", message: /server\.accept\(\)/ });
    assertThrew(result.serverHalf, { type: "TypeError", message: /client half/ });
    assert.equal(result.refused.length, 4);
    for (const error of result.refused)
      assertThrew(error, { type: "RangeError", message: /status: 101, webSocket: client/ });
    assertThrew(result.withBody, { type: "TypeError", message: /status 101 cannot have a body/ });
  });

  void test("MessageEvent and CloseEvent expose their init, with defaults", async () => {
    const result = await harness.run<unknown>(`
      const message = new MessageEvent("message", { data: "hi" });
      const bare = new MessageEvent("message");
      const close = new CloseEvent("close", { code: 4000, reason: "r", wasClean: true });
      const plain = new CloseEvent("close");
      return {
        message: [message.type, message.data, message instanceof Event, message.isTrusted],
        bytes: [...new Uint8Array(new MessageEvent("message", { data: new Uint8Array([7]).buffer }).data)],
        bareData: bare.data,
        close: [close.type, close.code, close.reason, close.wasClean, close instanceof Event],
        defaults: [plain.code, plain.reason, plain.wasClean],
      };
    `);
    assert.deepEqual(result, {
      message: ["message", "hi", true, false],
      bytes: [7],
      bareData: null,
      close: ["close", 4000, "r", true, true],
      defaults: [0, "", false],
    });
  });

  void test("the host's side: queued frames flush in order, messages and the close reach listeners", async () => {
    const result = await harness.run<unknown>(`
      const [, server] = Object.values(new WebSocketPair());
      server.accept();
      const toClient = [];
      const bytes = new Uint8Array([1, 2, 3, 4]);
      server.send("greeting");
      server.send(bytes.subarray(1, 3));
      bytes[1] = 9;
      const queued = toClient.length;
      __web.connectSocket(server, {
        send: (data) => toClient.push(typeof data === "string" ? data : [...new Uint8Array(data)]),
        close: (code, reason) => toClient.push({ code, reason }),
      });
      const events = [];
      server.onmessage = (e) => events.push(["message", e.data, e.isTrusted, e instanceof MessageEvent]);
      server.addEventListener("close", (e) => events.push(["close", e.code, e.reason, e.wasClean, server.readyState, e instanceof CloseEvent]));
      __web.socketMessage(server, "ping");
      server.send("pong");
      server.close(4001, "done");
      __web.socketMessage(server, "too late");
      __web.socketClosed(server, 4001, "done");
      __web.socketClosed(server, 1000, "again");
      const [, dropped] = Object.values(new WebSocketPair());
      dropped.accept();
      const lost = [];
      dropped.addEventListener("error", (e) => lost.push("error:" + e.isTrusted));
      dropped.addEventListener("close", (e) => lost.push("close:" + e.code + ":" + e.wasClean));
      __web.socketClosed(dropped, 1006, "");
      return { queued, toClient, events, state: server.readyState, lost, droppedState: dropped.readyState };
    `);
    assert.deepEqual(result, {
      queued: 0,
      toClient: ["greeting", [2, 3], "pong", { code: 4001, reason: "done" }],
      events: [
        ["message", "ping", true, true],
        ["close", 4001, "done", true, 3, true],
      ],
      state: 3,
      lost: ["error:true", "close:1006:false"],
      droppedState: 3,
    });
  });

  void test("close() converts its code to an integer before the host sees it", async () => {
    const codes = await harness.run<unknown>(`
        const sent = [];
        for (const code of ["3000", 3000.5]) {
          const [, server] = Object.values(new WebSocketPair());
          server.accept();
          __web.connectSocket(server, { send: () => undefined, close: (c) => sent.push(c) });
          server.close(code);
        }
        return sent;
      `);
    assert.deepEqual(codes, [3000, 3000]);
  });

  void test("an on* handler is its own listener, apart from addEventListener's", async () => {
    const calls = await harness.run<number[]>(`
        const [, server] = Object.values(new WebSocketPair());
        let n = 0;
        const listener = () => n++;
        server.addEventListener("message", listener);
        server.onmessage = listener;
        server.dispatchEvent(new MessageEvent("message"));
        const both = n;
        server.onmessage = null;
        server.dispatchEvent(new MessageEvent("message"));
        return [both, n - both];
      `);
    assert.deepEqual(calls, [2, 1]);
  });
});

void describe("an unmodified hono app", () => {
  before(async () => {
    await harness.run(`
      globalThis.__call = async (method, path, headers = [], body = null) => {
        const request = __web.requestFromHost(method, "http://app.test" + path, headers, body, new AbortController().signal);
        const response = await __web.withRequest("req-hono", () => __app.fetch(request));
        const out = __web.bodyForHost(response);
        let kind = "null";
        let text = "";
        if (typeof out === "string") { kind = "string"; text = out; }
        else if (out instanceof ArrayBuffer) { kind = "buffer"; text = new TextDecoder().decode(out); }
        else if (out !== null) {
          kind = "stream";
          const decoder = new TextDecoder();
          for await (const chunk of out) text += decoder.decode(chunk, { stream: true });
        }
        return { status: response.status, headers: __web.headersForHost(response.headers), kind, text };
      };
    `);
  });

  interface Served {
    status: number;
    headers: string[];
    kind: string;
    text: string;
  }
  const header = (served: Served, name: string): string | undefined =>
    served.headers[served.headers.indexOf(name) + 1];

  void test("GET with route params, query and headers", async () => {
    const served = await harness.run<Served>(
      `return __call("GET", "/users/42?q=find%20me", ["X-Agent", "test-suite"]);`,
    );
    assert.equal(served.status, 200);
    assert.equal(header(served, "content-type"), "application/json");
    assert.deepEqual(JSON.parse(served.text), { id: "42", q: "find me", agent: "test-suite" });
    // hono answers HEAD with new Response(null, getResponse): a Response used as ResponseInit.
    const head = await harness.run<Served>(`return __call("HEAD", "/users/42");`);
    assert.equal(head.status, 200);
    assert.equal(head.kind, "null");
    assert.equal(header(head, "content-type"), "application/json");
  });

  void test("POST JSON", async () => {
    const served = await harness.run<Served>(`
      return __call("POST", "/echo", ["Content-Type", "application/json"], new TextEncoder().encode(JSON.stringify({ a: [1, "ü"] })).buffer);
    `);
    assert.equal(served.status, 201);
    assert.equal(header(served, "x-handled-by"), "hono");
    assert.deepEqual(JSON.parse(served.text), { got: { a: [1, "ü"] } });
  });

  void test("404 for an unknown route", async () => {
    const served = await harness.run<Served>(`return __call("GET", "/nope");`);
    assert.equal(served.status, 404);
    assert.equal(served.text, "404 Not Found");
  });

  void test("streamed bodies: hono's stream helper and c.body(readableStream)", async () => {
    const helper = await harness.run<Served>(`return __call("GET", "/stream");`);
    assert.equal(helper.kind, "stream");
    assert.equal(helper.text, "one two three");
    const readable = await harness.run<Served>(`return __call("GET", "/readable");`);
    assert.equal(readable.kind, "stream");
    assert.equal(readable.text, "chunk-1,chunk-2");
  });

  void test("hono/jwt signs and verifies HS256 and rejects a wrong secret", async () => {
    const served = await harness.run<Served>(`return __call("GET", "/jwt");`);
    assert.equal(served.status, 200);
    const body = JSON.parse(served.text) as {
      parts: number;
      payload: { sub: string; role: string };
      forged: string;
    };
    assert.equal(body.parts, 3);
    assert.equal(body.payload.sub, "user-1");
    assert.equal(body.payload.role, "admin");
    assert.equal(body.forged, "JwtTokenSignatureMismatched");
  });
});
