// Remote invocations over the in-process bus: a gateway's invoker and a worker's server, with the
// worker's local invoker a function of the test's own. What the cluster tests show end to end
// (test/platform/roles.test.ts), this shows precisely: bodies in pieces, the credit window,
// errors by code, cancels, and the bounds on waiting for a worker.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createMemoryBus } from "../../src/backends/memory-bus/index.js";
import type { Invoker } from "../../src/invoke/index.js";
import { PIECE_BYTES, WINDOW } from "../../src/invoke/remote/frames.js";
import { createRemoteInvoker, serveInvocations } from "../../src/invoke/remote/index.js";
import type { BusPort } from "../../src/ports/bus.js";
import type {
  FunctionVersion,
  InvocationRequest,
  InvocationResponse,
} from "../../src/runtimes/types.js";
import { LitefaasError } from "../../src/shared/errors.js";

const fn = { project: "p", name: "f", version: 3 } as FunctionVersion;

const request = (body: Uint8Array | null, method = "POST"): InvocationRequest => ({
  id: "r1",
  method,
  url: "http://x/",
  headers: ["x-a", "1"],
  body,
  sourceIp: "127.0.0.1",
  cancel: { onCancel: undefined },
});

/** A worker on `bus` whose functions run `run`. */
function worker(
  bus: BusPort,
  run: (request: InvocationRequest) => Promise<Omit<InvocationResponse, "coldStart">>,
  capacity = 10,
) {
  const local: Invoker = {
    resolve: () => fn,
    invoke: async (_fn, r) => ({ ...(await run(r)), coldStart: false }),
  };
  return serveInvocations({
    bus,
    cluster: "c",
    invoker: local,
    version: (project, name, version) => Promise.resolve(version === fn.version ? fn : undefined),
    capacity,
  });
}

const gatewayOn = (bus: BusPort, options: { queueForMs?: number; maxWaiting?: number } = {}) =>
  createRemoteInvoker({ bus, cluster: "c", resolve: () => fn, ...options });

async function collect(body: InvocationResponse["body"]): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

describe("remote invocations", () => {
  it("carries the request and a buffered answer many pieces long, byte for byte", async () => {
    const bus = createMemoryBus();
    const seen: InvocationRequest[] = [];
    const server = worker(bus, (r) => {
      seen.push(r);
      return Promise.resolve({ status: 201, headers: ["x-b", "2"], body: r.body ?? null });
    });
    const body = randomBytes(3 * PIECE_BYTES + 17);
    const answer = await gatewayOn(bus).invoke(fn, request(body));
    assert.equal(answer.status, 201);
    assert.deepEqual(answer.headers, ["x-b", "2"]);
    assert.ok((await collect(answer.body)).equals(body));
    assert.equal(seen[0]?.method, "POST");
    assert.deepEqual(seen[0]?.headers, ["x-a", "1"]);
    await server.close();
  });

  it("streams an answer no more than the credit window ahead of the reader", async () => {
    const bus = createMemoryBus();
    let produced = 0;
    const server = worker(bus, () =>
      Promise.resolve({
        status: 200,
        headers: [],
        body: (async function* () {
          for (let i = 0; i < 40; i++) {
            await Promise.resolve();
            produced++;
            yield new Uint8Array([i]);
          }
        })(),
      }),
    );
    const answer = await gatewayOn(bus).invoke(fn, request(null, "GET"));
    const iterator = (answer.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.deepEqual([...(first.value as Uint8Array)], [0]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(produced <= WINDOW + 2, `the worker ran ${produced} pieces ahead`);
    const rest: number[] = [];
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next())
      rest.push(...r.value);
    assert.equal(rest.length, 39);
    assert.equal(produced, 40);
    await server.close();
  });

  it("gives the worker's error to the gateway by its code, and carries a cancel back", async () => {
    const bus = createMemoryBus();
    let cancelled: string | undefined;
    const server = worker(bus, (r) => {
      if (r.method === "DELETE")
        return Promise.reject(new LitefaasError("FUNCTION_TIMEOUT", "too slow", { fix: "faster" }));
      return new Promise((resolve) => {
        if (r.cancel !== undefined) {
          r.cancel.onCancel = (reason) => {
            cancelled = reason;
            resolve({ status: 499, headers: [], body: null });
          };
        }
      });
    });
    const gateway = gatewayOn(bus);
    await assert.rejects(gateway.invoke(fn, request(null, "DELETE")), (error: unknown) => {
      assert.ok(error instanceof LitefaasError);
      assert.equal(error.code, "FUNCTION_TIMEOUT");
      assert.equal(error.fix, "faster");
      return true;
    });
    const hanging = request(null, "GET");
    const answer = gateway.invoke(fn, hanging);
    // the gateway learns where to send a cancel from the worker's first alive frame
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    hanging.cancel?.onCancel?.("client went away");
    assert.equal((await answer).status, 499);
    assert.equal(cancelled, "client disconnected");
    await server.close();
  });

  it("carries WebSocket messages both ways, and closes both ends with 1001 when the worker stops", async () => {
    const bus = createMemoryBus();
    const heard: Array<string | Uint8Array> = [];
    let functionClosed: [number, string] | undefined;
    let toClient: ((data: string | Uint8Array) => void) | undefined;
    const server = worker(bus, () =>
      Promise.resolve({
        status: 101,
        headers: [],
        body: null,
        webSocket: {
          attach(peer) {
            toClient = (data) => peer.send(data);
            peer.send("welcome");
          },
          deliver: (data) => heard.push(data),
          closed: (code, reason) => (functionClosed = [code, reason]),
        },
      }),
    );
    const answer = await gatewayOn(bus).invoke(fn, request(null, "GET"));
    assert.equal(answer.status, 101);
    const socket = answer.webSocket;
    assert.ok(socket !== undefined);
    const received: Array<string | Uint8Array> = [];
    let clientClosed: [number, string] | undefined;
    socket.attach({
      send: (data) => received.push(data),
      close: (code, reason) => (clientClosed = [code, reason]),
    });
    socket.deliver("hi");
    socket.deliver(new Uint8Array([7, 8]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    toClient?.(new Uint8Array([9]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(received, ["welcome", new Uint8Array([9])]);
    assert.deepEqual(heard, ["hi", new Uint8Array([7, 8])]);
    await server.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(clientClosed, [1001, "the worker is shutting down"]);
    assert.deepEqual(functionClosed, [1001, "the worker is shutting down"]);
  });

  it("answers NO_WORKERS when no worker serves, after trying for the bounded time", async () => {
    const started = Date.now();
    await assert.rejects(
      gatewayOn(createMemoryBus(), { queueForMs: 150 }).invoke(fn, request(null)),
      (error: unknown) => error instanceof LitefaasError && error.code === "NO_WORKERS",
    );
    assert.ok(Date.now() - started >= 150, "it kept trying for queueForMs");
  });

  it("answers CLUSTER_BUSY when every worker is full, and refuses at once past the waiting bound", async () => {
    const bus = createMemoryBus();
    let release: (() => void) | undefined;
    let calls = 0;
    const server = worker(
      bus,
      () =>
        new Promise((resolve) => {
          const answer = () => resolve({ status: 200, headers: [], body: null });
          if (++calls === 1)
            release = answer; // the first holds the only slot
          else answer();
        }),
      1,
    );
    const gateway = gatewayOn(bus, { queueForMs: 60_000, maxWaiting: 2 });
    const holding = gateway.invoke(fn, request(null));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const settled: string[] = [];
    const waiters = [0, 1].map((i) =>
      gateway.invoke(fn, request(null)).then((r) => {
        settled.push(`waiter ${i}`);
        return r;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(gateway.invoke(fn, request(null)), (error: unknown) => {
      assert.ok(error instanceof LitefaasError);
      assert.equal(error.code, "CLUSTER_BUSY");
      return true;
    });
    assert.deepEqual(settled, [], "refused while both waiters were still waiting for a worker");
    release?.();
    assert.equal((await holding).status, 200);
    for (const waiter of waiters) assert.equal((await waiter).status, 200);
    await server.close();
  });

  it("answers CLUSTER_BUSY after the bounded time when the cluster stays full", async () => {
    const bus = createMemoryBus();
    const server = worker(bus, () => new Promise(() => undefined), 1);
    const gateway = gatewayOn(bus, { queueForMs: 150 });
    void gateway.invoke(fn, request(null)).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(
      gateway.invoke(fn, request(null)),
      (error: unknown) => error instanceof LitefaasError && error.code === "CLUSTER_BUSY",
    );
    assert.equal(server.inflight, 1, "the worker still holds the first");
  });
});
