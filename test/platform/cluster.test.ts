// Two `litefaas up` processes with one cluster name on the machine's NATS are one platform: what
// is deployed, rolled back, keyed or removed through either serves (or stops) on both, and their
// artifacts (a Python function's too) come from the cluster's object store. A third process with
// another cluster name on the same NATS sees none of it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { removeCluster, testCluster } from "../kit/cluster.js";
import { eventuallyValue } from "../kit/eventually.js";
import { errorCode, runCli, startPlatform, type Platform } from "../kit/platform.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();

const FUNCTION = `export default {
  fetch(request, env) { return new Response("version " + env.VERSION); },
};
`;
const PYTHON = `def handler(event, context):
    return {"statusCode": 200, "body": "python here"}
`;

async function writeProject(dir: string, project: string, version: string): Promise<void> {
  await writeFile(
    join(dir, "litefaas.yaml"),
    [
      `project: ${project}`,
      "functions:",
      "  greet:",
      "    main: greet.js",
      `    env: { VERSION: "${version}" }`,
      "  snake:",
      "    main: snake.py",
      "auth:",
      "  default: none",
      "routes:",
      "  - { path: /greet, function: greet }",
      "  - { path: /keyed, function: greet, auth: api-key }",
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "greet.js"), FUNCTION);
  await writeFile(join(dir, "snake.py"), PYTHON);
}

describeWith(nats, "one cluster, two processes", () => {
  const cluster = testCluster();
  const token = `lf_${randomBytes(24).toString("base64url")}`;
  const project = `c${Date.now().toString(36)}`;
  let dir: string;
  let a: Platform;
  let b: Platform;
  let other: Platform;

  /** What `platform` answers on `path` once it is `expected` (status and body). */
  const serves = (platform: Platform, path: string, expected: string) =>
    eventuallyValue(`${path} on ${platform.url} to answer "${expected}"`, async () => {
      const response = await platform.fetch(path);
      const text = await response.text();
      return response.status === 200 && text === expected ? text : undefined;
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "litefaas-cluster-"));
    await writeProject(dir, project, "one");
    const env = { LITEFAAS_ADMIN_TOKEN: token };
    [a, b, other] = await Promise.all([
      startPlatform({ args: ["--nats", nats.url, "--cluster", cluster], env }),
      startPlatform({ args: ["--nats", nats.url, "--cluster", cluster], env }),
      startPlatform({ args: ["--nats", nats.url] }),
    ]);
  });
  after(async () => {
    await Promise.all([a.dispose(), b.dispose(), other.dispose()]);
    await removeCluster(nats.url, cluster);
    await rm(dir, { recursive: true, force: true });
  });

  it("takes the operator's admin token on every process and keeps it for the CLI", () => {
    assert.equal(a.token, token);
    assert.equal(b.token, token);
    assert.match(a.output(), new RegExp(`shared on NATS by cluster "${cluster}"`));
  });

  it("serves on both what was deployed through one, routes and a Python function included", async () => {
    const deployed = await a.deploy(dir);
    assert.equal(deployed.code, 0, deployed.stderr);
    await serves(b, `/fn/${project}/greet`, "version one");
    await serves(b, "/greet", "version one");
    await serves(b, `/fn/${project}/snake`, "python here");
  });

  it("serves a new version deployed through either on both", async () => {
    await writeProject(dir, project, "two");
    const deployed = await b.deploy(dir);
    assert.equal(deployed.code, 0, deployed.stderr);
    await serves(a, `/fn/${project}/greet`, "version two");
    await serves(b, `/fn/${project}/greet`, "version two");
  });

  it("rolls back on both through either", async () => {
    const rolled = await a.cli(["rollback", `${project}/greet`]);
    assert.equal(rolled.code, 0, rolled.stderr);
    await serves(b, "/greet", "version one");
    await serves(a, "/greet", "version one");
  });

  it("admits an API key created through one on the other's routes", async () => {
    const refused = await b.fetch("/keyed");
    assert.equal(refused.status, 401);
    assert.equal(await errorCode(refused), "AUTH_REQUIRED");
    const created = await a.cli(["keys", "create", project, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const { key } = JSON.parse(created.stdout) as { key: string };
    await eventuallyValue("the key to open /keyed on the other process", async () => {
      const response = await b.fetch("/keyed", { headers: { authorization: `Bearer ${key}` } });
      return response.status === 200 ? true : undefined;
    });
  });

  it("shows nothing of it to a process of another cluster on the same NATS", async () => {
    const response = await other.fetch(`/fn/${project}/greet`);
    assert.equal(response.status, 404);
    assert.equal(await errorCode(response), "FUNCTION_NOT_FOUND");
    const listed = await runCli(["ls", "--json"], {
      LITEFAAS_URL: other.url,
      LITEFAAS_TOKEN: other.token,
    });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(!listed.stdout.includes(project), listed.stdout);
  });

  it("stops serving on both what was removed through one", async () => {
    const removed = await b.cli(["rm", `${project}/greet`, "--purge"]);
    assert.equal(removed.code, 0, removed.stderr);
    await eventuallyValue("the removed function to be gone from the other process", async () => {
      const response = await a.fetch(`/fn/${project}/greet`);
      return response.status === 404 ? true : undefined;
    });
  });
});

describeWith(nats, "from one machine to a cluster", () => {
  it("brings the functions, keys and artifacts of a data directory that ran alone onto NATS", async () => {
    const cluster = testCluster();
    const project = `m${Date.now().toString(36)}`;
    const dir = await mkdtemp(join(tmpdir(), "litefaas-move-"));
    let platform = await startPlatform();
    try {
      await writeProject(dir, project, "alone");
      const deployed = await platform.deploy(dir);
      assert.equal(deployed.code, 0, deployed.stderr);
      const created = await platform.cli(["keys", "create", project, "--json"]);
      assert.equal(created.code, 0, created.stderr);
      const { key } = JSON.parse(created.stdout) as { key: string };
      await platform.stop();

      platform = await startPlatform({
        dataDir: platform.dataDir,
        args: ["--nats", nats.url, "--cluster", cluster],
      });
      assert.match(
        platform.output(),
        /imported [1-9]\d* registry and key entries and [1-9]\d* artifacts/,
      );
      const greet = await platform.fetch(`/fn/${project}/greet`);
      assert.equal(await greet.text(), "version alone");
      const snake = await platform.fetch(`/fn/${project}/snake`);
      assert.equal(await snake.text(), "python here");
      const keyed = await platform.fetch("/keyed", { headers: { authorization: `Bearer ${key}` } });
      assert.equal(keyed.status, 200);

      // a second process of the cluster, with a data directory of its own, serves it all too
      const other = await startPlatform({ args: ["--nats", nats.url, "--cluster", cluster] });
      try {
        const there = await other.fetch(`/fn/${project}/greet`);
        assert.equal(await there.text(), "version alone");
      } finally {
        await other.dispose();
      }
      // imported once: a restart finds the cluster's state, not the local file
      await platform.stop();
      platform = await platform.restart();
      assert.doesNotMatch(platform.output(), /imported/);
      assert.equal(await (await platform.fetch(`/fn/${project}/greet`)).text(), "version alone");
    } finally {
      await platform.dispose();
      await removeCluster(nats.url, cluster);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("cluster names and admin tokens", () => {
  it("refuses a name that cannot be part of NATS and PostgreSQL names, saying what would", async () => {
    const refused = await runCli(["up", "--port", "0", "--cluster", "Prod_EU"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--cluster "Prod_EU" is not a cluster name/);
    assert.match(refused.stderr, /fix: use 1-32 of a-z, 0-9 and "-"/);
  });

  it("refuses an admin token too short to be secret", async () => {
    const refused = await runCli(["up", "--port", "0"], { LITEFAAS_ADMIN_TOKEN: "short" });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /LITEFAAS_ADMIN_TOKEN must be at least 16 characters/);
  });
});
