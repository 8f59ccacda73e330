// The host's half of a WebSocket a function accepted. The function's frames can arrive before
// the gateway has the client's connection (a greeting sent right after accept()); they wait
// here until attach().
import type { FunctionSocket, SocketPeer } from "../types.js";

type Outgoing = [0, string | Uint8Array] | [1, number, string];

export class IsolateSocket implements FunctionSocket {
  private peer: SocketPeer | undefined;
  private outgoing: Outgoing[] = [];
  /** The client side is closed (or was told to close): nothing more goes to the guest. */
  private over = false;

  constructor(
    /** A client's message (kind 0) or close (kind 1) for the guest. */
    private readonly toGuest: (
      kind: 0 | 1,
      data: string | Uint8Array | null,
      code: number,
      reason: string,
    ) => void,
  ) {}

  attach(peer: SocketPeer): void {
    this.peer = peer;
    for (const op of this.outgoing.splice(0)) this.toClient(op);
  }

  deliver(data: string | Uint8Array): void {
    if (!this.over) this.toGuest(0, data, 0, "");
  }

  closed(code: number, reason: string): void {
    if (this.over) return;
    this.over = true;
    this.toGuest(1, null, code, reason);
  }

  /** The function sent a message. */
  fromGuest(data: string | ArrayBuffer): void {
    this.toClient([0, typeof data === "string" ? data : new Uint8Array(data)]);
  }

  /** The function closed its side; the guest hears the client's answer through closed(). */
  guestClosed(code: number, reason: string): void {
    this.toClient([1, code, reason]);
  }

  /** The instance is gone: the client is told why, and the guest can hear nothing more. */
  end(code: number, reason: string): void {
    if (this.over) return;
    this.over = true;
    this.toClient([1, code, reason]);
  }

  /** The platform closes it (a listener overran): the client and the guest are both told. */
  abort(code: number, reason: string): void {
    if (this.over) return;
    this.over = true;
    this.toClient([1, code, reason]);
    this.toGuest(1, null, code, reason);
  }

  private toClient(op: Outgoing) {
    const peer = this.peer;
    if (peer === undefined) this.outgoing.push(op);
    else if (op[0] === 0) peer.send(op[1]);
    else peer.close(op[1], op[2]);
  }
}
