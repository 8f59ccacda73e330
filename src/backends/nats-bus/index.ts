// bus port on NATS core: publish, subscribe, queue groups, replies. Headers travel as NATS
// headers; "no responders" is the server's empty 503 status message on the reply subject.
import {
  createInbox,
  headers as natsHeaders,
  type NatsConnection,
  type PublishOptions,
} from "@nats-io/transport-node";
import type { BusMessage, BusPort, Subscription } from "../../ports/bus.js";

export function natsBus(nc: NatsConnection): BusPort {
  return {
    publish(subject, data, headers = {}, options = {}) {
      const publishOptions: PublishOptions = {};
      if (Object.keys(headers).length > 0) {
        const h = natsHeaders();
        for (const [name, value] of Object.entries(headers)) h.set(name, value);
        publishOptions.headers = h;
      }
      if (options.reply !== undefined) publishOptions.reply = options.reply;
      nc.publish(subject, data, publishOptions);
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
          if (msg.reply !== undefined && msg.reply !== "") message.reply = msg.reply;
          if (msg.data.length === 0 && msg.headers?.code === 503) message.noResponders = true;
          onMessage(message);
        },
      });
      return { unsubscribe: () => sub.unsubscribe() };
    },
    inbox: () => createInbox(),
    // the connection is shared and closed by whoever opened it
    close: () => Promise.resolve(),
  };
}
