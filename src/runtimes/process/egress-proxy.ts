// The only way out of a process sandbox: an HTTP proxy on the instance's own Unix socket (socat
// carries it to 127.0.0.1:9002 inside, named by HTTPS_PROXY and HTTP_PROXY). HTTPS goes
// through CONNECT as an opaque tunnel; plain HTTP is forwarded. Every target is checked as the
// isolate's fetch checks it (the egress list, then every address the name resolves to), and
// the connection goes to exactly the checked addresses.
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { EgressCheck } from "../isolate/isolate-instance.js";

const HOP_BY_HOP = new Set([
  "proxy-connection",
  "proxy-authorization",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
]);
const CONNECT_TIMEOUT_MS = 10_000;

export class EgressProxy {
  readonly server: Server;

  constructor(
    private readonly check: EgressCheck,
    /** A refusal, for the function's log. */
    private readonly refused: (message: string) => void,
  ) {
    this.server = createServer((req, res) => {
      this.forward(req, res).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (!res.headersSent) {
          res.writeHead(403, { "content-type": "text/plain; charset=utf-8", connection: "close" });
        }
        res.end(`litefaas egress: ${message}\n`);
      });
    });
    this.server.on("connect", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.tunnel(req, socket, head).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        socket.end(
          `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\n` +
            `connection: close\r\n\r\nlitefaas egress: ${message}\n`,
        );
      });
    });
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(path, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  /** CONNECT host:port: a tunnel to a checked address. */
  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer) {
    client.on("error", () => undefined);
    const { hostname, port } = parseAuthority(req.url ?? "");
    const upstream = await this.open(hostname, port);
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  }

  /** An absolute-form HTTP request: forwarded to a checked address. */
  private async forward(req: IncomingMessage, res: import("node:http").ServerResponse) {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      throw new Error(`${req.url ?? ""} is not an absolute URL; send requests through the proxy`);
    }
    if (url.protocol !== "http:") throw new Error(`${url.protocol} goes through CONNECT`);
    const port = url.port === "" ? 80 : Number(url.port);
    const hostname = url.hostname.replace(/^\[|\]$/g, "");
    const socket = await this.open(hostname, port);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    const upstream = request(
      {
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
        createConnection: () => socket,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => res.destroy(error));
    req.pipe(upstream);
  }

  private async open(hostname: string, port: number): Promise<Socket> {
    let addresses: ReadonlyArray<{ address: string; family: 4 | 6 }>;
    try {
      addresses = await this.check(hostname, port);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.refused(`egress refused: ${message}`);
      throw error;
    }
    let last: unknown;
    for (const { address } of addresses) {
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: address, port, timeout: CONNECT_TIMEOUT_MS });
          socket.once("connect", () => {
            socket.setTimeout(0);
            resolve(socket);
          });
          socket.once("timeout", () => socket.destroy(new Error(`${hostname}:${port} timed out`)));
          socket.once("error", reject);
        });
      } catch (error) {
        last = error;
      }
    }
    throw last instanceof Error ? last : new Error(`could not connect to ${hostname}:${port}`);
  }
}

function parseAuthority(authority: string): { hostname: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
  if (match === null) throw new Error(`CONNECT ${authority}: expected host:port`);
  return { hostname: (match[1] as string).toLowerCase(), port: Number(match[2]) };
}
