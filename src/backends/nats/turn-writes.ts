// Everything a connection sends in one event-loop turn leaves in one socket write.
//
// The client flushes its outbound buffer in a microtask after the first command of a batch, so
// commands sent from separate promise chains (the acks of 64 deliveries, the publishes of a
// function's Promise.all, pull requests) mostly leave in a write each. On loopback a write costs
// the sender the receiver's side of the TCP stack and the server's wakeup too (~90 µs measured on
// the events bench), so the writes, not the bytes, are what the events path paid for. Deferring
// the flush to the end of the turn (setImmediate) sends what the turn produced at once, for every
// backend on the connection, without each caller batching its own.
//
// This reaches into the client's protocol handler (nats-core 3.x: `protocol.flushPending`). If a
// later client moves it, coalesceWrites says so and the connection keeps the client's own
// flushing: correct, only with more writes. A test pins the version that has it.
import type { NatsConnection } from "@nats-io/transport-node";

interface Protocol {
  flushPending: () => void;
  [COALESCED]?: true;
}

const COALESCED = Symbol("litefaas.coalesced");

/** Makes `nc` send once per turn; true when it does (now or already). */
export function coalesceWrites(nc: NatsConnection): boolean {
  const protocol = (nc as unknown as { protocol?: Partial<Protocol> }).protocol;
  if (protocol === undefined || typeof protocol.flushPending !== "function") return false;
  if (protocol[COALESCED] === true) return true;
  const flushNow = protocol.flushPending.bind(protocol);
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    flushNow();
  };
  protocol.flushPending = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  protocol[COALESCED] = true;
  // close() tears the socket down within microtasks: what this turn queued must leave first
  const close = nc.close.bind(nc);
  nc.close = () => {
    flushNow();
    return close();
  };
  return true;
}

/** Whether `nc` sends once per turn. */
export function writesCoalesced(nc: NatsConnection): boolean {
  return (nc as unknown as { protocol?: Partial<Protocol> }).protocol?.[COALESCED] === true;
}
