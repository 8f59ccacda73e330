// A message board behind the gateway: reads are public, writes need an API key with the
// board:write scope (the gateway checks it; the function sees who in X-Litefaas-Auth), and
// new messages go out to every open WebSocket at /board/live.
interface Env {
  kv: {
    get(key: string, type: "json"): Promise<unknown>;
    put(key: string, value: string): Promise<unknown>;
  };
}
interface Socket {
  accept(): void;
  send(data: string): void;
  addEventListener(type: "close", listener: () => void): void;
}
interface Message {
  text: string;
  by: string;
  at: string;
}
declare const WebSocketPair: new () => { 0: Socket; 1: Socket };

const live = new Set<Socket>();

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const messages = ((await env.kv.get("messages", "json")) ?? []) as Message[];
    if (url.pathname === "/board/live") {
      if (request.headers.get("upgrade") !== "websocket")
        return new Response("connect with a WebSocket", { status: 426 });
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      live.add(server);
      server.addEventListener("close", () => live.delete(server));
      return new Response(null, { status: 101, webSocket: client } as ResponseInit);
    }
    if (request.method === "POST") {
      const body = (await request.json().catch(() => ({}))) as { text?: unknown };
      if (typeof body.text !== "string" || body.text.length === 0 || body.text.length > 280)
        return Response.json(
          { error: 'send {"text": "…"} of 1 to 280 characters' },
          { status: 400 },
        );
      const caller = JSON.parse(request.headers.get("x-litefaas-auth") ?? "{}") as {
        name?: string;
      };
      const message: Message = {
        text: body.text,
        by: caller.name ?? "anonymous",
        at: new Date().toISOString(),
      };
      await env.kv.put("messages", JSON.stringify([...messages, message].slice(-100)));
      for (const socket of live) socket.send(JSON.stringify(message));
      return Response.json(message, { status: 201 });
    }
    return Response.json(messages);
  },
};
