// A gateway's side of remote invocations (frames.ts): the Invoker interface, over the bus to the
// workers' queue group. A worker at capacity says so at once and the next try goes to another
// (the group picks one at random); with every worker full, or none there, tries go on for a
// bounded time and then the answer is 503 with Retry-After. A worker that stops saying it is
// alive has gone: its invocation fails with 502, or is tried again elsewhere when that is safe
// (GET, HEAD, or a request with an Idempotency-Key, before any of the answer was sent).
import type { BusMessage, BusPort } from "../../ports/bus.js";
import type {
  FunctionSocket,
  FunctionVersion,
  InvocationRequest,
  InvocationResponse,
  SocketPeer,
} from "../../runtimes/types.js";
import { LitefaasError, isErrorCode } from "../../shared/errors.js";
import type { Invoker } from "../index.js";
import {
  ALIVE_MS,
  SILENCE_MS,
  WINDOW,
  decodeFrame,
  encodeFrame,
  messageOf,
  pieces,
  rpcSubject,
  socketMessage,
  type ControlFrame,
  type InvokeHead,
  toWireEvent,
  type WorkerFrame,
} from "./frames.js";

export interface RemoteInvokerOptions {
  bus: BusPort;
  cluster: string;
  resolve(project: string, name: string): FunctionVersion | undefined;
  /** How long to keep trying while every worker is busy or none is there (default 2 s). */
  queueForMs?: number;
  /** Invocations waiting for a worker at once, at most; more are refused at once (default 1024). */
  maxWaiting?: number;
}

/**
 * Why one try ended without an answer: every worker busy, no worker at all, or the worker gone
 * before the answer began (whether it ran the function is unknown).
 */
type Missed = "busy" | "none" | "lost";

class TryAgain extends Error {
  constructor(readonly why: Missed) {
    super(why);
  }
}

/** One try in flight: what its frames go to, and when the worker was last heard of. */
interface Call {
  heard: number;
  onFrame(m: BusMessage): void;
  silent(): void;
}

export function createRemoteInvoker(options: RemoteInvokerOptions): Invoker {
  const { bus } = options;
  const queueForMs = options.queueForMs ?? 2_000;
  const maxWaiting = options.maxWaiting ?? 1024;
  let waitingForWorker = 0;
  // every try's answers come to <base>.<token> through one subscription, and one sweep finds the
  // tries whose worker went quiet: nothing per invocation goes to the NATS server but frames
  const base = bus.inbox();
  const calls = new Map<string, Call>();
  let tokens = 0;
  bus.subscribe(`${base}.*`, (m) => calls.get(m.subject.slice(base.length + 1))?.onFrame(m));
  // WebSockets this gateway holds for a worker: it says every ALIVE_MS that it still does
  const sockets = new Set<string>();
  let sweeps = 0;
  setInterval(() => {
    const now = Date.now();
    for (const call of calls.values()) if (now - call.heard > SILENCE_MS) call.silent();
    if (++sweeps % 2 === 0) for (const to of sockets) control(to, { t: "alive" });
  }, ALIVE_MS / 2).unref();

  const control = (to: string, frame: ControlFrame, payload?: Uint8Array) =>
    void bus.publish(to, encodeFrame(frame, payload)).catch(() => undefined);

  /** One try: resolves with the answer, or rejects with TryAgain or the invocation's error. */
  const attempt = (
    fn: FunctionVersion,
    request: InvocationRequest,
  ): Promise<InvocationResponse> => {
    const body = request.body;
    const all = body === null ? [] : [...pieces(body)];
    const head: InvokeHead = {
      t: "invoke",
      project: fn.project,
      name: fn.name,
      version: fn.version,
      id: request.id,
      method: request.method,
      url: request.url,
      headers: request.headers,
      sourceIp: request.sourceIp,
      size: body === null ? -1 : body.length,
    };
    if (request.trigger !== undefined) head.trigger = request.trigger;
    if (request.attempt !== undefined) head.attempt = request.attempt;
    if (request.event !== undefined) head.event = toWireEvent(request.event);
    const token = (++tokens).toString(36);
    return new Promise<InvocationResponse>((resolve, reject) => {
      let worker: string | undefined;
      let started = false;
      let ended = false;
      // the streamed body's pieces, and whoever waits for the next
      const queued: Array<Uint8Array | null | LitefaasError> = [];
      let waiting: (() => void) | undefined;
      let taken = 0;

      const finish = () => {
        calls.delete(token);
        if (request.cancel !== undefined) request.cancel.onCancel = undefined;
      };
      const push = (item: Uint8Array | null | LitefaasError) => {
        queued.push(item);
        waiting?.();
      };
      const fail = (error: Error) => {
        finish();
        if (started) push(error instanceof LitefaasError ? error : lost());
        else reject(error);
      };
      const meet = (at: string) => {
        if (worker !== undefined) return;
        worker = at;
        if (request.cancel !== undefined)
          request.cancel.onCancel = () => control(at, { t: "cancel" });
      };
      const streamed = (): AsyncIterable<Uint8Array> => ({
        [Symbol.asyncIterator]: () => ({
          next: async (): Promise<IteratorResult<Uint8Array>> => {
            while (queued.length === 0) await new Promise<void>((wake) => (waiting = wake));
            waiting = undefined;
            const item = queued.shift();
            if (item instanceof LitefaasError) throw item;
            if (item === null || item === undefined) return { done: true, value: undefined };
            // credit back in batches, as the gateway writes pieces to the client
            if (++taken % (WINDOW / 2) === 0 && worker !== undefined)
              control(worker, { t: "credit", n: WINDOW / 2 });
            return { done: false, value: item };
          },
          return: (): Promise<IteratorResult<Uint8Array>> => {
            if (worker !== undefined && !ended) control(worker, { t: "cancel" });
            finish();
            return Promise.resolve({ done: true, value: undefined });
          },
        }),
      });

      // a WebSocket the function accepted: the client's end, once the gateway attaches it
      let peer: SocketPeer | undefined;
      const early: Array<(p: SocketPeer) => void> = [];
      const toClient = (deliver: (p: SocketPeer) => void) => {
        if (peer === undefined) early.push(deliver);
        else deliver(peer);
      };
      const socketClosed = () => {
        if (worker !== undefined) sockets.delete(worker);
        finish();
      };
      const socket = (at: string): FunctionSocket => {
        sockets.add(at);
        return {
          attach(p) {
            peer = p;
            for (const deliver of early.splice(0)) deliver(p);
          },
          deliver(data) {
            control(at, ...socketMessage(data));
          },
          closed(code, reason) {
            if (!calls.has(token)) return;
            control(at, { t: "ws-close", code, reason });
            socketClosed();
          },
        };
      };

      calls.set(token, {
        heard: Date.now(),
        silent() {
          if (worker !== undefined && sockets.has(worker)) {
            toClient((p) => p.close(1011, "the worker went away"));
            socketClosed();
            return;
          }
          fail(started ? lost() : new TryAgain("lost"));
        },
        onFrame(m) {
          if (m.noResponders === true) {
            fail(new TryAgain("none"));
            return;
          }
          const frame = decodeFrame<WorkerFrame>(m.data);
          if (frame === undefined) return;
          this.heard = Date.now();
          const { head: h, payload } = frame;
          switch (h.t) {
            case "busy":
              fail(new TryAgain("busy"));
              return;
            case "accepted":
              meet(h.control);
              for (const piece of all.slice(1)) control(h.control, { t: "body" }, piece);
              return;
            case "alive":
              meet(h.control);
              return;
            case "head":
              meet(h.control);
              started = true;
              if (h.webSocket === true) {
                resolve({
                  status: h.status,
                  headers: h.headers,
                  body: null,
                  coldStart: h.coldStart,
                  webSocket: socket(h.control),
                });
                return;
              }
              if (h.end) {
                finish();
                resolve({
                  status: h.status,
                  headers: h.headers,
                  body: payload,
                  coldStart: h.coldStart,
                });
                return;
              }
              if (payload.length > 0) push(payload);
              resolve({
                status: h.status,
                headers: h.headers,
                coldStart: h.coldStart,
                body: streamed(),
              });
              return;
            case "data":
              push(payload);
              return;
            case "end":
              ended = true;
              finish();
              push(null);
              return;
            case "ws":
              toClient((p) => p.send(messageOf(h, payload)));
              return;
            case "ws-close":
              toClient((p) => p.close(h.code, h.reason));
              socketClosed();
              return;
            case "error":
              fail(
                new LitefaasError(isErrorCode(h.code) ? h.code : "INTERNAL", h.message, {
                  ...(h.fix === undefined ? {} : { fix: h.fix }),
                }),
              );
              return;
          }
        },
      });
      void bus
        .publish(
          rpcSubject(options.cluster, fn.project, fn.name),
          encodeFrame(head, all[0]),
          {},
          { reply: `${base}.${token}` },
        )
        .catch((error: unknown) => fail(error instanceof Error ? error : new Error(String(error))));
    });
  };

  return {
    resolve: (project, name) => options.resolve(project, name),
    async invoke(fn, request) {
      const giveUpAt = Date.now() + queueForMs;
      const safe = request.method === "GET" || request.method === "HEAD" || idempotent(request);
      let rerun = false;
      let counted = false;
      try {
        for (let tries = 0; ; tries++) {
          try {
            return await attempt(fn, request);
          } catch (error) {
            if (!(error instanceof TryAgain)) throw error;
            if (error.why === "lost") {
              if (!safe || rerun) throw lost();
              rerun = true; // nothing was sent yet, and running it again is safe: once, elsewhere
              continue;
            }
            // busy or none: wait, bounded in time and in how many wait at once, so a full
            // cluster cannot fill the gateway's memory
            if (!counted) {
              if (waitingForWorker >= maxWaiting) throw full(error.why);
              counted = true;
              waitingForWorker++;
            }
            if (Date.now() >= giveUpAt) throw full(error.why);
            await new Promise((wake) => setTimeout(wake, Math.min(100, 2 ** tries)));
          }
        }
      } finally {
        if (counted) waitingForWorker--;
      }
    },
  };
}

/** A request the client marked safe to repeat with an Idempotency-Key header. */
function idempotent(request: InvocationRequest): boolean {
  for (let i = 0; i < request.headers.length; i += 2)
    if (request.headers[i]?.toLowerCase() === "idempotency-key") return true;
  return false;
}

function lost(): LitefaasError {
  return new LitefaasError("WORKER_LOST", "the worker running this invocation went away", {
    fix: "retry the request; GET, HEAD and requests with an Idempotency-Key header are retried on another worker when nothing was sent yet",
  });
}

function full(why: "busy" | "none"): LitefaasError {
  return why === "busy"
    ? new LitefaasError("CLUSTER_BUSY", "every worker is at its capacity", {
        fix: "retry after the Retry-After delay, or add workers (litefaas up --role worker)",
      })
    : new LitefaasError("NO_WORKERS", "no worker process is serving invocations", {
        fix: "start one: litefaas up --role worker --nats <url> --cluster <name>",
      });
}
