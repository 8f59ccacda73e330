// A WebSocket client for tests (the ws package): connect, take messages in order, see the close.
import { WebSocket } from "ws";

export interface Client {
  ws: WebSocket;
  /** The next message, as text or bytes. */
  next(): Promise<string | Buffer>;
  closed: Promise<{ code: number; reason: string }>;
  headers: Record<string, string | string[] | undefined>;
}

/** Connect; resolves once open, or rejects with the HTTP status the gateway answered instead. */
export function connect(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<Client> {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
  const queue: Array<string | Buffer> = [];
  const waiting: Array<(message: string | Buffer) => void> = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    const message = isBinary ? data : data.toString();
    const waiter = waiting.shift();
    if (waiter === undefined) queue.push(message);
    else waiter(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
  let headers: Client["headers"] = {};
  ws.on("upgrade", (response) => (headers = response.headers));
  return new Promise((resolve, reject) => {
    ws.on("open", () =>
      resolve({
        ws,
        closed,
        headers,
        next: () =>
          new Promise((take) => {
            const queued = queue.shift();
            if (queued === undefined) waiting.push(take);
            else take(queued);
          }),
      }),
    );
    ws.on("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () =>
        reject(
          Object.assign(new Error(`HTTP ${response.statusCode}`), {
            status: response.statusCode,
            body,
          }),
        ),
      );
    });
    ws.on("error", (error) => reject(error));
  });
}
