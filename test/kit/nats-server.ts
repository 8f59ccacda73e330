// A nats-server of a test's own (JetStream, a free port, a store in a temporary directory), for
// tests that stop and start the server or need a server no one else uses.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { probeTcp, type ServiceCheck } from "./services.js";

const NATS_SERVER = "/usr/sbin/nats-server";

/** Like the service itself, a missing nats-server binary skips loudly, and fails in CI. */
export function ownServerCheck(nats: ServiceCheck, what: string): ServiceCheck {
  if (nats.skip !== false || existsSync(NATS_SERVER)) return nats;
  const reason = `${what} (no ${NATS_SERVER})`;
  if (process.env["CI"] !== undefined && process.env["CI"] !== "") {
    throw new Error(`${reason}: CI requires it; install nats-server`);
  }
  console.log(`SKIPPED: ${reason}`);
  return { ...nats, skip: reason };
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export class OwnServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<OwnServer> {
    const server = new OwnServer(await mkdtemp(join(tmpdir(), "litefaas-nats-")), await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** (Re)start on the same port and store. */
  async start(): Promise<void> {
    const args = ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.dir];
    this.child = spawn(NATS_SERVER, args, { stdio: "ignore" });
    const giveUpAt = Date.now() + 60_000;
    while (!(await probeTcp("127.0.0.1", this.port, 200))) {
      if (Date.now() > giveUpAt) throw new Error("nats-server did not listen within 60 s");
      await delay(20);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
