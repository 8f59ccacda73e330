// What the web console asks of the platform beyond the CLI's API, on the embedded backends and on
// NATS: its files (public, with a strict CSP), a function's health from its records, its source
// (kept for one-file functions, edited and deployed with its settings kept), and test requests.
// Every refusal says what to do instead.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { InvocationRecordEntry } from "../../src/ports/records.js";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, FIXTURES, startPlatform, type Platform } from "../kit/platform.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();

interface Source {
  version: number;
  file: string;
  text: string | null;
  bundled: boolean;
  runtime: string;
}

function consoleSuite(label: string, args: string[]): void {
  void describe(`console API (${label})`, () => {
    let platform: Platform;
    const admin = (extra: Record<string, string> = {}) => ({
      authorization: `Bearer ${platform.token}`,
      ...extra,
    });
    const call = (method: string, path: string, body?: unknown) =>
      platform.fetch(`/admin/v1${path}`, {
        method,
        headers: admin(body === undefined ? {} : { "content-type": "application/json" }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const json = async <T>(response: Response, status = 200): Promise<T> => {
      assert.equal(response.status, status, await response.clone().text());
      return (await response.json()) as T;
    };
    const refusal = async (response: Response, status: number, code: string, fix: RegExp) => {
      const text = await response.clone().text();
      assert.equal(response.status, status, text);
      assert.equal(await errorCode(response), code);
      assert.match(text, fix);
    };

    before(async () => {
      platform = await startPlatform({ args });
      const deployed = await platform.deploy("console");
      assert.equal(deployed.code, 0, deployed.stderr);
    });
    after(() => platform.dispose());

    void it("serves the console's files without a token, with a CSP, gzipped when asked", async () => {
      const bare = await platform.fetch("/console", { redirect: "manual" });
      assert.equal(bare.status, 308);
      assert.equal(bare.headers.get("location"), "/console/");
      const page = await platform.fetch("/console/");
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
      assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
      assert.equal(page.headers.get("x-content-type-options"), "nosniff");
      const html = await page.text();
      assert.match(html, /\/console\/app\.js/);
      // deep links get the page, which routes itself
      assert.equal((await platform.fetch("/console/functions/a/b")).status, 200);
      const app = await platform.fetch("/console/app.js", {
        headers: { "accept-encoding": "gzip" },
      });
      assert.equal(app.status, 200);
      assert.match(app.headers.get("content-type") ?? "", /javascript/);
      // fetch undoes the gzip; the header says it was sent so
      assert.equal(app.headers.get("content-encoding"), "gzip");
      assert.ok((await app.text()).length > 1000);
      const missing = await platform.fetch("/console/nothing.js");
      assert.equal(missing.status, 404);
      assert.equal((await platform.fetch("/console/", { method: "POST" })).status, 405);
    });

    void it("keeps a one-file function's source from a CLI deploy, and the bundle otherwise", async () => {
      const source = await json<Source>(await call("GET", "/functions/console/echo/source"));
      assert.equal(source.bundled, false);
      assert.equal(source.file, "echo.ts");
      assert.equal(source.text, await readFile(join(FIXTURES, "console/echo.ts"), "utf8"));
      const shell = await json<Source>(await call("GET", "/functions/console/shell/source"));
      assert.equal(shell.runtime, "process");
      assert.equal(shell.text, null);
      await refusal(
        await call("GET", "/functions/console/echo/source?version=99"),
        404,
        "VERSION_NOT_FOUND",
        /litefaas versions console\/echo/,
      );
    });

    void it("deploys a new function from its source, then an edit of it as a new version", async () => {
      const first = await json<{ version: number; status: string; url: string }>(
        await call("PUT", "/functions/web/made/source", {
          text: 'export default { fetch(): Response { return new Response("first: " + (1 as number)); } };',
        }),
      );
      assert.equal(first.version, 1);
      assert.equal(first.status, "created");
      assert.match(first.url, /\/fn\/web\/made$/);
      assert.equal(await (await platform.fetch("/fn/web/made")).text(), "first: 1");
      const edited = await json<{ version: number; status: string }>(
        await call("PUT", "/functions/web/made/source", {
          text: 'export default { fetch() { return new Response("second"); } };',
          file: "made.js",
        }),
      );
      assert.equal(edited.version, 2);
      assert.equal(await (await platform.fetch("/fn/web/made")).text(), "second");
      const again = await json<{ version: number; status: string }>(
        await call("PUT", "/functions/web/made/source", {
          text: 'export default { fetch() { return new Response("second"); } };',
          file: "made.js",
        }),
      );
      assert.deepEqual([again.version, again.status], [2, "unchanged"]);
      const kept = await json<Source>(await call("GET", "/functions/web/made/source?version=1"));
      assert.equal(kept.file, "made.ts");
      assert.match(kept.text ?? "", /first: /);
      // the edit keeps what litefaas.yaml set: env, memory, payload records
      const before = await json<{ config: unknown }>(await call("GET", "/functions/console/echo"));
      const text = (await readFile(join(FIXTURES, "console/echo.ts"), "utf8")).replace(
        '"fixture"',
        '"console"',
      );
      const echo = await json<{ version: number }>(
        await call("PUT", "/functions/console/echo/source", { text, file: "echo.ts" }),
      );
      assert.equal(echo.version, 2);
      const answer = (await (await platform.fetch("/fn/console/echo/")).json()) as {
        edition: string;
        greeting: string;
      };
      assert.deepEqual([answer.edition, answer.greeting], ["console", "hello"]);
      const after = await json<{ config: unknown; live: number }>(
        await call("GET", "/functions/console/echo"),
      );
      assert.equal(after.live, 2);
      assert.deepEqual(after.config, before.config);
    });

    void it("refuses source it cannot build or deploy, saying why and what to do", async () => {
      const broken = await call("PUT", "/functions/web/broken/source", {
        text: "export default { fetch() { return new Response( } };",
      });
      await refusal(broken, 400, "BUILD_FAILED", /broken\.ts:1:/);
      const packaged = await call("PUT", "/functions/web/broken/source", {
        text: 'import { z } from "zod";\nexport default { fetch() { return new Response(String(z)); } };',
      });
      await refusal(packaged, 400, "BUILD_FAILED", /litefaas deploy <dir>/);
      await refusal(
        await call("PUT", "/functions/console/shell/source", { text: "echo hi" }),
        400,
        "INVALID_REQUEST",
        /runs as process/,
      );
      await refusal(
        await call("PUT", "/functions/web/Bad_Name/source", { text: "export default {}" }),
        400,
        "INVALID_REQUEST",
        /lowercase letters/,
      );
      await refusal(
        await call("PUT", "/functions/web/empty/source", { text: "  " }),
        400,
        "INVALID_REQUEST",
        /needs \{ text \}/,
      );
      await refusal(
        await call("PUT", "/functions/web/x/source", {
          text: "export default {}",
          file: "../x.ts",
        }),
        400,
        "INVALID_REQUEST",
        /index\.ts/,
      );
      // nothing was made by a refused deploy
      assert.equal((await call("GET", "/functions/web/broken")).status, 404);
      // and without the token, nothing at all
      const anonymous = await platform.fetch("/admin/v1/functions/web/x/source", {
        method: "PUT",
        body: JSON.stringify({ text: "export default {}" }),
      });
      assert.equal(anonymous.status, 401);
    });

    void it("sends a test request as the gateway would, and refuses one it could not send", async () => {
      const result = await json<{
        status: number;
        body: string;
        requestId: string;
        version: number;
      }>(
        await call("POST", "/functions/console/echo/invoke", {
          method: "post",
          path: "/orders?limit=5",
          headers: { "x-probe": "yes" },
          body: "ping",
        }),
      );
      assert.equal(result.status, 200);
      const echoed = JSON.parse(result.body) as Record<string, string>;
      assert.deepEqual(
        [echoed["method"], echoed["path"], echoed["query"], echoed["header"], echoed["body"]],
        ["POST", "/orders", "?limit=5", "yes", "ping"],
      );
      // it leaves a record like any invocation, with the request it sent
      const record = await eventuallyValue("the test request's record", async () => {
        const r = await call("GET", `/records/${result.requestId}`);
        return r.status === 200 ? ((await r.json()) as InvocationRecordEntry) : undefined;
      });
      assert.equal(record.trigger, "http");
      assert.equal(record.input?.body, "ping");
      await refusal(
        await call("POST", "/functions/console/echo/invoke", { method: "GET", body: "x" }),
        400,
        "INVALID_REQUEST",
        /POST or PUT/,
      );
      await refusal(
        await call("POST", "/functions/console/echo/invoke", { method: "FETCH" }),
        400,
        "INVALID_REQUEST",
        /one of GET/,
      );
      await refusal(
        await call("POST", "/functions/console/echo/invoke", { path: "orders" }),
        400,
        "INVALID_REQUEST",
        /\/orders/,
      );
      await refusal(
        await call("POST", "/functions/console/echo/invoke", { headers: { "bad name": "x" } }),
        400,
        "INVALID_REQUEST",
        /content-type/,
      );
      await refusal(
        await call("POST", "/functions/console/none/invoke", {}),
        404,
        "FUNCTION_NOT_FOUND",
        /./,
      );
    });

    void it("works out a function's health from its records", async () => {
      for (let i = 0; i < 4; i++) assert.equal((await platform.fetch("/fn/web/made")).status, 200);
      const failing = await json<{ version: number }>(
        await call("PUT", "/functions/web/failing/source", {
          text: 'export default { fetch() { throw new Error("no"); } };',
        }),
      );
      assert.equal(failing.version, 1);
      assert.equal((await platform.fetch("/fn/web/failing")).status, 500);
      assert.equal((await platform.fetch("/fn/web/failing")).status, 500);
      type Stats = {
        invocations: number;
        errors: number;
        coldShare: number;
        p50Ms: number;
        p95Ms: number;
        complete: boolean;
        buckets: Array<{ invocations: number; errors: number }>;
      };
      const made = await eventuallyValue("4 records of web/made", async () => {
        const s = await json<Stats>(
          await call("GET", "/functions/web/made/stats?since=1h&buckets=12"),
        );
        return s.invocations >= 4 ? s : undefined;
      });
      const records = await json<{ records: InvocationRecordEntry[] }>(
        await call("GET", "/functions/web/made/records?since=1h&limit=1000"),
      );
      assert.equal(made.invocations, records.records.length);
      assert.equal(made.errors, 0);
      assert.equal(made.complete, true);
      assert.equal(made.buckets.length, 12);
      assert.equal(
        made.buckets.reduce((n, b) => n + b.invocations, 0),
        made.invocations,
      );
      const cold = records.records.filter((r) => r.cold).length;
      assert.equal(made.coldShare, cold / records.records.length);
      const durations = records.records.map((r) => r.durationMs).sort((a, b) => a - b);
      assert.equal(made.p95Ms, durations[Math.ceil(0.95 * durations.length) - 1]);
      const failed = await eventuallyValue("2 records of web/failing", async () => {
        const s = await json<Stats>(await call("GET", "/functions/web/failing/stats"));
        return s.invocations === 2 ? s : undefined;
      });
      assert.equal(failed.errors, 2);
      assert.equal(
        failed.buckets.reduce((n, b) => n + b.errors, 0),
        2,
      );
      // every function at a glance
      const all = await json<{ functions: Array<{ project: string; name: string } & Stats> }>(
        await call("GET", "/stats?since=1h"),
      );
      const row = all.functions.find((f) => f.project === "web" && f.name === "failing");
      assert.deepEqual([row?.invocations, row?.errors], [2, 2]);
      assert.ok(all.functions.some((f) => f.project === "console" && f.name === "shell"));
      await refusal(
        await call("GET", "/functions/web/made/stats?since=forever"),
        400,
        "INVALID_REQUEST",
        /since=15m/,
      );
      await refusal(
        await call("GET", "/functions/web/made/stats?buckets=0"),
        400,
        "INVALID_REQUEST",
        /240/,
      );
      await refusal(
        await call("GET", "/functions/web/nothing/stats"),
        404,
        "FUNCTION_NOT_FOUND",
        /./,
      );
    });
  });
}

consoleSuite("embedded", []);
describeWith(nats, "console API (NATS)", () => consoleSuite("NATS", ["--nats", nats.url]));
