// A worker's side of remote invocations (frames.ts): takes what gateways send to the workers'
// queue group, runs it through the local invoker, and streams the answer back. At capacity it
// says "busy" at once, so the gateway tries another worker instead of waiting behind this one.
import type { BusMessage, BusPort } from "../../ports/bus.js";
import type { FunctionSocket, FunctionVersion, InvocationRequest } from "../../runtimes/types.js";
import { LitefaasError } from "../../shared/errors.js";
import type { Invoker } from "../index.js";
import {
  ALIVE_MS,
  SILENCE_MS,
  WINDOW,
  WORKERS,
  decodeFrame,
  encodeFrame,
  messageOf,
  pieces,
  rpcWildcard,
  socketMessage,
  type ControlFrame,
  type InvokeHead,
  fromWireEvent,
  type WorkerFrame,
} from "./frames.js";

export interface InvocationServerDeps {
  bus: BusPort;
  cluster: string;
  /** Runs an invocation here (the scheduler). */
  invoker: Invoker;
  /** A version of a function as the registry has it (the gateway names the one it resolved). */
  version(project: string, name: string, version: number): Promise<FunctionVersion | undefined>;
  /** Invocations this worker runs for gateways at once, at most. */
  capacity: number;
}

export interface InvocationServer {
  readonly inflight: number;
  /** Takes no more; resolves when what it took has been answered. */
  close(): Promise<void>;
}

/** How long the rest of a request body may take to arrive after the worker took it. */
const BODY_WAIT_MS = 30_000;
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

export function serveInvocations(deps: InvocationServerDeps): InvocationServer {
  const { bus } = deps;
  let inflight = 0;
  let closing = false;
  const idle: Array<() => void> = [];
  // one subscription for every invocation's control frames (<base>.<token>), and one ticker
  // saying "alive" for all of them: nothing per invocation goes to the NATS server but frames
  const base = bus.inbox();
  const controls = new Map<string, (m: BusMessage) => void>();
  const working = new Map<string, string>(); // control subject → the gateway's reply subject
  let tokens = 0;

  const send = (to: string, frame: WorkerFrame, payload?: Uint8Array): void => {
    void bus.publish(to, encodeFrame(frame, payload)).catch(() => undefined);
  };
  const controlSubscription = bus.subscribe(`${base}.*`, (m) => {
    controls.get(m.subject.slice(base.length + 1))?.(m);
  });
  // WebSockets held open here for a gateway, and when that gateway was last heard of
  const sockets = new Map<string, { heard: number; lost(): void; shutdown(): void }>();
  const ticker = setInterval(() => {
    for (const [control, reply] of working) send(reply, { t: "alive", control });
    const now = Date.now();
    for (const socket of sockets.values()) if (now - socket.heard > SILENCE_MS) socket.lost();
  }, ALIVE_MS);
  ticker.unref();

  const serve = async (reply: string, head: InvokeHead, first: Uint8Array): Promise<void> => {
    const token = (++tokens).toString(36);
    const control = `${base}.${token}`;
    const rest: Uint8Array[] = [first];
    let received = first.length;
    let credit = WINDOW;
    let cancelled = false;
    let wake: (() => void) | undefined;
    const request: InvocationRequest = {
      id: head.id,
      method: head.method,
      url: head.url,
      headers: head.headers,
      body: null,
      sourceIp: head.sourceIp,
      cancel: { onCancel: undefined },
    };
    if (head.trigger !== undefined) request.trigger = head.trigger;
    if (head.attempt !== undefined) request.attempt = head.attempt;
    if (head.event !== undefined) request.event = fromWireEvent(head.event);
    let socket: { fn: FunctionSocket; closed(code: number, reason: string): void } | undefined;
    controls.set(token, (m) => {
      const frame = decodeFrame<ControlFrame>(m.data);
      if (frame === undefined) return;
      const open = sockets.get(token);
      if (open !== undefined) open.heard = Date.now();
      const h = frame.head;
      if (h.t === "body") {
        rest.push(frame.payload);
        received += frame.payload.length;
      } else if (h.t === "credit") credit += h.n;
      else if (h.t === "ws") socket?.fn.deliver(messageOf(h, frame.payload));
      else if (h.t === "ws-close") socket?.closed(h.code, h.reason);
      else if (h.t === "cancel") {
        cancelled = true;
        request.cancel?.onCancel?.("client disconnected");
        socket?.closed(1006, "");
      }
      wake?.();
    });
    /** Resolves at the next control frame (or after `ms`). */
    const nextControl = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = undefined;
          resolve();
        }, ms);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    working.set(control, reply);
    // the gateway learns where to send the rest of the body now; otherwise from the answer
    if (head.size > first.length) send(reply, { t: "accepted", control });
    try {
      const giveUpAt = Date.now() + BODY_WAIT_MS;
      while (received < head.size && !cancelled) {
        if (Date.now() > giveUpAt)
          throw new LitefaasError("REQUEST_TIMEOUT", "the request body did not arrive in time");
        await nextControl(giveUpAt - Date.now());
      }
      if (cancelled) return;
      if (head.size >= 0) request.body = rest.length === 1 ? first : Buffer.concat(rest);
      const fn = await deps.version(head.project, head.name, head.version);
      if (fn === undefined) {
        throw new LitefaasError(
          "FUNCTION_NOT_FOUND",
          `${head.project}/${head.name} v${head.version} is not deployed`,
          { fix: "deploy it, or call a version that is live (litefaas versions)" },
        );
      }
      const response = await deps.invoker.invoke(fn, request);
      const head0 = {
        t: "head",
        control,
        status: response.status,
        headers: response.headers,
        coldStart: response.coldStart,
      } as const;
      const accepted = response.webSocket;
      if (accepted !== undefined) {
        // a WebSocket: messages both ways as frames until either side closes it
        send(reply, { ...head0, end: false, webSocket: true });
        await new Promise<void>((resolve) => {
          let done = false;
          const end = () => {
            done = true;
            sockets.delete(token);
            resolve();
          };
          socket = {
            fn: accepted,
            closed(code, reason) {
              if (done) return;
              end();
              accepted.closed(code, reason);
            },
          };
          sockets.set(token, {
            heard: Date.now(),
            lost: () => socket?.closed(1006, ""),
            // this worker stops: both ends hear 1001, as a gateway that stops says to its clients
            shutdown() {
              send(reply, { t: "ws-close", code: 1001, reason: "the worker is shutting down" });
              socket?.closed(1001, "the worker is shutting down");
            },
          });
          accepted.attach({
            send(data) {
              if (!done) send(reply, ...socketMessage(data));
            },
            close(code, reason) {
              if (done) return;
              end();
              send(reply, { t: "ws-close", code, reason });
            },
          });
        });
        return;
      }
      const body = response.body;
      if (body === null || typeof body === "string" || body instanceof Uint8Array) {
        // whole already: sent at once (the function's memory held it anyway)
        const all = [...pieces(typeof body === "string" ? encoder.encode(body) : (body ?? EMPTY))];
        send(reply, { ...head0, end: all.length === 1 }, all[0]);
        for (const piece of all.slice(1)) send(reply, { t: "data" }, piece);
        if (all.length > 1) send(reply, { t: "end" });
        return;
      }
      send(reply, { ...head0, end: false });
      // streamed: a piece only with credit, so a slow client slows the function, not memory
      const iterator = body[Symbol.asyncIterator]();
      try {
        for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
          const bytes = typeof next.value === "string" ? encoder.encode(next.value) : next.value;
          if (bytes.length === 0) continue;
          for (const piece of pieces(bytes)) {
            while (credit === 0 && !cancelled) await nextControl(ALIVE_MS);
            if (cancelled) return;
            credit--;
            send(reply, { t: "data" }, piece);
          }
        }
      } finally {
        if (cancelled) await iterator.return?.();
      }
      send(reply, { t: "end" });
    } catch (error) {
      const e =
        error instanceof LitefaasError
          ? error
          : new LitefaasError("INTERNAL", error instanceof Error ? error.message : String(error));
      send(reply, {
        t: "error",
        code: e.code,
        message: e.message,
        ...(e.fix === undefined ? {} : { fix: e.fix }),
      });
    } finally {
      working.delete(control);
      controls.delete(token);
    }
  };

  const subscription = bus.subscribe(
    rpcWildcard(deps.cluster),
    (m: BusMessage) => {
      const reply = m.reply;
      const frame = decodeFrame<InvokeHead>(m.data);
      if (reply === undefined || frame === undefined || frame.head.t !== "invoke") return;
      if (closing || inflight >= deps.capacity) {
        send(reply, { t: "busy" });
        return;
      }
      inflight++;
      void serve(reply, frame.head, frame.payload).finally(() => {
        inflight--;
        if (inflight === 0) for (const resolve of idle.splice(0)) resolve();
      });
    },
    { queue: WORKERS },
  );

  return {
    get inflight() {
      return inflight;
    },
    async close() {
      closing = true;
      subscription.unsubscribe();
      for (const socket of [...sockets.values()]) socket.shutdown();
      if (inflight > 0) await new Promise<void>((resolve) => idle.push(resolve));
      clearInterval(ticker);
      controlSubscription.unsubscribe();
    },
  };
}
