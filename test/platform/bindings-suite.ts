// The bindings suite, written once and run per backend set: env.kv, env.sql and env.events through a real `litefaas up`: each function's own store,
// isolation between functions, data that survives a restart, and migrations at deploy.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FIXTURES, startPlatform, type Platform } from "../kit/platform.js";

export interface BindingsSuiteOptions {
  /** Extra `up` flags selecting backends, e.g. ["--nats", url, "--postgres", url]. */
  args: string[];
  label: string;
}

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

export function bindingsSuite({ args, label }: BindingsSuiteOptions): void {
  describe(`bindings end to end (${label})`, () => {
    let platform: Platform;
    let project: string;
    // distributed backends outlive the test: a fresh project name per run keeps runs apart
    const p = `b${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

    before(async () => {
      project = await mkdtemp(join(tmpdir(), "litefaas-bindings-"));
      await cp(join(FIXTURES, "bindings"), project, { recursive: true });
      const manifest = join(project, "litefaas.yaml");
      await writeFile(
        manifest,
        (await readFile(manifest, "utf8")).replace("project: bindings", `project: ${p}`),
      );
      // 10 invocations per instance: 50 concurrent increments then run on 5 instances
      platform = await startPlatform({ args: [...args, "--per-instance", "10"] });
      const deployed = await platform.deploy(project);
      assert.equal(deployed.code, 0, deployed.stderr);
    });
    after(async () => {
      try {
        for (const fn of ["counter", "other", "todos", "kvprobe", "publisher", "spy"]) {
          const removed = await platform.cli(["rm", `${p}/${fn}`, "--purge"]);
          assert.equal(removed.code, 0, removed.stderr);
        }
      } finally {
        await platform.dispose();
      }
    });

    it("counts in KV exactly under concurrency, and the count survives SIGKILL", async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          platform.fetch(`/fn/${p}/counter/increment`).then((r) => json<{ value: number }>(r)),
        ),
      );
      const values = results.map((r) => r.value).sort((a, b) => a - b);
      const usage = await json<{ instances: number }>(
        await platform.fetch(`/admin/v1/functions/${p}/counter`, {
          headers: { authorization: `Bearer ${platform.token}` },
        }),
      );
      assert.ok(usage.instances >= 2, `the increments ran on ${usage.instances} instance(s)`);
      assert.deepEqual(
        values,
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      await platform.stop("SIGKILL");
      platform = await platform.restart();
      assert.deepEqual(await json(await platform.fetch(`/fn/${p}/counter/increment`)), {
        value: 51,
      });
    });

    it("keeps each function's KV apart: the same key in another function is another value", async () => {
      assert.deepEqual(await json(await platform.fetch(`/fn/${p}/other/get?key=hits`)), {
        value: null,
      });
      await platform.fetch(`/fn/${p}/other/put?key=hits`, { method: "POST", body: "mine" });
      assert.deepEqual(await json(await platform.fetch(`/fn/${p}/other/get?key=hits`)), {
        value: "mine",
      });
      const counter = await json<{ value: string }>(
        await platform.fetch(`/fn/${p}/counter/get?key=hits`),
      );
      assert.equal(counter.value, "51");
    });

    it("compare-and-set: a write against a stale revision is a KvConflictError", async () => {
      const cas = await json<{ conflict: boolean; name: string; first: boolean }>(
        await platform.fetch(`/fn/${p}/counter/cas?key=cas`),
      );
      assert.deepEqual(cas, { conflict: true, name: "KvConflictError", first: true });
    });

    it("answers each of many binding calls made at once with its own result", async () => {
      const many = await json<{ refused: string[]; wrong: number[] }>(
        await platform.fetch(`/fn/${p}/counter/many?n=200&key=many`),
      );
      assert.deepEqual(many.wrong, []);
      assert.deepEqual(
        many.refused,
        Array.from({ length: 20 }, (_, j) => `${j * 10 + 9}: KvConflictError`),
      );
    });

    it("expires keys with a TTL", async () => {
      await platform.fetch(`/fn/${p}/counter/put?key=short&ttl=1`, {
        method: "POST",
        body: "soon gone",
      });
      assert.deepEqual(await json(await platform.fetch(`/fn/${p}/counter/get?key=short`)), {
        value: "soon gone",
      });
      let value: unknown = "soon gone";
      for (let i = 0; i < 60 && value !== null; i++) {
        await new Promise((r) => setTimeout(r, 100));
        value = (
          await json<{ value: unknown }>(await platform.fetch(`/fn/${p}/counter/get?key=short`))
        ).value;
      }
      assert.equal(value, null);
    });

    it("refuses crafted keys or keeps them inside the function", async () => {
      const probe = await json<{ results: Record<string, string>; visible: string[] }>(
        await platform.fetch(`/fn/${p}/kvprobe/`),
      );
      assert.match(
        probe.results['""'] ?? "",
        /^refused: TypeError: a KV key is a non-empty string/,
      );
      assert.match(
        probe.results["aaaaaaaaaa…(10000)"] ?? "",
        /^refused: TypeError: a KV key is at most 512 bytes/,
      );
      assert.match(probe.results['"\\ud800bad"'] ?? "", /^refused: TypeError: .*lone surrogate/);
      for (const key of [
        '"../fn_bindings_counter/hits"',
        '"*"',
        '">"',
        '"hits"',
        '"a.b.>"',
        '"ключ/🙂"',
      ]) {
        assert.equal(probe.results[key], 'stored, reads back "probe"', key);
      }
      // what it can list is exactly what it wrote: nothing of counter's or other's
      assert.deepEqual(
        probe.visible,
        [
          "*",
          "../fn_bindings_counter/hits",
          ">",
          "a.b.>",
          "fn_bindings_counter_hits",
          "hits",
          "ключ/🙂",
        ].sort(),
      );
      assert.equal(
        (await json<{ value: string }>(await platform.fetch(`/fn/${p}/counter/get?key=hits`)))
          .value,
        "51",
      );
    });

    it("refuses a binding call made after its invocation ended, allows one inside waitUntil", async () => {
      await platform.fetch(`/fn/${p}/counter/late`);
      let outcome = "pending";
      for (let i = 0; i < 50 && outcome === "pending"; i++) {
        await new Promise((r) => setTimeout(r, 50));
        outcome = (
          await json<{ outcome: string }>(await platform.fetch(`/fn/${p}/counter/late-outcome`))
        ).outcome;
      }
      assert.match(outcome, /^refused: env\.kv\.get\(\) was called after its invocation ended/);
      await platform.fetch(`/fn/${p}/counter/waituntil`);
      let after: unknown = null;
      for (let i = 0; i < 50 && after === null; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = (
          await json<{ value: unknown }>(await platform.fetch(`/fn/${p}/counter/get?key=after`))
        ).value;
      }
      assert.equal(after, "written in waitUntil");
    });

    it("serves a todo API on SQL with the migrations applied at deploy", async () => {
      const created = await platform.fetch(`/fn/${p}/todos/todos`, {
        method: "POST",
        body: JSON.stringify({ title: "write tests", priority: 2 }),
      });
      assert.equal(created.status, 201);
      const todo = await json<{ id: number; title: string; priority: number }>(created);
      assert.equal(todo.title, "write tests");
      assert.equal(todo.priority, 2);
      assert.deepEqual(
        await json(
          await platform.fetch(`/fn/${p}/todos/todos/${todo.id}/done`, { method: "POST" }),
        ),
        { updated: 1 },
      );
      const list = await json<Array<{ id: number; done: unknown }>>(
        await platform.fetch(`/fn/${p}/todos/todos`),
      );
      assert.equal(list.length, 1);
      assert.ok(list[0]?.done === true || list[0]?.done === 1, `done is ${String(list[0]?.done)}`);
    });

    it("keeps each function's SQL apart: another function cannot read its rows by any route", async () => {
      const outcomes = await json<Record<string, string>>(await platform.fetch(`/fn/${p}/spy/`));
      assert.ok(Object.keys(outcomes).length >= 8);
      for (const [probe, outcome] of Object.entries(outcomes)) {
        assert.doesNotMatch(outcome, /write tests/, `${probe} reached the todos function's rows`);
      }
      // its own database has no todos table (the migrations belong to the other function)
      assert.match(outcomes["SELECT title FROM todos"] ?? "", /^refused: SqlError/);
      assert.match(outcomes["ATTACH DATABASE 'x.sqlite' AS other"] ?? "", /^refused: SqlError/);
      assert.match(outcomes["SET ROLE postgres"] ?? "", /^refused: SqlError/);
      assert.match(outcomes["SELECT pg_read_file('/etc/passwd')"] ?? "", /^refused: SqlError/);
      assert.match(outcomes["COPY (SELECT 1) TO PROGRAM 'id'"] ?? "", /^refused: SqlError/);
    });

    it("lets an operator read and write a function's KV and query its SQL from the CLI", async () => {
      const put = await platform.cli([
        "kv",
        "put",
        `${p}/other`,
        "greeting",
        "hello operator",
        "--ttl",
        "600",
      ]);
      assert.equal(put.code, 0, put.stderr);
      assert.match(put.stdout, /stored greeting \(revision \d+\)/);
      assert.deepEqual(await json(await platform.fetch(`/fn/${p}/other/get?key=greeting`)), {
        value: "hello operator",
      });
      assert.equal(
        (await platform.cli(["kv", "get", `${p}/other`, "greeting"])).stdout,
        "hello operator",
      );
      const listed = JSON.parse(
        (await platform.cli(["kv", "ls", `${p}/other`, "--prefix", "gree", "--json"])).stdout,
      ) as { keys: Array<{ key: string; expiresAt?: number }> };
      assert.deepEqual(
        listed.keys.map((k) => k.key),
        ["greeting"],
      );
      assert.ok((listed.keys[0]?.expiresAt ?? 0) > Date.now());
      assert.equal((await platform.cli(["kv", "rm", `${p}/other`, "greeting"])).code, 0);
      const missing = await platform.cli(["kv", "get", `${p}/other`, "greeting"]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /has no key "greeting"/);
      const tooLong = await platform.cli(["kv", "put", `${p}/other`, "k".repeat(600), "v"]);
      assert.equal(tooLong.code, 1);
      assert.match(tooLong.stderr, /at most 512 bytes/);

      const query = await platform.cli([
        "sql",
        `${p}/todos`,
        "SELECT title FROM todos WHERE priority = ?",
        "2",
        "--json",
      ]);
      assert.equal(query.code, 0, query.stderr);
      assert.deepEqual((JSON.parse(query.stdout) as { rows: unknown[][] }).rows, [["write tests"]]);
      const bad = await platform.cli(["sql", `${p}/todos`, "SELEC nonsense"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /SqlError/);
    });

    it("rolls back a failing batch and reports the engine's error as SqlError", async () => {
      const failed = await platform.fetch(`/fn/${p}/todos/batch-fail`, { method: "POST" });
      assert.equal(failed.status, 400);
      const body = await json<{ error: string; message: string }>(failed);
      assert.equal(body.error, "SqlError");
      assert.match(body.message, /nope/);
      const titles = (
        await json<Array<{ title: string }>>(await platform.fetch(`/fn/${p}/todos/todos`))
      ).map((t) => t.title);
      assert.ok(!titles.includes("batched"));
    });

    it("keeps SQL data across a restart and fails a deploy whose migration fails, leaving the old version serving", async () => {
      await platform.stop("SIGTERM");
      platform = await platform.restart();
      assert.equal((await json<unknown[]>(await platform.fetch(`/fn/${p}/todos/todos`))).length, 1);
      await writeFile(
        join(project, "todos/migrations/0003_broken.sql"),
        "ALTER TABLE todos ADD COLUMN;\n",
      );
      const deployed = await platform.cli(["deploy", project]);
      assert.equal(deployed.code, 1);
      assert.match(deployed.stderr, /0003_broken\.sql/);
      const versions = JSON.parse(
        (await platform.cli(["versions", `${p}/todos`, "--json"])).stdout,
      ) as { live: number };
      assert.equal(versions.live, 1);
      assert.equal((await json<unknown[]>(await platform.fetch(`/fn/${p}/todos/todos`))).length, 1);
      await rm(join(project, "todos/migrations/0003_broken.sql"));
    });

    it("publishes events into the project's namespace, refusing wildcards", async () => {
      const follower = platform.spawnCli(["events", "tail", p, "--json"]);
      try {
        for (let i = 0; i < 100 && !follower.stdout().includes("ready"); i++)
          await new Promise((r) => setTimeout(r, 50));
        const published = await platform.fetch(`/fn/${p}/publisher/?subject=orders.created`, {
          method: "POST",
          body: JSON.stringify({ id: 7 }),
        });
        assert.deepEqual(await json(published), { published: "orders.created" });
        for (let i = 0; i < 100 && !follower.stdout().includes("orders.created"); i++)
          await new Promise((r) => setTimeout(r, 50));
        const event = follower
          .stdout()
          .split("\n")
          .filter((l) => l.includes("orders.created"))
          .map(
            (l) =>
              JSON.parse(l) as { subject: string; data: string; headers: Record<string, string> },
          )[0];
        assert.equal(event?.subject, "orders.created");
        assert.deepEqual(JSON.parse(event?.data ?? "null"), { id: 7 });
        assert.equal(event?.headers["x-trace"], "t1");
        assert.equal(event?.headers["content-type"], "application/json");
      } finally {
        follower.child.kill();
      }
      const wildcard = await platform.fetch(`/fn/${p}/publisher/?subject=orders.*`, {
        method: "POST",
        body: "{}",
      });
      assert.equal(wildcard.status, 400);
      assert.match((await json<{ message: string }>(wildcard)).message, /no wildcards/);
    });

    it("keeps a removed function's data for a redeploy, and deletes it only with --purge", async () => {
      const before = (
        await json<{ value: number }>(await platform.fetch(`/fn/${p}/counter/increment`))
      ).value;
      assert.ok(before > 1);
      assert.equal((await platform.cli(["rm", `${p}/counter`])).code, 0);
      assert.equal((await platform.deploy(project)).code, 0);
      assert.deepEqual(await json(await platform.fetch(`/fn/${p}/counter/increment`)), {
        value: before + 1,
      });
      const purged = await platform.cli(["rm", `${p}/counter`, "--purge"]);
      assert.equal(purged.code, 0, purged.stderr);
      assert.match(purged.stdout, /deleted its KV store and SQL database/);
      assert.equal((await platform.deploy(project)).code, 0);
      assert.deepEqual(await json(await platform.fetch(`/fn/${p}/counter/increment`)), {
        value: 1,
      });
    });
  });
}
