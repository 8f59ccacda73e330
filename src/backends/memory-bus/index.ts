// bus port in process: subject matching as NATS does it ("*" one token, ">" the rest), queue
// groups served round-robin. Delivery is asynchronous, like a network bus.
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
  let closed = false;

  return {
    publish(subject, data, headers = {}) {
      if (closed) return Promise.reject(new Error("the bus is closed"));
      const tokens = subject.split(".");
      const message: BusMessage = { subject, data, headers };
      const groups = new Map<string, Subscriber[]>();
      for (const s of subscribers) {
        if (!matchesSubject(s.tokens, tokens)) continue;
        if (s.queue === undefined) queueMicrotask(() => s.onMessage(message));
        else groups.set(s.queue, [...(groups.get(s.queue) ?? []), s]);
      }
      for (const [queue, members] of groups) {
        const next = (rotation.get(queue) ?? 0) % members.length;
        rotation.set(queue, next + 1);
        const member = members[next];
        if (member !== undefined) queueMicrotask(() => member.onMessage(message));
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
    close() {
      closed = true;
      subscribers.clear();
      return Promise.resolve();
    },
  };
}
