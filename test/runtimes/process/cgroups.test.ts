// Which cgroup files the sandbox writes, for each kind of hierarchy. This machine has cgroup v1
// only, so the v1 limits are also tested for effect by the sandbox tests; here a folder laid out
// as each hierarchy looks stands in for /sys/fs/cgroup, to check the v2 path's files and the
// fallbacks when a controller is missing.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  describeProtections,
  findCgroups,
  sandboxCommand,
  type SandboxSpec,
  type SandboxTools,
} from "../../../src/runtimes/process/sandbox.js";

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "litefaas-cgroups-"));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

const spec = (id: string, cpuCores: number): SandboxSpec => ({
  id,
  taskRoot: "/nonexistent/task",
  runtimeDir: "/nonexistent/runtime",
  socketDir: "/nonexistent/run",
  readOnly: [],
  command: ["/bin/true"],
  bridge: "none",
  proxy: false,
  env: {},
  memoryMiB: 96,
  cpuCores,
  tmpMiB: 64,
  maxProcesses: 32,
  maxOpenFiles: 256,
});

/** No bwrap: only the cgroups and rlimits are in play. */
const withCgroup = (cgroup: SandboxTools["cgroup"]): SandboxTools => ({
  bwrap: undefined,
  socat: undefined,
  cgroup,
});

const own = (root: string) => join(root, "litefaas", `p${process.pid}`);
const read = (path: string) => readFile(path, "utf8");

void describe("sandbox cgroups", () => {
  void it("v2: delegates memory, pids and cpu, and writes each limit for an instance", async () => {
    const root = await fakeRoot({ "cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma" });
    const cgroup = findCgroups(root);
    assert.deepEqual(cgroup, { version: 2, root, cpu: true });
    assert.equal(
      await read(join(root, "litefaas", "cgroup.subtree_control")),
      "+memory +pids +cpu",
    );
    assert.equal(await read(join(own(root), "cgroup.subtree_control")), "+memory +pids +cpu");

    const command = await sandboxCommand(spec("a", 0.5), withCgroup(cgroup));
    const dir = join(own(root), "a");
    assert.equal(await read(join(dir, "memory.max")), String(96 * 1024 * 1024));
    assert.equal(await read(join(dir, "memory.swap.max")), "0");
    assert.equal(await read(join(dir, "pids.max")), "32");
    assert.equal(await read(join(dir, "cpu.max")), "50000 100000");
    assert.equal(command.env["LF_CGROUP_PROCS"], join(dir, "cgroup.procs"));
    // the launcher joins the cgroup before anything else runs, and sets the open-files rlimit
    assert.match(
      command.args[1] ?? "",
      /^for p in \$LF_CGROUP_PROCS; do echo \$\$ > "\$p"; done; ulimit -n 256;/,
    );
    // a cgroup holds memory: no address-space rlimit stands in
    assert.doesNotMatch(command.args[1] ?? "", /ulimit -v/);
    assert.deepEqual(describeProtections(withCgroup(cgroup)).off, [
      "file system and process isolation: bwrap not found (apt-get install bubblewrap)",
      "network isolation: needs bwrap and socat (apt-get install bubblewrap socat)",
    ]);
  });

  void it("v2 without the cpu controller: memory and pids hold, and CPU is said to be off", async () => {
    const root = await fakeRoot({ "cgroup.controllers": "memory pids" });
    const cgroup = findCgroups(root);
    assert.deepEqual(cgroup, { version: 2, root, cpu: false });
    assert.equal(await read(join(own(root), "cgroup.subtree_control")), "+memory +pids");
    await sandboxCommand(spec("b", 0.5), withCgroup(cgroup));
    const dir = join(own(root), "b");
    assert.equal(await read(join(dir, "memory.max")), String(96 * 1024 * 1024));
    await assert.rejects(read(join(dir, "cpu.max")), { code: "ENOENT" });
    const { on, off } = describeProtections(withCgroup(cgroup));
    assert.ok(on.includes("memory and process-count limits (cgroup v2)"), on.join("; "));
    assert.ok(
      off.includes("CPU limit: no cpu controller in the cgroup v2 hierarchy"),
      off.join("; "),
    );
  });

  void it("v2 without the memory controller: no cgroup, and an rlimit stands in", async () => {
    const root = await fakeRoot({ "cgroup.controllers": "cpu pids" });
    assert.equal(findCgroups(root), undefined);
    const command = await sandboxCommand(spec("c", 1), withCgroup(undefined));
    assert.equal(command.env["LF_CGROUP_PROCS"], "");
    assert.match(command.args[1] ?? "", new RegExp(`ulimit -v ${96 * 1024 * 2};`));
    assert.ok(
      describeProtections(withCgroup(undefined)).off.some((line) =>
        line.startsWith("memory, process-count and CPU limits: no writable cgroup"),
      ),
    );
  });

  void it("v1: memory, pids and cpu hierarchies, each with the instance's folder", async () => {
    const root = await fakeRoot({
      "memory/memory.limit_in_bytes": "9223372036854771712",
      "pids/pids.max": "max",
      "cpu/cpu.cfs_quota_us": "-1",
    });
    const cgroup = findCgroups(root);
    assert.deepEqual(cgroup, {
      version: 1,
      memory: join(root, "memory"),
      pids: join(root, "pids"),
      cpu: join(root, "cpu"),
    });
    const command = await sandboxCommand(spec("d", 0.2), withCgroup(cgroup));
    const memory = join(own(join(root, "memory")), "d");
    const pids = join(own(join(root, "pids")), "d");
    const cpu = join(own(join(root, "cpu")), "d");
    assert.equal(await read(join(memory, "memory.limit_in_bytes")), String(96 * 1024 * 1024));
    assert.equal(await read(join(pids, "pids.max")), "32");
    assert.equal(await read(join(cpu, "cpu.cfs_period_us")), "100000");
    assert.equal(await read(join(cpu, "cpu.cfs_quota_us")), "20000");
    assert.deepEqual((command.env["LF_CGROUP_PROCS"] ?? "").split(" "), [
      join(memory, "cgroup.procs"),
      join(pids, "cgroup.procs"),
      join(cpu, "cgroup.procs"),
    ]);
  });

  void it("v1 without a cpu hierarchy: CPU is said to be off, the rest holds", async () => {
    const root = await fakeRoot({
      "memory/memory.limit_in_bytes": "9223372036854771712",
      "pids/pids.max": "max",
    });
    const cgroup = findCgroups(root);
    assert.equal(cgroup?.version, 1);
    assert.equal(cgroup?.version === 1 ? cgroup.cpu : "v2", undefined);
    await sandboxCommand(spec("e", 0.2), withCgroup(cgroup));
    assert.equal(
      await read(join(own(join(root, "memory")), "e", "memory.limit_in_bytes")),
      String(96 * 1024 * 1024),
    );
    assert.ok(
      describeProtections(withCgroup(cgroup)).off.includes(
        "CPU limit: no cpu controller in the cgroup v1 hierarchy",
      ),
    );
  });
});
