// The platform's own lines: as text they read as they always have; as JSON each is one object
// with ts, level and msg, and the fields it was given; the access log's JSON lines share the shape,
// and its file is rotated at its cap.
import assert from "node:assert/strict";
import { lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { createAccessLog, type AccessEntry } from "../../src/gateway/access-log.js";
import { createPlatformLog } from "../../src/observe/platform-log.js";
import { LitefaasError } from "../../src/shared/errors.js";
import { assertNewestInOrder, rotatedRequestIds } from "../kit/rotated-log.js";

const ENTRY: AccessEntry = {
  requestId: "r1",
  method: "GET",
  path: "/fn/shop/hello",
  host: "localhost",
  route: "shop /fn/hello",
  project: "shop",
  function: "hello",
  status: 200,
  error: undefined,
  durationMs: 1.5,
  bytes: 12,
  client: "127.0.0.1",
  keyId: undefined,
  subject: undefined,
  userAgent: undefined,
  aborted: false,
};

function captured(format: "text" | "json") {
  let out = "";
  return { log: createPlatformLog(format, (text) => (out += text)), out: () => out };
}

void describe("platform log", () => {
  void it("prints text as people read it: the part that speaks, then what went wrong", () => {
    const { log, out } = captured("text");
    log.info("litefaas is up at http://127.0.0.1:8080", { url: "http://127.0.0.1:8080" });
    log.error("a change could not be applied", {
      component: "registry",
      error: new LitefaasError("INVALID_REQUEST", "no such version"),
    });
    assert.equal(
      out(),
      "litefaas is up at http://127.0.0.1:8080\nregistry: a change could not be applied: no such version\n",
    );
  });

  void it("prints one JSON object per line with ts, level, msg, fields and the error's code", () => {
    const { log, out } = captured("json");
    log.warn("process functions run without: bwrap");
    log.error("the triggers of shop/hello could not be changed", {
      component: "triggers",
      project: "shop",
      function: "hello",
      error: Object.assign(new Error("stream gone"), { code: "ECONNRESET" }),
    });
    const lines = out()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.equal(typeof line["ts"], "string");
      assert.equal(new Date(String(line["ts"])).toISOString(), line["ts"]);
    }
    assert.equal(lines[0]?.["level"], "warn");
    assert.equal(lines[0]?.["msg"], "process functions run without: bwrap");
    const failed = lines[1] ?? {};
    assert.equal(failed["level"], "error");
    assert.equal(failed["component"], "triggers");
    assert.equal(failed["project"], "shop");
    assert.equal(failed["function"], "hello");
    assert.equal(failed["error"], "stream gone");
    assert.equal(failed["code"], "ECONNRESET");
    assert.match(String(failed["stack"]), /stream gone\n\s+at /, "an unexpected error's stack");
  });

  void it("writes access log files as JSON lines of the same shape", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-access-"));
    try {
      const file = join(dir, "access.log");
      // the format switch is for stdout: a file is for machines whatever it says
      const access = createAccessLog(file, "text");
      access.write(ENTRY);
      await access.close();
      const line = JSON.parse((await readFile(file, "utf8")).trim()) as Record<string, unknown>;
      assert.equal(new Date(String(line["ts"])).toISOString(), line["ts"]);
      assert.equal(line["level"], "info");
      assert.equal(line["component"], "access");
      assert.equal(line["msg"], "GET /fn/shop/hello 200");
      assert.equal(line["requestId"], "r1");
      assert.equal(line["project"], "shop");
      assert.equal(line["status"], 200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("rotates the access log file at its cap, keeping the file before", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-access-"));
    try {
      const file = join(dir, "access.log");
      const cap = 4096;
      const access = createAccessLog(file, "json", cap);
      const total = 100;
      for (let i = 0; i < total; i++) {
        access.write({ ...ENTRY, requestId: `r${i}` });
        await turn(); // a line per append: the cap is checked before each
      }
      await access.close();
      assert.deepEqual((await readdir(dir)).sort(), ["access.log", "access.log.1"]);
      const kept = await rotatedRequestIds(dir, "access.log", cap);
      assert.ok(kept.length < total, "the oldest lines are gone with the file before the last");
      assertNewestInOrder(kept, total);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("writes through a link (say /dev/stdout) as it is, never renaming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-access-"));
    try {
      const real = join(dir, "real.log");
      const link = join(dir, "link.log");
      await writeFile(real, "");
      await symlink(real, link);
      const access = createAccessLog(link, "json", 1024);
      for (let i = 0; i < 20; i++) {
        access.write({ ...ENTRY, requestId: `r${i}` });
        await turn();
      }
      await access.close();
      assert.deepEqual((await readdir(dir)).sort(), ["link.log", "real.log"]);
      assert.ok((await lstat(link)).isSymbolicLink());
      const lines = (await readFile(real, "utf8")).split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 20, "every line, past the cap, in the one file");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
