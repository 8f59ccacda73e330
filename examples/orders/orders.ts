// POST / with {"item": "…"} takes an order and publishes orders.created; the answer does not wait
// for fulfilment. Try: curl -X POST localhost:8080/fn/examples/orders/ -d '{"item":"tea"}'
interface Env {
  events: { publish(subject: string, data: unknown): Promise<void> };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method !== "POST")
      return Response.json({ error: 'POST an order: {"item": "tea"}' }, { status: 405 });
    const order = (await request.json().catch(() => null)) as { item?: unknown } | null;
    if (typeof order?.item !== "string")
      return Response.json({ error: 'an order is {"item": "…"}' }, { status: 400 });
    const id = crypto.randomUUID();
    await env.events.publish("orders.created", { id, item: order.item, at: Date.now() });
    return Response.json({ id, status: "accepted" }, { status: 202 });
  },
};
