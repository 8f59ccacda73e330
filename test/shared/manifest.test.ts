// The manifest: defaults and durations normalized, and every mistake reported with the file,
// the path, the line, what is wrong and how to fix it.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { LitefaasError } from "../../src/shared/errors.js";
import { loadManifest, parseManifest } from "../../src/shared/manifest/load.js";
import type { ManifestProblem } from "../../src/shared/manifest/types.js";
import { validateManifest } from "../../src/shared/manifest/validate.js";

const FIXTURES = join(
  resolve(dirname(fileURLToPath(import.meta.url)), "../../.."),
  "test/fixtures",
);
const FILE = "/projects/demo/litefaas.yaml";

const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;
const minimal = (...functionLines: string[]): string =>
  yaml(
    "project: demo",
    "functions:",
    "  hello:",
    "    main: functions/hello/index.ts",
    ...functionLines,
  );

function isProblem(value: unknown): value is ManifestProblem {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p["file"] === "string" &&
    typeof p["path"] === "string" &&
    typeof p["problem"] === "string" &&
    typeof p["fix"] === "string" &&
    (p["line"] === undefined || typeof p["line"] === "number")
  );
}

/** The problems a manifest is rejected with; fails if it is accepted or rejected any other way. */
function problemsOf(text: string, file = FILE): ManifestProblem[] {
  try {
    parseManifest(text, file);
  } catch (error) {
    return problemsOfError(error, file);
  }
  return assert.fail("the manifest was accepted");
}

function problemsOfError(error: unknown, file: string): ManifestProblem[] {
  assert.ok(error instanceof LitefaasError, `expected a LitefaasError, got ${String(error)}`);
  assert.equal(error.code, "INVALID_MANIFEST");
  assert.equal(error.status, 400);
  assert.equal(error.kind, "user");
  const details = error.details;
  assert.ok(Array.isArray(details) && details.length > 0, "details lists the problems");
  const problems = details.filter(isProblem);
  assert.equal(
    problems.length,
    details.length,
    `every detail is a problem: ${JSON.stringify(details)}`,
  );
  for (const p of problems) {
    assert.equal(p.file, file);
    assert.notEqual(p.problem, "");
    assert.notEqual(p.fix, "");
    // the message names every problem, with file:line where known
    assert.ok(
      error.message.includes(
        p.line === undefined ? `${file} ${p.path}` : `${file}:${p.line} ${p.path}`,
      ),
      error.message,
    );
  }
  assert.equal(error.fix, problems[0]?.fix);
  return problems;
}

/** The single problem of a manifest with exactly one. */
function onlyProblem(text: string): ManifestProblem {
  const problems = problemsOf(text);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  const [problem] = problems;
  assert.ok(problem !== undefined);
  return problem;
}

void describe("manifest: valid manifests", () => {
  void it("fills in defaults and stringifies env values", () => {
    const manifest = parseManifest(
      minimal(
        "    env:",
        "      NAME: world",
        "      COUNT: 3",
        "      RATIO: 1.5",
        "      DEBUG: true",
        "      _under_score: ''",
      ),
      FILE,
    );
    assert.deepEqual(manifest, {
      project: "demo",
      functions: {
        hello: {
          name: "hello",
          main: "functions/hello/index.ts",
          runtime: "isolate",
          handler: undefined,
          env: { NAME: "world", COUNT: "3", RATIO: "1.5", DEBUG: "true", _under_score: "" },
          memoryMiB: 128,
          timeoutMs: 30_000,
          concurrency: 1000,
          egress: [],
          idleTimeoutMs: 300_000,
          subjects: [],
          schedule: undefined,
          delivery: {
            concurrency: 16,
            attempts: 3,
            backoff: "exponential",
            initialDelayMs: 1000,
            maxDelayMs: 300_000,
            maxEventAgeMs: 6 * 3_600_000,
            deadLetter: true,
            onSuccess: undefined,
            onFailure: undefined,
          },
          records: {
            keep: 1000,
            maxAgeMs: 7 * 86_400_000,
            payloads: false,
            maxPayloadBytes: 65_536,
          },
        },
      },
      routes: [],
      auth: undefined,
      rateLimits: undefined,
    });
  });

  void it("takes every field as written, with durations in milliseconds", () => {
    const manifest = parseManifest(
      yaml(
        "project: my-app-2",
        "functions:",
        "  fast:",
        "    main: fast.mjs",
        "    limits: { memory: 256, timeout: 500ms, concurrency: 5 }",
        "    idleTimeout: 2m",
        "    egress: [api.example.com, '*.example.org:8443']",
        "  medium:",
        "    main: src/medium.js",
        "    limits:",
        "      timeout: 1.5s",
        "  longest:",
        "    main: long.cts",
        "    limits:",
        "      timeout: 15m",
        "    idleTimeout: 1h",
      ),
      FILE,
    );
    assert.equal(manifest.project, "my-app-2");
    assert.deepEqual(Object.keys(manifest.functions), ["fast", "medium", "longest"]);
    const { fast, medium, longest } = manifest.functions;
    assert.deepEqual(
      [fast?.memoryMiB, fast?.timeoutMs, fast?.concurrency, fast?.idleTimeoutMs, fast?.egress],
      [256, 500, 5, 120_000, ["api.example.com", "*.example.org:8443"]],
    );
    assert.deepEqual(
      [medium?.timeoutMs, medium?.memoryMiB, medium?.idleTimeoutMs],
      [1500, 128, 300_000],
    );
    assert.deepEqual([longest?.timeoutMs, longest?.idleTimeoutMs], [15 * 60_000, 3_600_000]);
  });

  void it("takes how records are kept, and refuses a maxAge outside 1m..90d", () => {
    const manifest = parseManifest(
      minimal("    records: { keep: 20, maxAge: 36h, payloads: true, maxPayload: 1024 }"),
      FILE,
    );
    assert.deepEqual(manifest.functions["hello"]?.records, {
      keep: 20,
      maxAgeMs: 36 * 3_600_000,
      payloads: true,
      maxPayloadBytes: 1024,
    });
    for (const maxAge of ["30s", "91d"]) {
      const p = onlyProblem(minimal(`    records: { maxAge: ${maxAge} }`));
      assert.equal(p.path, "functions.hello.records.maxAge", maxAge);
      assert.match(p.problem, new RegExp(`maxAge ${maxAge} is outside 1m..90d`));
      assert.match(p.fix, /between 1m and 90d/);
    }
    const zero = onlyProblem(minimal("    records: { keep: 0 }"));
    assert.equal(zero.path, "functions.hello.records.keep");
  });

  void it("accepts the same manifest as JSON", () => {
    const manifest = parseManifest(
      JSON.stringify({ project: "demo", functions: { hello: { main: "index.ts" } } }),
      "litefaas.json",
    );
    assert.equal(manifest.functions["hello"]?.main, "index.ts");
  });

  void it("validateManifest is pure: data in, a manifest or problems out, nothing thrown", () => {
    const ok = validateManifest(
      { project: "p", functions: { f: { main: "f.ts", env: { N: 1 } } } },
      "m.yaml",
    );
    assert.ok("manifest" in ok);
    assert.deepEqual(ok.manifest.functions["f"]?.env, { N: "1" });
    for (const data of [null, 42, "text", [], {}]) {
      const bad = validateManifest(data, "m.yaml");
      assert.ok("problems" in bad, JSON.stringify(data));
      assert.ok(bad.problems.length > 0);
      assert.ok(bad.problems.every((p) => p.file === "m.yaml"));
    }
  });
});

void describe("manifest: every problem says file, path, line, what and how to fix", () => {
  void it("missing project", () => {
    const p = onlyProblem(yaml("functions:", "  hello:", "    main: index.ts"));
    assert.equal(p.path, "(root)");
    assert.match(p.problem, /missing required field "project"/);
    assert.match(p.fix, /project: my-app/);
  });

  void it("missing functions", () => {
    const p = onlyProblem(yaml("project: demo"));
    assert.equal(p.path, "(root)");
    assert.match(p.problem, /missing required field "functions"/);
    assert.match(p.fix, /main: /);
  });

  void it("no functions at all", () => {
    const p = onlyProblem(yaml("project: demo", "functions: {}"));
    assert.equal(p.path, "functions");
    assert.equal(p.line, 2);
  });

  void it("a function without main", () => {
    const p = onlyProblem(yaml("project: demo", "functions:", "  hello:", "    env: { A: b }"));
    assert.equal(p.path, "functions.hello");
    assert.equal(p.line, 3);
    assert.match(p.problem, /missing required field "main"/);
    assert.match(p.fix, /main: functions\/hello\/index\.ts/);
  });

  void it("bad project name", () => {
    for (const name of ["My_App", "-lead", "trail-", "a".repeat(64), "dots.not.allowed"]) {
      const p = onlyProblem(
        yaml(
          "# a comment first",
          `project: ${name}`,
          "functions:",
          "  hello:",
          "    main: index.ts",
        ),
      );
      assert.equal(p.path, "project", name);
      assert.equal(p.line, 2, name);
      assert.match(p.fix, /lowercase letters, digits and dashes/);
    }
  });

  void it("bad function name points at the name", () => {
    const p = onlyProblem(
      yaml(
        "project: demo",
        "functions:",
        "  good:",
        "    main: a.ts",
        "  Bad_Name:",
        "    main: b.ts",
      ),
    );
    assert.equal(p.path, "functions.Bad_Name");
    assert.equal(p.line, 5);
    assert.match(p.problem, /Bad_Name/);
    assert.match(p.fix, /lowercase letters, digits and dashes/);
  });

  void it("unknown field at the top, in a function and in limits, each with the fields allowed there", () => {
    const top = onlyProblem(
      yaml("project: demo", "functions:", "  hello:", "    main: index.ts", "functons: {}"),
    );
    assert.deepEqual([top.path, top.line], ["functons", 5]);
    assert.match(top.problem, /unknown field "functons"/);
    assert.match(top.fix, /allowed here: project, routes, rateLimits, auth, functions$/);

    const inFunction = onlyProblem(minimal("    limit:", "      memory: 256"));
    assert.deepEqual([inFunction.path, inFunction.line], ["functions.hello.limit", 5]);
    assert.match(
      inFunction.fix,
      /allowed here: main, runtime, handler, env, limits, egress, idleTimeout, subjects, schedule, concurrency, retry, maxEventAge, deadLetter, onSuccess, onFailure, records$/,
    );

    const inLimits = onlyProblem(minimal("    limits:", "      timeout: 1s", "      memroy: 256"));
    assert.deepEqual([inLimits.path, inLimits.line], ["functions.hello.limits.memroy", 7]);
    assert.match(inLimits.fix, /allowed here: memory, cpu, timeout, concurrency$/);
  });

  void it("a timeout that is not a duration", () => {
    for (const timeout of ["fast", "10", "1.5", "-1s", "1 minute", "1w"]) {
      const p = onlyProblem(minimal("    limits:", `      timeout: ${timeout}`));
      assert.equal(p.path, "functions.hello.limits.timeout", timeout);
      assert.equal(p.line, 6, timeout);
      assert.match(p.fix, /500ms, 10s, 2m/);
    }
  });

  void it("a timeout over 15 minutes, or of zero", () => {
    for (const timeout of ["16m", "15.5m", "1h", "900001ms", "0ms", "0s"]) {
      const p = onlyProblem(minimal("    limits:", `      timeout: ${timeout}`));
      assert.equal(p.path, "functions.hello.limits.timeout", timeout);
      assert.equal(p.line, 6, timeout);
      assert.match(p.problem, new RegExp(`${timeout.replace(".", "\\.")} is outside 1ms\\.\\.15m`));
      assert.match(p.fix, /between 1ms and 15m/);
    }
    assert.equal(
      parseManifest(minimal("    limits:", "      timeout: 900000ms"), FILE).functions["hello"]
        ?.timeoutMs,
      900_000,
    );
  });

  void it("memory and concurrency out of range or of the wrong type", () => {
    const memory = onlyProblem(minimal("    limits:", "      memory: 8"));
    assert.deepEqual([memory.path, memory.line], ["functions.hello.limits.memory", 6]);
    assert.match(memory.fix, /MiB/);
    const concurrency = onlyProblem(minimal("    limits:", "      concurrency: lots"));
    assert.deepEqual(
      [concurrency.path, concurrency.line],
      ["functions.hello.limits.concurrency", 6],
    );
    assert.match(concurrency.problem, /must be integer/);
  });

  void it("a main no runtime can run, without a runtime named", () => {
    for (const main of ["index", "index.ts.bak", "handler.go"]) {
      const p = onlyProblem(yaml("project: demo", "functions:", "  hello:", `    main: ${main}`));
      assert.equal(p.path, "functions.hello.main", main);
      assert.equal(p.line, 4, main);
      assert.match(
        p.problem,
        new RegExp(
          `"${main.replace(/\./g, "\\.")}" is not a JavaScript, TypeScript or Python file`,
        ),
      );
      assert.match(p.fix, /\.ts, .*\.mjs.*\.py.*runtime: process/);
    }
  });

  void it("infers the runtime from main, and the handler from its file name", () => {
    const functions = parseManifest(
      yaml(
        "project: demo",
        "functions:",
        "  js: { main: functions/js/index.ts }",
        "  py: { main: functions/py/thumbnail.py }",
        "  named: { main: functions/py/app.py, handler: app.resize }",
        "  exe: { runtime: process, main: functions/exe/bootstrap, handler: function.handler }",
        "  node: { runtime: node-process, main: functions/node/index.mjs }",
      ),
      FILE,
    ).functions;
    const pick = (name: string) => [functions[name]?.runtime, functions[name]?.handler];
    assert.deepEqual(pick("js"), ["isolate", undefined]);
    assert.deepEqual(pick("py"), ["python", "thumbnail.handler"]);
    assert.deepEqual(pick("named"), ["python", "app.resize"]);
    assert.deepEqual(pick("exe"), ["process", "function.handler"]);
    assert.deepEqual(pick("node"), ["node-process", "index.handler"]);
  });

  void it("a runtime that does not match main's kind of file", () => {
    const python = onlyProblem(minimal("    runtime: python"));
    assert.equal(python.path, "functions.hello.main");
    assert.match(python.problem, /is not a Python file/);
    const node = onlyProblem(
      yaml(
        "project: demo",
        "functions:",
        "  hello:",
        "    main: main.py",
        "    runtime: node-process",
      ),
    );
    assert.match(node.problem, /is not a JavaScript file/);
  });

  void it("a handler on an isolate function, and a handler that is not module.function", () => {
    const isolate = onlyProblem(minimal("    handler: index.handler"));
    assert.equal(isolate.path, "functions.hello.handler");
    assert.match(isolate.problem, /handler is for process functions/);
    const shape = onlyProblem(
      yaml("project: demo", "functions:", "  hello:", "    main: main.py", "    handler: handler"),
    );
    assert.equal(shape.path, "functions.hello.handler");
  });

  void it("a cpu limit on an isolate function, and one out of range", () => {
    const isolate = onlyProblem(minimal("    limits: { cpu: 0.5 }"));
    assert.equal(isolate.path, "functions.hello.limits.cpu");
    assert.match(isolate.problem, /cpu limits process functions/);
    for (const cpu of ["0", "-1", "65", "half"]) {
      const p = onlyProblem(
        yaml(
          "project: demo",
          "functions:",
          "  py:",
          "    main: main.py",
          `    limits: { cpu: ${cpu} }`,
        ),
      );
      assert.equal(p.path, "functions.py.limits.cpu", cpu);
    }
    const manifest = parseManifest(
      yaml(
        "project: demo",
        "functions:",
        "  py:",
        "    main: main.py",
        "    limits: { cpu: 0.25 }",
      ),
      FILE,
    );
    assert.equal(manifest.functions["py"]?.cpu, 0.25);
  });

  void it("an unknown runtime, listing the known ones", () => {
    const p = onlyProblem(minimal("    runtime: ruby"));
    assert.equal(p.path, "functions.hello.runtime");
    assert.match(`${p.problem} ${p.fix}`, /isolate.*python.*process.*node-process/);
  });

  void it("a bad environment variable name points at that name", () => {
    for (const name of ["1BAD", "WITH-DASH", "has.dot", "'with space'"]) {
      const p = onlyProblem(minimal("    env:", "      GOOD: 1", `      ${name}: x`));
      assert.equal(p.path, `functions.hello.env.${name.replace(/'/g, "")}`, name);
      assert.equal(p.line, 7, name);
      assert.match(p.problem, /invalid name/);
      assert.match(p.fix, /letters, digits and _/);
    }
  });

  void it("an env value that is a map or a list", () => {
    const p = onlyProblem(minimal("    env:", "      NESTED:", "        a: 1"));
    assert.deepEqual([p.path, p.line], ["functions.hello.env.NESTED", 6]);
    assert.match(p.problem, /must be string,number,boolean/);
  });

  void it("a YAML syntax error, with its line", () => {
    const colon = onlyProblem(
      yaml(
        "project: demo",
        "functions:",
        "  hello:",
        "    main: index.ts: extra",
        "  other:",
        "    main: o.ts",
      ),
    );
    assert.deepEqual([colon.path, colon.line], ["(syntax)", 4]);
    assert.match(colon.fix, /YAML syntax/);
    assert.ok(!colon.problem.includes("\n"), "one line per problem");

    const indent = onlyProblem(
      yaml(
        "project: demo",
        "functions:",
        "  hello:",
        "    main: index.ts",
        "   env: {}",
        "  other:",
        "    main: o.ts",
      ),
    );
    assert.deepEqual([indent.path, indent.line], ["(syntax)", 5]);
    assert.match(indent.problem, /column/);

    const tab = onlyProblem(yaml("project: demo", "functions:", "\thello:", "    main: index.ts"));
    assert.deepEqual([tab.path, tab.line], ["(syntax)", 3]);
  });

  void it("duplicate keys, with the line of the duplicate", () => {
    const fn = onlyProblem(
      yaml(
        "project: demo",
        "functions:",
        "  hello:",
        "    main: a.ts",
        "  hello:",
        "    main: b.ts",
      ),
    );
    assert.deepEqual([fn.path, fn.line], ["(syntax)", 5]);
    assert.match(fn.problem, /unique/);
    const top = onlyProblem(
      yaml("project: demo", "functions:", "  hello:", "    main: a.ts", "project: again"),
    );
    assert.deepEqual([top.path, top.line], ["(syntax)", 5]);
  });

  void it("lists every problem at once, in one error", () => {
    const problems = problemsOf(
      yaml(
        "project: Broken",
        "functions:",
        "  hello:",
        "    main: index.ts",
        "    limits:",
        "      timeout: soon",
        "    colour: red",
      ),
    );
    assert.deepEqual(problems.map((p) => [p.path, p.line]).sort(), [
      ["functions.hello.colour", 7],
      ["functions.hello.limits.timeout", 6],
      ["project", 1],
    ]);
  });

  void it("a document that is not a map", () => {
    for (const text of ["", "just text\n", "- a\n- b\n"]) {
      const p = onlyProblem(text);
      assert.equal(p.path, "(root)", JSON.stringify(text));
      assert.match(p.problem, /must be object/);
    }
  });
});

void describe("manifest: loading a project directory", () => {
  void it("loads litefaas.yaml from a project", async () => {
    const { manifest, file } = await loadManifest(join(FIXTURES, "basic"));
    assert.equal(file, join(FIXTURES, "basic", "litefaas.yaml"));
    assert.equal(manifest.project, "basic");
    assert.equal(manifest.functions["slow"]?.timeoutMs, 20_000);
    assert.deepEqual(manifest.functions["echo"]?.env, { COLOR: "blue" });
  });

  void it("reports a broken manifest's problems against its full path", async () => {
    const dir = join(FIXTURES, "broken-manifest");
    const file = join(dir, "litefaas.yaml");
    const error = await loadManifest(dir).then(
      () => assert.fail("the broken manifest was accepted"),
      (e: unknown) => e,
    );
    const problems = problemsOfError(error, file);
    assert.ok(
      problems.every((p) => p.line !== undefined && p.line >= 1),
      JSON.stringify(problems),
    );
    assert.ok(problems.some((p) => p.path === "project"));
  });

  void it("finds litefaas.yml and litefaas.json, and prefers litefaas.yaml", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-manifest-"));
    try {
      await writeFile(
        join(dir, "litefaas.json"),
        JSON.stringify({ project: "from-json", functions: { f: { main: "f.ts" } } }),
      );
      assert.equal((await loadManifest(dir)).manifest.project, "from-json");
      await writeFile(join(dir, "litefaas.yml"), minimal().replace("demo", "from-yml"));
      const yml = await loadManifest(dir);
      assert.deepEqual([yml.manifest.project, yml.file], ["from-yml", join(dir, "litefaas.yml")]);
      await writeFile(join(dir, "litefaas.yaml"), minimal().replace("demo", "from-yaml"));
      assert.equal((await loadManifest(dir)).manifest.project, "from-yaml");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("a directory without a manifest gives a clear error with a fix", async () => {
    const dir = await mkdtemp(join(tmpdir(), "litefaas-manifest-empty-"));
    try {
      await assert.rejects(loadManifest(dir), (error: unknown) => {
        assert.ok(error instanceof LitefaasError);
        assert.equal(error.code, "INVALID_MANIFEST");
        assert.ok(error.message.includes(dir), error.message);
        assert.match(error.message, /litefaas\.yaml/);
        assert.match(error.fix ?? "", /litefaas\.yaml/);
        assert.match(error.fix ?? "", /project:/);
        return true;
      });
      await assert.rejects(
        loadManifest(join(dir, "does-not-exist")),
        (error: unknown) => error instanceof LitefaasError && error.code === "INVALID_MANIFEST",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
