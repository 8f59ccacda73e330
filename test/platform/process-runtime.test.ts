// Functions as sandboxed processes speaking the Lambda Runtime API, through a real `litefaas up`:
// a Python function (HTTP as API Gateway v2 events, its KV store, SQL database and events, out
// and in), AWS's shell custom-runtime tutorial unmodified, and a custom runtime written from the
// Runtime API's public description.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { eventually, eventuallyValue } from "../kit/eventually.js";
import { errorCode, FIXTURES, startPlatform, type Platform } from "../kit/platform.js";

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

describe("process runtimes", () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform();
    const deployed = await platform.deploy("polyglot");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => platform.dispose());

  it("serves a Python handler through a route, with API Gateway v2's event and result", async () => {
    const response = await platform.fetch("/hello/there?a=1&b=2");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-runtime"), "python");
    assert.deepEqual(await json(response), {
      greeting: "hi",
      method: "GET",
      path: "/hello/there",
      query: { a: "1", b: "2" },
      remaining: true,
    });
  });

  it("gives a Python function its own KV store and SQL database", async () => {
    const first = await json<{ visits: number }>(await platform.fetch("/hello/kv"));
    const second = await json<{ visits: number }>(await platform.fetch("/hello/kv"));
    assert.equal(second.visits, first.visits + 1);
    await platform.fetch("/hello/sql", { method: "POST", body: "first note" });
    const rows = await json<Array<{ id: number; text: string }>>(
      await platform.fetch("/hello/sql", { method: "POST", body: "second note" }),
    );
    assert.deepEqual(
      rows.slice(-2).map((r) => r.text),
      ["first note", "second note"],
    );
    const sqlCli = await platform.cli(["sql", "polyglot/hello", "SELECT count(*) AS n FROM notes"]);
    assert.equal(sqlCli.code, 0, sqlCli.stderr);
    assert.match(sqlCli.stdout, /\b2\b/);
  });

  it("gives Python the KV semantics of the isolate: revisions, conflicts, lists, bytes", async () => {
    const tour = await json(await platform.fetch("/hello/kv-tour"));
    assert.deepEqual(tour, {
      conflict: true,
      listed: ["tour:a", "tour:b"],
      value: { n: 1 },
      sameRevision: true,
      bytes: [0, 255],
      gone: true,
    });
  });

  it("offers a request/response style in litefaas.http", async () => {
    const created = await platform.fetch("/web/7", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 1 }),
    });
    assert.equal(created.status, 201);
    assert.deepEqual(await json(created), { got: { a: 1 }, params: { id: "7" } });
    const greeted = await platform.fetch("/web/8?name=ann");
    assert.equal(greeted.headers.get("x-style"), "http");
    assert.match(greeted.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await greeted.text(), "hello ann");
  });

  it("publishes events from Python and consumes them as SQS-style messages", async () => {
    const published = await platform.fetch("/hello/publish");
    assert.deepEqual(await json(published), { published: true });
    const last = await eventuallyValue("the message handled", async () => {
      const state = await json<{ last: string | null }>(await platform.fetch("/hello/kv"));
      return state.last ?? undefined;
    });
    assert.deepEqual(JSON.parse(last), { from: "python" });
    const outside = await platform.cli([
      "events",
      "publish",
      "polyglot",
      "greetings.cli",
      '{"from":"cli"}',
    ]);
    assert.equal(outside.code, 0, outside.stderr);
    await eventually("the CLI's event handled", async () => {
      const state = await json<{ last: string | null }>(await platform.fetch("/hello/kv"));
      return state.last !== null && (JSON.parse(state.last) as { from: string }).from === "cli";
    });
  });

  it("runs a Python function on its cron schedule, as EventBridge events", async () => {
    await eventually("two ticks", async () => {
      const got = await platform.cli(["kv", "get", "polyglot/ticker", "ticks"]);
      return got.code === 0 && Number(got.stdout.trim()) >= 2;
    });
  });

  it("takes async invocations of a Python function, with the result kept", async () => {
    const accepted = await platform.fetch("/hello/kv?async=1");
    assert.equal(accepted.status, 202);
    const { statusUrl } = await json<{ statusUrl: string }>(accepted);
    const done = await eventuallyValue("the async invocation done", async () => {
      const record = await json<{ status: string; result?: { status: number; body: string } }>(
        await platform.fetch(statusUrl),
      );
      return record.status === "succeeded" ? record : undefined;
    });
    assert.equal(done.result?.status, 200);
    assert.match(done.result?.body ?? "", /"visits":\s*\d+/);
  });

  it("answers a raised exception with 500 FUNCTION_ERROR and logs its traceback", async () => {
    const response = await platform.fetch("/hello/fail");
    assert.equal(response.status, 500);
    assert.equal(await errorCode(response), "FUNCTION_ERROR");
    const requestId = response.headers.get("x-request-id") ?? "";
    await eventually("the traceback in the logs", async () => {
      const logs = await platform.cli(["logs", "polyglot/hello", "--json", "--limit", "200"]);
      return logs.stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as { requestId: string; message: string })
        .some(
          (l) =>
            l.requestId === requestId &&
            l.message.includes("ValueError: asked to fail") &&
            l.message.includes('main.py", line'),
        );
    });
    // and serves on
    assert.equal((await platform.fetch("/hello/again")).status, 200);
  });

  it("keeps a handler's printed lines as its log, under the invocation's request id", async () => {
    const response = await platform.fetch("/hello/printing", {
      headers: { "x-request-id": "python-print-1" },
    });
    assert.equal(response.status, 200);
    await eventually("the printed line", async () => {
      const logs = await platform.cli(["logs", "polyglot/hello", "--json", "--limit", "200"]);
      return logs.stdout.includes("hello from polyglot-hello (python-print-1)");
    });
  });

  it("runs AWS's shell custom-runtime tutorial bootstrap unmodified", async () => {
    const response = await platform.fetch("/fn/polyglot/report/abc?x=1");
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /^Echoing request: '\{"version":"2.0"/);
    assert.match(text, /"rawPath":"\/abc"/);
  });

  it("runs a custom runtime written from the Runtime API's description", async () => {
    const response = await platform.fetch("/fn/polyglot/ric/path");
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("x-runtime"), "ric");
    assert.equal(await response.text(), "ric saw /path");
    const failed = await platform.fetch("/fn/polyglot/ric/boom");
    assert.equal(failed.status, 500);
    assert.equal(await errorCode(failed), "FUNCTION_ERROR");
  });

  it("runs Node with its full API as a node-process function, with bindings from litefaas", async () => {
    const first = await json<{ visits: number }>(await platform.fetch("/fn/polyglot/nodey/x"));
    const response = await platform.fetch("/fn/polyglot/nodey/y");
    assert.equal(response.headers.get("x-runtime"), "node");
    const second = await json<Record<string, unknown>>(response);
    assert.deepEqual(second, {
      visits: first.visits + 1,
      sha: createHash("sha256").update("litefaas").digest("hex").slice(0, 12),
      ownSource: true,
      function: "polyglot-nodey",
      path: "/y",
    });
    const thrown = await platform.fetch("/fn/polyglot/nodey/throw");
    assert.equal(thrown.status, 500);
    assert.equal(await errorCode(thrown), "FUNCTION_ERROR");
  });

  it("puts a function's python/ folder on the path, as requirements.txt installs there", async () => {
    const response = await platform.fetch("/web/shout?name=ann");
    assert.equal(await response.text(), "ANN!");
  });

  it("refuses a deploy whose requirements.txt cannot be installed, saying how to fix it", async () => {
    const result = await platform.cli(["deploy", join(FIXTURES, "python-reqs")], {
      PIP_INDEX_URL: "http://127.0.0.1:9/simple",
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /BUILD_FAILED|installing .*requirements\.txt failed/);
    assert.match(result.stderr, /PIP_INDEX_URL|vendor/);
  });

  it("refuses at deploy a Python handler that does not import, naming the error", async () => {
    const result = await platform.deploy("polyglot-broken");
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /FUNCTION_INIT_FAILED|ImportModuleError|No module named/);
  });
});
