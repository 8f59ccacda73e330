// bus port in process: subject matching as NATS does it ("*" one token, ">" the rest), queue
// groups served round-robin, replies and "no responders" as NATS has them. Delivery is
// asynchronous, like a network bus.
import type { BusMessage, BusPort, Subscription } from "../../ports/bus.js";

interface Subscriber {
  tokens: string[];
  queue: string | undefined;
  onMessage: (message: BusMessage) => void;
}

export function matchesSubject(pattern: string[], subject: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== "*" && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

export function createMemoryBus(): BusPort {
  const subscribers = new Set<Subscriber>();
  const rotation = new Map<string, number>();
  let inboxes = 0;
  let closed = false;

  /** Hands `message` to its subscribers; false when it has none. */
  const deliver = (message: BusMessage): boolean => {
    const tokens = message.subject.split(".");
    const groups = new Map<string, Subscriber[]>();
    let reached = false;
    for (const s of subscribers) {
      if (!matchesSubject(s.tokens, tokens)) continue;
      reached = true;
      if (s.queue === undefined) queueMicrotask(() => s.onMessage(message));
      else groups.set(s.queue, [...(groups.get(s.queue) ?? []), s]);
    }
    for (const [queue, members] of groups) {
      const next = (rotation.get(queue) ?? 0) % members.length;
      rotation.set(queue, next + 1);
      const member = members[next];
      if (member !== undefined) queueMicrotask(() => member.onMessage(message));
    }
    return reached;
  };

  return {
    publish(subject, data, headers = {}, options = {}) {
      if (closed) return Promise.reject(new Error("the bus is closed"));
      // names arrive lower-cased, as from NATS
      const lower: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
      const message: BusMessage = { subject, data, headers: lower };
      if (options.reply !== undefined) message.reply = options.reply;
      if (!deliver(message) && options.reply !== undefined) {
        deliver({
          subject: options.reply,
          data: new Uint8Array(0),
          headers: {},
          noResponders: true,
        });
      }
      return Promise.resolve();
    },
    subscribe(subject, onMessage, options = {}): Subscription {
      const subscriber: Subscriber = {
        tokens: subject.split("."),
        queue: options.queue,
        onMessage,
      };
      subscribers.add(subscriber);
      return { unsubscribe: () => subscribers.delete(subscriber) };
    },
    inbox: () => `_INBOX.memory.${++inboxes}`,
    close() {
      closed = true;
      subscribers.clear();
      return Promise.resolve();
    },
  };
}
