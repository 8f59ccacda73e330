// Function log filters through a real `litefaas up`: a least level, one request id and a piece of
// text, for a function or a whole project, in the tail and while following; bad values refused
// with their fix; and `litefaas logs` passing its flags on.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LogLine } from "../../src/observe/logs.js";
import { startCluster, type TestCluster } from "../kit/cluster.js";
import { eventually, eventuallyValue } from "../kit/eventually.js";
import { startPlatform, type Platform } from "../kit/platform.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();

const LEVELS = ["debug", "info", "log", "warn", "error"];

/** An NDJSON follower: once this resolves the platform has it (the head is sent at once). */
async function follow(platform: Platform, token: string, path: string) {
  const controller = new AbortController();
  const response = await platform.fetch(path, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  const lines: LogLine[] = [];
  let pending = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      const complete = pending.split("\n");
      pending = complete.pop() ?? "";
      for (const raw of complete) if (raw.trim() !== "") lines.push(JSON.parse(raw) as LogLine);
    }
  })().catch(() => undefined); // aborted at the end
  return { lines, stop: () => controller.abort() };
}

/** Invokes a function of the fixture through `gateway` with the request id and word given. */
async function invokeAt(gateway: Platform, fn: string, requestId: string, word: string) {
  const response = await gateway.fetch(`/fn/logs/${fn}?word=${word}`, {
    headers: { "x-request-id": requestId },
  });
  assert.equal(response.status, 200);
  await response.text();
}

/** What a line is, in a form to compare: request id, function and message. */
const said = (lines: LogLine[]) => lines.map((l) => `${l.requestId} ${l.function} ${l.message}`);

/** The lines each request to `talk` logs: one per level, each naming the word. */
const talked = (requestId: string, word: string, levels = LEVELS) =>
  levels.map((level) => `${requestId} talk ${level} ${word}`);

describe("function log filters", () => {
  let platform: Platform;
  const admin = (path: string) =>
    platform.fetch(path, { headers: { authorization: `Bearer ${platform.token}` } });

  const invoke = (fn: "talk" | "quiet", requestId: string, word: string) =>
    invokeAt(platform, fn, requestId, word);

  /** The tail at `path` once it holds `count` lines (lines are kept as they are logged). */
  const tail = (path: string, count: number) =>
    eventuallyValue(`${count} lines at ${path}`, async () => {
      const { lines } = (await (await admin(path)).json()) as { lines: LogLine[] };
      return lines.length >= count ? lines : undefined;
    });

  const followAt = (path: string) => follow(platform, platform.token, path);

  before(async () => {
    platform = await startPlatform();
    const deployed = await platform.deploy("logs");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(() => platform.dispose());

  it("tails exactly the lines of a level and above, of a request, or with a text", async () => {
    await invoke("talk", "tail-a", "Apple");
    await invoke("talk", "tail-b", "banana");
    const base = "/admin/v1/functions/logs/talk/logs";
    assert.deepEqual(said(await tail(`${base}?request=tail-a`, 5)), talked("tail-a", "Apple"));
    assert.deepEqual(
      said(await tail(`${base}?request=tail-a&level=warn`, 2)),
      talked("tail-a", "Apple", ["warn", "error"]),
    );
    // info and log are one level: both, and what is above, but not debug
    assert.deepEqual(
      said(await tail(`${base}?request=tail-b&level=info`, 4)),
      talked("tail-b", "banana", ["info", "log", "warn", "error"]),
    );
    // text in any case; banana's lines hold no "apple"
    assert.deepEqual(said(await tail(`${base}?q=aPPLE`, 5)), talked("tail-a", "Apple"));
    assert.deepEqual(
      said(await tail(`${base}?q=banana&level=error`, 1)),
      talked("tail-b", "banana", ["error"]),
    );
    // the last `limit` that match
    assert.deepEqual(
      said(await tail(`${base}?q=banana&limit=2`, 2)),
      talked("tail-b", "banana", ["warn", "error"]),
    );
    // a retry's record id names its request's lines
    assert.deepEqual(said(await tail(`${base}?request=tail-a~2&level=error`, 1)), [
      "tail-a talk error Apple",
    ]);
  });

  it("sends a follower only the lines that match, as they are logged", async () => {
    const base = "/admin/v1/functions/logs/talk/logs?follow=1";
    const byText = await followAt(`${base}&level=warn&q=cherry`);
    const byRequest = await followAt(`${base}&request=follow-c`);
    try {
      await invoke("talk", "follow-a", "cherry");
      await invoke("talk", "follow-b", "durian");
      await invoke("talk", "follow-c", "Cherry");
      // each follower's last line is follow-c's error line: what came before it has been sent
      await eventually("follow-c's lines", () =>
        [byText, byRequest].every((f) => f.lines.at(-1)?.message.endsWith("error Cherry")),
      );
      assert.deepEqual(said(byText.lines), [
        ...talked("follow-a", "cherry", ["warn", "error"]),
        ...talked("follow-c", "Cherry", ["warn", "error"]),
      ]);
      assert.deepEqual(said(byRequest.lines), talked("follow-c", "Cherry"));
    } finally {
      byText.stop();
      byRequest.stop();
    }
  });

  it("tails and follows a whole project, or one function of it", async () => {
    const project = "/admin/v1/projects/logs/logs";
    const all = await followAt(`${project}?follow=1&q=fig&limit=1`);
    const quiet = await followAt(`${project}?follow=1&function=quiet&q=fig&limit=1`);
    try {
      // nothing matched before: the backlog is empty
      await invoke("talk", "project-a", "elder");
      await invoke("quiet", "project-b", "elder");
      await invoke("talk", "project-c", "fig");
      await invoke("quiet", "project-d", "fig");
      await eventually("project-d's line", () =>
        [all, quiet].every((f) => f.lines.at(-1)?.requestId === "project-d"),
      );
      assert.deepEqual(said(all.lines), [
        ...talked("project-c", "fig"),
        "project-d quiet quiet fig",
      ]);
      assert.deepEqual(said(quiet.lines), ["project-d quiet quiet fig"]);
      assert.deepEqual(said(await tail(`${project}?q=elder`, 6)), [
        ...talked("project-a", "elder"),
        "project-b quiet quiet elder",
      ]);
      assert.deepEqual(said(await tail(`${project}?q=elder&function=quiet`, 1)), [
        "project-b quiet quiet elder",
      ]);
    } finally {
      all.stop();
      quiet.stop();
    }
    const missing = await admin("/admin/v1/projects/nope/logs");
    assert.equal(missing.status, 404);
  });

  it("refuses a bad level, an empty request id and a bad limit, saying how to fix them", async () => {
    for (const query of ["level=loud", "request=", "limit=many", "limit=0"]) {
      for (const path of ["/admin/v1/functions/logs/talk/logs", "/admin/v1/projects/logs/logs"]) {
        const response = await admin(`${path}?follow=1&${query}`);
        assert.equal(response.status, 400, `${path}?${query}`);
        const { error } = (await response.json()) as { error: { code: string; fix?: string } };
        assert.equal(error.code, "INVALID_REQUEST");
        assert.ok(error.fix !== undefined && error.fix.length > 0, `a fix for ${query}`);
      }
    }
    const refused = await platform.cli(["logs", "logs/talk", "--level", "loud"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /level "loud" is not a log level/);
    assert.match(refused.stderr, /fix: use one of debug, info, log, warn, error/);
  });

  it("passes `litefaas logs` flags on, and follows with them", async () => {
    await invoke("talk", "cli-a", "grape");
    await invoke("talk", "cli-b", "GRAPE");
    await tail("/admin/v1/functions/logs/talk/logs?q=grape", 10);
    const json = await platform.cli([
      "logs",
      "logs/talk",
      "--request",
      "cli-b",
      "--level",
      "warn",
      "--json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const lines = json.stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as LogLine);
    assert.deepEqual(said(lines), talked("cli-b", "GRAPE", ["warn", "error"]));
    // a project's lines say whose they are
    const text = await platform.cli(["logs", "logs", "--grep", "grape", "--level", "error"]);
    assert.equal(text.code, 0, text.stderr);
    const printed = text.stdout.split("\n").filter((l) => l !== "");
    assert.equal(printed.length, 2, text.stdout);
    assert.match(printed[0] ?? "", /ERROR \[cli-a\] talk v1 error grape$/);
    assert.match(printed[1] ?? "", /ERROR \[cli-b\] talk v1 error GRAPE$/);

    const follower = platform.spawnCli([
      "logs",
      "logs/talk",
      "-f",
      "--level",
      "error",
      "--grep",
      "grape",
      "--limit",
      "1",
    ]);
    try {
      // the backlog's one line (cli-b's error) says it is connected
      await eventually("the backlog line", () => follower.stdout().includes("[cli-b]"));
      await invoke("talk", "cli-c", "kiwi");
      await invoke("talk", "cli-d", "grape");
      await eventually("cli-d's line", () => follower.stdout().includes("[cli-d]"));
      const followed = follower
        .stdout()
        .split("\n")
        .filter((l) => l !== "");
      assert.equal(followed.length, 2, follower.stdout());
      assert.match(followed[0] ?? "", /ERROR \[cli-b\] v1 error GRAPE$/);
      assert.match(followed[1] ?? "", /ERROR \[cli-d\] v1 error grape$/);
    } finally {
      follower.child.kill();
    }
  });
});

describeWith(nats, "function log filters across a cluster", () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ nats: nats.url, gateways: 1, workers: 1 });
    const deployed = await cluster.control.deploy("logs");
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(() => cluster.dispose());

  it("filters at control the lines a worker logged, for a project and for a function", async () => {
    const { control, token } = cluster;
    const gateway = cluster.gateways[0] as Platform;
    const project = await follow(
      control,
      token,
      "/admin/v1/projects/logs/logs?follow=1&level=warn",
    );
    const talk = await follow(
      control,
      token,
      "/admin/v1/functions/logs/talk/logs?follow=1&q=lemon&level=error",
    );
    try {
      await invokeAt(gateway, "quiet", "cluster-a", "lemon"); // a log line: below warn
      await invokeAt(gateway, "talk", "cluster-b", "lime");
      await invokeAt(gateway, "talk", "cluster-c", "Lemon");
      await eventually("cluster-c's error line at control", () =>
        [project, talk].every((f) => f.lines.at(-1)?.message === "error Lemon"),
      );
      assert.deepEqual(said(project.lines), [
        ...talked("cluster-b", "lime", ["warn", "error"]),
        ...talked("cluster-c", "Lemon", ["warn", "error"]),
      ]);
      assert.deepEqual(said(talk.lines), talked("cluster-c", "Lemon", ["error"]));
    } finally {
      project.stop();
      talk.stop();
    }
  });
});
