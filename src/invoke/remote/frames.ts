// The wire form of invocations between gateways and workers: one bus message per frame, a frame
// being [u32 head length][head JSON][payload bytes]. The payload is body bytes, never JSON, so a
// 6 MiB body costs no base64. A body larger than a frame should carry travels as several.
//
// gateway → <cluster>.rpc.<project>.<function> (workers' queue group), reply to its inbox:
//   invoke        the request head; payload: the body, or its first piece
// worker → the gateway's inbox:
//   busy          at capacity: try another worker
//   accepted      taken, and the rest of the body may come to `control` (sent only then: other
//                 frames name `control` too, for credits and a cancel)
//   alive         still working on it (every ALIVE_MS)
//   head          the response head; payload: the body's first piece; `end` when it is all
//   data          the next piece of the body
//   end           the body is complete
//   error         the invocation failed (an error of the catalog)
//   ws            after a head with `webSocket`: a message from the function to the client
//   ws-close      the function closed the WebSocket
// gateway → the worker's control subject:
//   body          the next piece of the request body
//   credit        the gateway took `n` more pieces of the response: the worker may send n more
//   cancel        the client went away
//   ws            a message from the client to the function
//   ws-close      the client closed the WebSocket
//   alive         the gateway still holds the client's WebSocket (every ALIVE_MS)

import type { TriggerEvent } from "../../runtimes/types.js";

/** Pieces of a body in one frame, at most: well under NATS's default 1 MiB message limit. */
export const PIECE_BYTES = 256 * 1024;
/** Pieces of a response the worker may send ahead of what the gateway took. */
export const WINDOW = 8;
/** How often a worker says it is still working on an invocation. */
export const ALIVE_MS = 1_000;
/** No word from the other side for this long: it has gone. */
export const SILENCE_MS = 3 * ALIVE_MS;

export interface InvokeHead {
  t: "invoke";
  project: string;
  name: string;
  version: number;
  id: string;
  method: string;
  url: string;
  headers: string[];
  sourceIp: string;
  /** Body bytes in all; -1 for no body. */
  size: number;
  /** Set for what is not a client's HTTP request (a replayed one, an event, a tick). */
  trigger?: "async" | "replay";
  attempt?: number;
  /** A message or tick for the message / scheduled handler; a message's data is base64. */
  event?: WireEvent;
}

/** A TriggerEvent as JSON carries it. */
export type WireEvent =
  | (Omit<Extract<TriggerEvent, { kind: "message" }>, "data"> & { data: string })
  | Extract<TriggerEvent, { kind: "scheduled" }>;

export function toWireEvent(event: TriggerEvent): WireEvent {
  return event.kind === "message"
    ? { ...event, data: Buffer.from(event.data).toString("base64") }
    : event;
}

export function fromWireEvent(event: WireEvent): TriggerEvent {
  return event.kind === "message"
    ? { ...event, data: new Uint8Array(Buffer.from(event.data, "base64")) }
    : event;
}

export type WorkerFrame =
  | { t: "busy" }
  | { t: "accepted"; control: string }
  | { t: "alive"; control: string }
  | {
      t: "head";
      control: string;
      status: number;
      headers: string[];
      coldStart: boolean;
      end: boolean;
      /** A 101: the function accepted a WebSocket, whose messages follow as ws frames. */
      webSocket?: true;
    }
  | { t: "data" }
  | { t: "end" }
  | { t: "error"; code: string; message: string; fix?: string }
  | SocketFrame;

/** A WebSocket message (payload: its bytes; text as UTF-8) or its close, either way. */
export type SocketFrame =
  { t: "ws"; binary: boolean } | { t: "ws-close"; code: number; reason: string };

export type ControlFrame =
  { t: "body" } | { t: "credit"; n: number } | { t: "cancel" } | { t: "alive" } | SocketFrame;

const text = new TextDecoder();
const bytes = new TextEncoder();

/** A WebSocket message as a frame. */
export function socketMessage(data: string | Uint8Array): [SocketFrame, Uint8Array] {
  return typeof data === "string"
    ? [{ t: "ws", binary: false }, bytes.encode(data)]
    : [{ t: "ws", binary: true }, data];
}

/** A ws frame's message as the other side gives it on. */
export function messageOf(frame: { binary: boolean }, payload: Uint8Array): string | Uint8Array {
  return frame.binary ? payload.slice() : text.decode(payload);
}

export type Head = InvokeHead | WorkerFrame | ControlFrame;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

export function encodeFrame(head: Head, payload: Uint8Array = EMPTY): Uint8Array {
  const json = encoder.encode(JSON.stringify(head));
  const frame = new Uint8Array(4 + json.length + payload.length);
  new DataView(frame.buffer).setUint32(0, json.length);
  frame.set(json, 4);
  frame.set(payload, 4 + json.length);
  return frame;
}

/** The head and payload of a frame; undefined for bytes that are not one. */
export function decodeFrame<T extends Head>(
  frame: Uint8Array,
): { head: T; payload: Uint8Array } | undefined {
  if (frame.length < 4) return undefined;
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
  if (4 + length > frame.length) return undefined;
  try {
    const head = JSON.parse(decoder.decode(frame.subarray(4, 4 + length))) as T;
    return { head, payload: frame.subarray(4 + length) };
  } catch {
    return undefined;
  }
}

/** `bytes` in pieces of at most PIECE_BYTES (one empty piece for no bytes). */
export function* pieces(bytes: Uint8Array): Generator<Uint8Array> {
  if (bytes.length === 0) yield bytes;
  for (let at = 0; at < bytes.length; at += PIECE_BYTES)
    yield bytes.subarray(at, Math.min(bytes.length, at + PIECE_BYTES));
}

/** Where gateways send a function's invocations; workers serve `<cluster>.rpc.>`. */
export const rpcSubject = (cluster: string, project: string, name: string): string =>
  `${cluster}.rpc.${project}.${name}`;
export const rpcWildcard = (cluster: string): string => `${cluster}.rpc.>`;
/** The queue group every worker serves invocations in. */
export const WORKERS = "workers";
