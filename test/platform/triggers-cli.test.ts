// The operator's side of triggers, through the CLI and the admin API: publishing events, the
// dead-letter queue (list, show, redrive, purge) and async invocations.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT, errorCode, startPlatform, type CliResult, type Platform } from "../kit/platform.js";
import { eventuallyValue as eventually } from "../kit/eventually.js";
import type { DeadLetterView as DeadLetter } from "../../src/control/dead-letter-view.js";

const FN = "triggers-cli/worker";

interface Page {
  items: DeadLetter[];
  cursor?: string;
  count: number;
}
interface Stored {
  subject: string;
  data: unknown;
  headers: Record<string, string>;
}
interface InvocationRecord {
  id: string;
  status: string;
  attempts: number;
  result?: { status: number; body: string; encoding: string };
}

/** Poll until `probe` gives a value; no timing is asserted, only a give-up. */

describe("triggers from the CLI and the admin API", () => {
  let platform: Platform;
  let scratch: string;

  const admin = (
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
  ) =>
    platform.fetch(path, {
      ...init,
      headers: { authorization: `Bearer ${platform.token}`, ...init.headers },
    });
  const cliJson = async <T>(args: string[]): Promise<T> => {
    const result = await platform.cli([...args, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as T;
  };
  const dlq = () => admin(`/admin/v1/functions/${FN}/dlq`).then((r) => r.json() as Promise<Page>);
  /** What the worker stored, by the tag in the event's data. */
  const storedByTag = async (tag: string): Promise<Stored | undefined> => {
    const listed = (await (await admin(`/admin/v1/functions/${FN}/kv`)).json()) as {
      keys: Array<{ key: string }>;
    };
    for (const { key } of listed.keys) {
      const value = (await (
        await admin(`/admin/v1/functions/${FN}/kv/${encodeURIComponent(key)}`)
      ).json()) as Stored;
      if ((value.data as { tag?: unknown } | null)?.tag === tag) return value;
      if (value.data === tag) return value;
    }
    return undefined;
  };

  before(async () => {
    platform = await startPlatform();
    scratch = await mkdtemp(join(tmpdir(), "litefaas-triggers-cli-"));
    const deployed = await platform.deploy("triggers-cli");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    await platform.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  it("requires the admin token on every trigger route", async () => {
    const routes: Array<[string, string]> = [
      ["POST", "/admin/v1/projects/triggers-cli/events/jobs.a"],
      ["GET", `/admin/v1/functions/${FN}/dlq`],
      ["GET", `/admin/v1/functions/${FN}/dlq/some-id`],
      ["POST", `/admin/v1/functions/${FN}/dlq/redrive`],
      ["POST", `/admin/v1/functions/${FN}/dlq/purge`],
      ["GET", `/admin/v1/invocations/${randomUUID()}`],
    ];
    for (const [method, path] of routes) {
      const response = await platform.fetch(path, {
        method,
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      assert.equal(response.status, 401, `${method} ${path}`);
      assert.equal(await errorCode(response), "UNAUTHORIZED");
    }
    const cli = await platform.cli(["dlq", "ls", FN], { LITEFAAS_TOKEN: "lf_wrong" });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /fix: /);
  });

  it("publishes events from an argument, a file and stdin to a consumer function", async () => {
    const tag = randomUUID();
    const published = await platform.cli([
      "events",
      "publish",
      "triggers-cli",
      "jobs.argument",
      JSON.stringify({ tag }),
      "--header",
      "trace=t1",
    ]);
    assert.equal(published.code, 0, published.stderr);
    assert.equal(published.stdout.trim(), "published jobs.argument");
    const stored = await eventually("the worker to store the event", () => storedByTag(tag));
    assert.equal(stored.subject, "jobs.argument");
    assert.deepEqual(stored.data, { tag });
    assert.equal(stored.headers["trace"], "t1");
    assert.equal(stored.headers["content-type"], "application/json");

    const fileTag = `file-${randomUUID()}`;
    const file = join(scratch, "event.txt");
    await writeFile(file, fileTag);
    const fromFile = await cliJson<{ published: boolean; subject: string }>([
      "events",
      "publish",
      "triggers-cli",
      "jobs.file",
      "--file",
      file,
    ]);
    assert.deepEqual(fromFile, { published: true, subject: "jobs.file" });
    const text = await eventually("the file's event", () => storedByTag(fileTag));
    assert.equal(text.headers["content-type"], "text/plain; charset=utf-8");

    const stdinTag = randomUUID();
    const piped = await cliWithStdin(
      platform,
      ["events", "publish", "triggers-cli", "jobs.stdin"],
      JSON.stringify({ tag: stdinTag }),
    );
    assert.equal(piped.code, 0, piped.stderr);
    const fromStdin = await eventually("stdin's event", () => storedByTag(stdinTag));
    assert.equal(fromStdin.subject, "jobs.stdin");
  });

  it("accepts an event for a project with no consumer (202)", async () => {
    const response = await admin("/admin/v1/projects/nobody-home/events/jobs.a", {
      method: "POST",
      headers: { "content-type": "text/plain", "x-event-header-trace": "t2" },
      body: "hello",
    });
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { published: true, subject: "jobs.a" });
  });

  it("refuses an invalid subject, reserved header or oversized event with a fix", async () => {
    for (const subject of ["jobs.*", "jobs..a", "jobs.>"]) {
      const response = await admin(
        `/admin/v1/projects/triggers-cli/events/${encodeURIComponent(subject)}`,
        { method: "POST", body: "{}" },
      );
      assert.equal(response.status, 400, subject);
      const body = (await response.json()) as { error: { code: string; fix?: string } };
      assert.equal(body.error.code, "INVALID_REQUEST");
      assert.ok(body.error.fix !== undefined && body.error.fix.length > 0);
    }
    const cli = await platform.cli(["events", "publish", "triggers-cli", "jobs.*", "{}"]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /fix: /);
    assert.match(cli.stderr, /INVALID_REQUEST/);

    const forged = await admin("/admin/v1/projects/triggers-cli/events/jobs.a", {
      method: "POST",
      headers: { "x-event-header-litefaas-kind": "http" },
      body: "{}",
    });
    assert.equal(forged.status, 400);
    assert.equal(await errorCode(forged), "INVALID_REQUEST");

    const large = await admin("/admin/v1/projects/triggers-cli/events/jobs.a", {
      method: "POST",
      body: new Uint8Array(1024 * 1024 + 1),
    });
    assert.equal(large.status, 413);
    assert.equal(await errorCode(large), "BODY_TOO_LARGE");
  });

  it("answers 404 for a function that does not exist", async () => {
    for (const [method, path] of [
      ["GET", "/admin/v1/functions/triggers-cli/nope/dlq"],
      ["GET", "/admin/v1/functions/triggers-cli/nope/dlq/x"],
      ["POST", "/admin/v1/functions/triggers-cli/nope/dlq/redrive"],
      ["POST", "/admin/v1/functions/triggers-cli/nope/dlq/purge"],
    ] as const) {
      const response = await admin(path, { method, ...(method === "POST" ? { body: "{}" } : {}) });
      assert.equal(response.status, 404, path);
      assert.equal(await errorCode(response), "FUNCTION_NOT_FOUND");
    }
    const cli = await platform.cli(["dlq", "ls", "triggers-cli/nope"]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /FUNCTION_NOT_FOUND/);
    assert.match(cli.stderr, /fix: /);
    // a function with no subjects has a dead-letter queue too, empty
    const web = await cliJson<Page>(["dlq", "ls", "triggers-cli/web"]);
    assert.deepEqual(web, { items: [], count: 0 });
  });

  it("dead-letters a failing message; ls, show, redrive and purge it", async () => {
    const tag = randomUUID();
    const published = await platform.cli([
      "events",
      "publish",
      "triggers-cli",
      "jobs.fail",
      JSON.stringify({ fail: true, tag }),
    ]);
    assert.equal(published.code, 0, published.stderr);
    const first = await eventually("the message in the DLQ", async () =>
      (await dlq()).items.find((d) => d.data.includes(tag)),
    );
    assert.equal(first.subject, "jobs.fail");
    assert.equal(first.kind, "message");
    assert.equal(first.attempts, 2);
    assert.match(first.reason, /FUNCTION_ERROR/);
    assert.equal(first.encoding, "utf8");
    assert.deepEqual(JSON.parse(first.data), { fail: true, tag });

    const listed = await cliJson<Page>(["dlq", "ls", FN]);
    assert.equal(listed.count, 1);
    assert.deepEqual(listed.items, [first]);
    const human = await platform.cli(["dlq", "ls", FN]);
    assert.equal(human.code, 0, human.stderr);
    const [header, row] = human.stdout.trim().split("\n");
    assert.match(header ?? "", /^ID\s+SUBJECT\s+ATTEMPTS\s+FAILED AT\s+REASON$/);
    assert.match(
      row ?? "",
      new RegExp(`^${first.id}\\s+jobs\\.fail\\s+2\\s+\\S+\\s+FUNCTION_ERROR`),
    );

    const shown = await platform.cli(["dlq", "show", FN, first.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`id:\\s+${first.id}`));
    assert.match(shown.stdout, /attempts:\s+2/);
    assert.ok(shown.stdout.includes(tag));
    assert.deepEqual(await cliJson<DeadLetter>(["dlq", "show", FN, first.id]), first);
    const missing = await platform.cli(["dlq", "show", FN, "no-such-id"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND/);
    assert.match(missing.stderr, /fix: .*dlq ls/);

    // back to the function: it fails again, twice (a new series), and returns to the DLQ
    assert.deepEqual(await cliJson(["dlq", "redrive", FN]), { redriven: 1 });
    const again = await eventually("the redriven message back in the DLQ", async () =>
      (await dlq()).items.find((d) => d.data.includes(tag) && d.failedAt > first.failedAt),
    );
    assert.equal(again.attempts, 2);
    assert.equal((await dlq()).count, 1);

    const refused = await platform.cli(["dlq", "purge", FN]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /fix: .*--yes/);
    assert.equal((await dlq()).count, 1);
    assert.deepEqual(await cliJson(["dlq", "purge", FN, "no-such-id"]), { purged: 0 });
    const purged = await platform.cli(["dlq", "purge", FN, "--yes"]);
    assert.equal(purged.code, 0, purged.stderr);
    assert.match(purged.stdout, /deleted 1 dead letter/);
    assert.deepEqual(await dlq(), { items: [], count: 0 });
    const empty = await platform.cli(["dlq", "ls", FN]);
    assert.match(empty.stdout, /no dead letters/);
  });

  it("invokes asynchronously and shows the invocation's record", async () => {
    const accepted = await cliJson<{ id: string; status: string; statusUrl: string }>([
      "invoke",
      "triggers-cli/web",
      "--async",
      "--path",
      "/hello",
      "--data",
      "hi",
    ]);
    assert.equal(accepted.status, "queued");
    assert.equal(accepted.statusUrl, `${platform.url}/invocations/${accepted.id}`);
    const human = await platform.cli(["invoke", "triggers-cli/web", "--async"]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^[0-9a-f-]{36}\nstatus: http:\/\/\S+\/invocations\/[0-9a-f-]{36}/);

    await eventually("the async invocation to finish", async () => {
      const response = await admin(`/admin/v1/invocations/${accepted.id}`);
      const record = (await response.json()) as InvocationRecord;
      return record.status === "succeeded" || record.status === "failed" ? record : undefined;
    });
    const done = await cliJson<InvocationRecord>(["invocations", "get", accepted.id]);
    assert.equal(done.status, "succeeded", JSON.stringify(done));
    assert.ok(done.result !== undefined);
    assert.equal(done.result.status, 200);
    assert.deepEqual(JSON.parse(done.result.body), { method: "POST", path: "/hello", body: "hi" });
    // the admin route answers what the gateway's public one does
    const publicRecord = (await (
      await platform.fetch(`/invocations/${accepted.id}`)
    ).json()) as InvocationRecord;
    assert.deepEqual(publicRecord, done);
    const shown = await platform.cli(["invocations", "get", accepted.id]);
    assert.match(shown.stdout, /status:\s+succeeded/);
    assert.match(shown.stdout, /HTTP 200/);

    const key = randomUUID();
    const once = await cliJson<{ id: string; replayed: boolean }>([
      "invoke",
      "triggers-cli/web",
      "--async",
      "--idempotency-key",
      key,
    ]);
    const twice = await cliJson<{ id: string; replayed: boolean }>([
      "invoke",
      "triggers-cli/web",
      "--async",
      "--idempotency-key",
      key,
    ]);
    assert.equal(twice.id, once.id);
    assert.equal(once.replayed, false);
    assert.equal(twice.replayed, true);

    const unknown = await platform.cli(["invocations", "get", randomUUID()]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /NOT_FOUND/);
    const noFunction = await platform.cli(["invoke", "triggers-cli/nope", "--async"]);
    assert.equal(noFunction.code, 1);
    assert.match(noFunction.stderr, /FUNCTION_NOT_FOUND/);
  });
});

/** The CLI with `input` on a piped stdin (the kit's runner gives it none). */
function cliWithStdin(platform: Platform, args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--no-node-snapshot", join(ROOT, "dist/src/cli/main.js"), ...args],
      {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, LITEFAAS_URL: platform.url, LITEFAAS_TOKEN: platform.token },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}
