// The guest bootstrap's entry: run once in every fresh isolate, before any function code.
// It wraps the host's References into HostHooks, installs the Web platform, and leaves its
// entry points on globalThis for the host to take (and then delete): bind, dispatch, abort,
// WebSocket events and binding answers.
import type { FlatHeaders, HostHooks, IvmReference, LogLevel } from "./host-api.js";
import { bindingBatch } from "./binding-batch.js";
import { createDispatcher } from "./dispatch.js";
import { installWebPlatform } from "./web/index.js";

const copy = { arguments: { copy: true } } as const;
const copyBoth = { arguments: { copy: true }, result: { promise: true, copy: true } } as const;

function install(
  logRef: IvmReference,
  sleepRef: IvmReference,
  fetchRef: IvmReference,
  cryptoRef: IvmReference,
  randomRef: IvmReference,
  emitRef: IvmReference,
  doneRef: IvmReference,
  respondRef: IvmReference,
  bindingRef: IvmReference,
  socketRef: IvmReference,
): void {
  const bindings = bindingBatch(bindingRef);
  const hooks: HostHooks = {
    log: (level: LogLevel, requestId, message) =>
      logRef.applyIgnored(undefined, [level, requestId, message], copy),
    sleep: async (ms) => {
      await sleepRef.apply(undefined, [ms], copyBoth);
    },
    fetch: (requestId, method, url, headers: FlatHeaders, body) =>
      fetchRef.apply(undefined, [requestId, method, url, headers, body], copyBoth) as ReturnType<
        HostHooks["fetch"]
      >,
    crypto: (op, args) => cryptoRef.apply(undefined, [op, args], copyBoth),
    randomBytes: (length) =>
      randomRef.applySync(undefined, [length], {
        arguments: { copy: true },
        result: { copy: true },
      }) as ArrayBuffer,
    emit: async (seq, chunk, error) => {
      await emitRef.apply(
        undefined,
        error === undefined ? [seq, chunk] : [seq, chunk, error],
        copyBoth,
      );
    },
    done: (seq) => doneRef.applyIgnored(undefined, [seq], copy),
    respond: (seq, kind, payload) => respondRef.applyIgnored(undefined, [seq, kind, payload], copy),
    binding: (seq, binding, op, args) => bindings.call(seq, binding, op, args),
    socket: (seq, op, data, code, reason) =>
      socketRef.applyIgnored(undefined, [seq, op, data, code, reason], copy),
  };
  const web = installWebPlatform(hooks);
  const dispatcher = createDispatcher(hooks, web);
  const g = globalThis as Record<string, unknown>;
  g["__lf_bind"] = dispatcher.bind;
  g["__lf_dispatch"] = dispatcher.dispatchBatch;
  g["__lf_abort"] = dispatcher.abort;
  g["__lf_socket_event"] = dispatcher.socketEvent;
  g["__lf_binding_answers"] = bindings.answer;
  g["__lf_warm"] = () => warmUp(web);
}

/**
 * Run the request path once while the isolate is being prepared, so V8 compiles its lazily
 * compiled functions then rather than during a function's first request.
 */
function warmUp(web: ReturnType<typeof installWebPlatform>): Promise<unknown> {
  const signal = new AbortController().signal;
  const request = web.requestFromHost(
    "POST",
    "http://warm.up/a?b=c",
    ["host", "warm.up", "content-type", "application/json"],
    new TextEncoder().encode("{}").buffer,
    signal,
  );
  const url = new URL(request.url);
  void url.searchParams.get("b");
  void request.headers.get("content-type");
  const responses = [
    new Response("x", { headers: { "content-type": "text/plain" } }),
    Response.json({ ok: true }),
    new Response(new Uint8Array(1)),
  ];
  for (const response of responses) {
    web.headersForHost(response.headers);
    web.bodyForHost(response);
  }
  return request.json();
}

(globalThis as Record<string, unknown>)["__lf_install"] = install;
