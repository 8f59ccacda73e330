// PostgreSQL going away under a running platform (a TCP proxy in front of the machine's server,
// cut and restored): SQL calls fail with an error that says what is wrong, everything else keeps
// serving, and once the server is back SQL works again without a restart.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { eventuallyValue } from "../kit/eventually.js";
import { startPlatform, type Platform } from "../kit/platform.js";
import { describeWith, postgresService } from "../kit/services.js";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.js";

const postgres = await postgresService();

const NOTES = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/ping")) return new Response("pong");
    try {
      await env.sql.prepare("INSERT INTO notes (body) VALUES (?)").bind("n").run();
      const row = await env.sql.prepare("SELECT count(*) AS n FROM notes").first();
      return Response.json({ ok: true, n: Number(row.n) });
    } catch (error) {
      return Response.json({ ok: false, error: String(error.message) }, { status: 503 });
    }
  },
};
`;

describeWith(postgres, "PostgreSQL outage", () => {
  const project = `pg${Date.now().toString(36)}`;
  let proxy: TcpProxy;
  let dir: string;
  let platform: Platform;
  const notes = async () => {
    const response = await platform.fetch(`/fn/${project}/notes/`);
    return {
      status: response.status,
      body: (await response.json()) as { ok: boolean; n?: number; error?: string },
    };
  };

  before(async () => {
    const target = new URL(postgres.url);
    proxy = await startTcpProxy(Number(target.port || "5432"), target.hostname);
    target.port = String(proxy.port);
    dir = await mkdtemp(join(tmpdir(), "litefaas-pg-outage-"));
    await mkdir(join(dir, "migrations"));
    await writeFile(
      join(dir, "litefaas.yaml"),
      `project: ${project}\nfunctions:\n  notes:\n    main: notes.js\n`,
    );
    await writeFile(join(dir, "notes.js"), NOTES);
    await writeFile(
      join(dir, "migrations", "0001_notes.sql"),
      "CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT NOT NULL);\n",
    );
    platform = await startPlatform({ args: ["--postgres", target.toString()] });
    const deployed = await platform.deploy(dir);
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    try {
      proxy.restore();
      await platform.cli(["rm", `${project}/notes`, "--purge"]);
    } finally {
      await platform.dispose();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails SQL calls clearly while the server is away, serves the rest, and recovers alone", async () => {
    const first = await notes();
    assert.deepEqual(first, { status: 200, body: { ok: true, n: 1 } });

    proxy.cut();
    const during = await notes();
    assert.equal(during.status, 503);
    assert.equal(during.body.ok, false);
    assert.match(during.body.error ?? "", /PostgreSQL|database|connect/i);
    const ping = await platform.fetch(`/fn/${project}/notes/ping`);
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), "pong");

    proxy.restore();
    const back = await eventuallyValue("SQL to work again", async () => {
      const answer = await notes();
      return answer.status === 200 ? answer : undefined;
    });
    assert.equal(back.body.ok, true);
    assert.ok((back.body.n ?? 0) >= 2, "the row written before the outage is still there");
  });
});
