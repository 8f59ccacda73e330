// Consumes orders.created. Returning acknowledges the event; throwing would retry it (3 tries),
// then put it in the dead-letter queue: litefaas dlq ls examples/fulfil
interface Env {
  kv: {
    put(key: string, value: string): Promise<number>;
    get(key: string): Promise<string | null>;
    list(o: { prefix: string }): Promise<{ keys: Array<{ name: string }> }>;
  };
}

interface Message {
  id: string;
  data: { id: string; item: string; at: number };
  attempt: number;
}

export default {
  async message(msg: Message, env: Env): Promise<void> {
    await env.kv.put(
      `order:${msg.data.id}`,
      JSON.stringify({ item: msg.data.item, fulfilledAt: Date.now(), attempt: msg.attempt }),
    );
  },
  // GET / shows what was fulfilled
  async fetch(_request: Request, env: Env): Promise<Response> {
    const { keys } = await env.kv.list({ prefix: "order:" });
    const orders: Record<string, unknown> = {};
    for (const { name } of keys)
      orders[name.slice(6)] = JSON.parse((await env.kv.get(name)) ?? "null");
    return Response.json(orders);
  },
};
