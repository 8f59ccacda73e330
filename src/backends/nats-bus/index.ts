// bus port on NATS core: publish, subscribe, queue groups. Headers travel as NATS headers.
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import type { BusMessage, BusPort, Subscription } from "../../ports/bus.js";

export function natsBus(nc: NatsConnection): BusPort {
  return {
    publish(subject, data, headers = {}) {
      const h = natsHeaders();
      for (const [name, value] of Object.entries(headers)) h.set(name, value);
      nc.publish(subject, data, Object.keys(headers).length === 0 ? {} : { headers: h });
      return Promise.resolve();
    },
    subscribe(subject, onMessage, options = {}): Subscription {
      const sub = nc.subscribe(subject, {
        ...(options.queue === undefined ? {} : { queue: options.queue }),
        callback: (error, msg) => {
          if (error !== null) return;
          const headers: Record<string, string> = {};
          if (msg.headers !== undefined)
            for (const [name, values] of msg.headers) headers[name.toLowerCase()] = values[0] ?? "";
          const message: BusMessage = { subject: msg.subject, data: msg.data, headers };
          onMessage(message);
        },
      });
      return { unsubscribe: () => sub.unsubscribe() };
    },
    // the connection is shared and closed by whoever opened it
    close: () => Promise.resolve(),
  };
}
