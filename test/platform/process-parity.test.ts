// The process runtimes besides Python, through a real `litefaas up`, on the checks the isolate
// fixtures pass: HTTP, the function's own KV store and SQL database, events out and in (each
// function consumes what the other publishes), log lines under their request id, and limits.
// The node-process function uses the "litefaas" SDK; the shell one is AWS's tutorial bootstrap
// with a handler that calls the local API with curl, as docs/runtime-api.md describes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, startPlatform, type Platform } from "../kit/platform.js";

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

/** What a shell handler gets back from a binding call. */
type Wire = { value: unknown };
const bytesText = (value: unknown): string =>
  Buffer.from((value as { $bytes: string }).$bytes, "base64").toString("utf8");

describe("process runtimes: node-process and a shell bootstrap, end to end", () => {
  let platform: Platform;
  const call = (fn: "node" | "shell", path: string) => platform.fetch(`/fn/parity/${fn}${path}`);

  before(async () => {
    platform = await startPlatform();
    const deployed = await platform.deploy("polyglot-parity");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => platform.dispose());

  it("node-process: HTTP, its KV store and its own SQL database", async () => {
    assert.deepEqual(await json(await call("node", "/kv")), { value: "from node" });
    await call("node", "/sql");
    assert.deepEqual(await json(await call("node", "/sql")), [{ text: "node", n: 2 }]);
  });

  it("shell: HTTP, its KV store and its own SQL database over the local API", async () => {
    const kv = await json<Wire>(await call("shell", "/kv"));
    assert.equal(bytesText(kv.value), "from shell");
    await call("shell", "/sql");
    const [columns, rows] = (await json<Wire>(await call("shell", "/sql"))).value as [
      string[],
      unknown[][],
    ];
    // its own database: the node function's rows are not in it
    assert.deepEqual(columns, ["text", "n"]);
    assert.deepEqual(rows, [["shell", 2]]);
  });

  it("node-process publishes an event that the shell function consumes as an SQS message", async () => {
    assert.deepEqual(await json(await call("node", "/publish")), { published: true });
    const event = await eventuallyValue("the shell function's message", async () => {
      const last = await json<Wire>(await call("shell", "/last"));
      return last.value === null ? undefined : bytesText(last.value);
    });
    const { Records } = JSON.parse(event) as { Records: Array<{ body: string }> };
    assert.equal(Records.length, 1);
    assert.deepEqual(JSON.parse(Records[0]?.body ?? ""), { from: "node" });
  });

  it("the shell function publishes an event that node-process consumes", async () => {
    const published = await call("shell", "/publish");
    assert.equal(published.status, 200);
    const last = await eventuallyValue("the node function's message", async () => {
      const state = await json<{ last: string | null }>(await call("node", "/last"));
      return state.last ?? undefined;
    });
    assert.deepEqual(JSON.parse(last), { from: "shell" });
  });

  it("keeps each runtime's output as log lines under the invocation's request id", async () => {
    for (const [fn, lines] of [
      ["node", ["node says hello to the log", "node warns the log"]],
      ["shell", ["shell says hello to the log"]],
    ] as const) {
      const response = await call(fn, "/log");
      assert.equal(response.status, 200);
      const requestId = response.headers.get("x-request-id");
      assert.ok(requestId !== null);
      const logged = await eventuallyValue(`${fn}'s lines in the log`, async () => {
        const logs = await platform.cli(["logs", `parity/${fn}`, "--json", "--limit", "200"]);
        const entries = logs.stdout
          .split("\n")
          .filter((text) => text.startsWith("{"))
          .map((text) => JSON.parse(text) as { requestId: string; message: string })
          .filter((entry) => (lines as readonly string[]).includes(entry.message));
        return entries.length === lines.length ? entries : undefined;
      });
      assert.deepEqual(
        // stdout and stderr are two pipes: their lines may interleave either way
        logged.map((entry) => [entry.message, entry.requestId]).sort(),
        lines.map((line) => [line, requestId]).sort(),
        fn,
      );
    }
  });

  it("ends an invocation past its timeout with 504 FUNCTION_TIMEOUT, in either runtime, and serves on", async () => {
    for (const fn of ["node", "shell"] as const) {
      const slow = await call(fn, "/sleep");
      assert.equal(slow.status, 504, fn);
      assert.equal(await errorCode(slow), "FUNCTION_TIMEOUT", fn);
      assert.equal((await call(fn, "/kv")).status, 200, `${fn} serves after the timeout`);
    }
  });

  it("holds node-process to its memory limit: FUNCTION_MEMORY_LIMIT, then serves on", async () => {
    const over = await call("node", "/alloc");
    assert.equal(over.status, 500);
    assert.equal(await errorCode(over), "FUNCTION_MEMORY_LIMIT");
    assert.deepEqual(await json(await call("node", "/kv")), { value: "from node" });
  });
});
