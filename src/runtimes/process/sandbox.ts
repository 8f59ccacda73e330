// The sandbox a process function runs in, deny by default:
// - bubblewrap: its own mount, pid, network, ipc, uts and user namespaces; the function's code
//   read-only at /var/task, the runtime's files at /opt/litefaas, a size-capped private /tmp, a
//   minimal /dev and /proc, nothing of the host's data, other functions or environment; no
//   network but a loopback where socat carries the Runtime API to the host's socket;
// - cgroups (v2, else v1): memory, process count and CPU share; else an address-space rlimit;
// - rlimits: open files.
// What the machine lacks is said at start-up, and --require-sandbox refuses to run without it.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cgroupV1Meter, cgroupV2Meter, type MemoryMeter } from "./memory-meter.js";

export interface SandboxTools {
  bwrap: string | undefined;
  socat: string | undefined;
  cgroup:
    | { version: 2; root: string; cpu: boolean }
    | { version: 1; memory: string; pids: string | undefined; cpu: string | undefined }
    | undefined;
}

/** Where the Runtime API is inside the sandbox (socat forwards it to the host's socket). */
export const SANDBOX_API_ADDRESS = "127.0.0.1:9001";
/** The egress proxy inside the sandbox, for functions with an egress list. */
export const SANDBOX_PROXY_URL = "http://127.0.0.1:9002";
/** litefaas's cgroups: one folder per platform process, so a sweep knows whose are stale. */
const CGROUP_PARENT = "litefaas";
const CGROUP_NAME = `${CGROUP_PARENT}/p${process.pid}`;

export function findSandboxTools(): SandboxTools {
  return { bwrap: which("bwrap"), socat: which("socat"), cgroup: findCgroups() };
}

/** Lines for the start-up report: each protection on or off, and why. */
export function describeProtections(tools: SandboxTools): { on: string[]; off: string[] } {
  const on: string[] = [];
  const off: string[] = [];
  if (tools.bwrap !== undefined) on.push("namespaces and a private file system (bubblewrap)");
  else off.push("file system and process isolation: bwrap not found (apt-get install bubblewrap)");
  if (tools.bwrap !== undefined && tools.socat !== undefined) on.push("no network");
  else off.push("network isolation: needs bwrap and socat (apt-get install bubblewrap socat)");
  const cgroup = tools.cgroup;
  if (cgroup !== undefined) {
    on.push(`memory and process-count limits (cgroup v${cgroup.version})`);
    if (!cgroup.cpu)
      off.push(`CPU limit: no cpu controller in the cgroup v${cgroup.version} hierarchy`);
    else on.push(`CPU limit (cgroup v${cgroup.version})`);
  } else
    off.push(
      "memory, process-count and CPU limits: no writable cgroup (an address-space rlimit stands in for memory)",
    );
  return { on, off };
}

export interface SandboxSpec {
  /** Unique per instance: names its cgroup. */
  id: string;
  /** Host directory of the function's code, read-only at /var/task. */
  taskRoot: string;
  /** Host directory of the runtime's own files, read-only at /opt/litefaas. */
  runtimeDir: string;
  /** Host directory holding the Runtime API's socket, at /run/litefaas. */
  socketDir: string;
  /** Host directories an interpreter needs, read-only at the same path. */
  readOnly: string[];
  /** The command inside, and its environment (nothing else of the host's). */
  command: string[];
  /** Bridge the Runtime API to loopback and start the command once it answers there, or start
   * it at once without a bridge (it reaches the socket itself). */
  bridge: "wait" | "none";
  /** Carry the egress proxy's socket to loopback (a function with an egress list). */
  proxy: boolean;
  env: Record<string, string>;
  memoryMiB: number;
  /** CPU time per wall-clock second, in cores (0.5: half of one core). */
  cpuCores: number;
  tmpMiB: number;
  maxProcesses: number;
  maxOpenFiles: number;
}

export interface SandboxedCommand {
  file: string;
  args: string[];
  /** Environment for the launcher only (cgroup paths); the function gets spec.env. */
  env: Record<string, string>;
  /** Kill whatever is left in the instance's cgroup and remove it. */
  cleanup: () => Promise<void>;
  /** True when the kernel's OOM killer ended a process of this instance. */
  oomKilled: () => Promise<boolean>;
  /** Changes the memory and CPU limits (a prepared sandbox taking on a function). */
  setLimits: (memoryMiB: number, cpuCores: number) => Promise<void>;
  /** The memory cgroup's peak, where there is one; cleanup closes it. */
  memory: MemoryMeter | undefined;
}

/**
 * The launcher: a shell that joins the instance's cgroups and sets rlimits, then execs bwrap
 * (or the command itself without bwrap), so every process the function makes is held by them.
 */
export async function sandboxCommand(
  spec: SandboxSpec,
  tools: SandboxTools,
): Promise<SandboxedCommand> {
  const cgroups = await makeCgroups(spec, tools);
  const isolated = tools.bwrap !== undefined && tools.socat !== undefined;
  const inner = isolated ? bwrapArgs(spec, tools.bwrap as string) : spec.command;
  const vmem = cgroups.procs.length === 0 ? `ulimit -v ${spec.memoryMiB * 1024 * 2};` : "";
  const script =
    'for p in $LF_CGROUP_PROCS; do echo $$ > "$p"; done; ' +
    `ulimit -n ${spec.maxOpenFiles}; ${vmem} exec "$@"`;
  return {
    file: "/bin/sh",
    args: ["-c", script, "litefaas-sandbox", ...inner],
    env: { LF_CGROUP_PROCS: cgroups.procs.join(" "), PATH: "/usr/bin:/bin" },
    cleanup: cgroups.cleanup,
    oomKilled: cgroups.oomKilled,
    setLimits: cgroups.setLimits,
    memory: cgroups.memory,
  };
}

function bwrapArgs(spec: SandboxSpec, bwrap: string): string[] {
  const args = [
    bwrap,
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--uid",
    "65534",
    "--gid",
    "65534",
    "--hostname",
    "litefaas",
    "--ro-bind",
    "/usr",
    "/usr",
  ];
  // merged-/usr systems link /bin, /lib… into /usr; others have them as directories
  for (const top of ["/bin", "/sbin", "/lib", "/lib64", "/lib32"]) {
    if (!existsSync(top)) continue;
    const stat = lstatSync(top);
    if (stat.isSymbolicLink()) args.push("--symlink", readlinkSync(top), top);
    else args.push("--ro-bind", top, top);
  }
  for (const etc of [
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/localtime",
    "/etc/nsswitch.conf",
  ])
    args.push("--ro-bind-try", etc, etc);
  // the private /tmp first: an interpreter that lives under the host's /tmp is bound on top of it
  args.push("--size", String(spec.tmpMiB * 1024 * 1024), "--tmpfs", "/tmp");
  for (const dir of spec.readOnly) args.push("--ro-bind", dir, dir);
  args.push(
    "--ro-bind",
    spec.taskRoot,
    "/var/task",
    "--ro-bind",
    spec.runtimeDir,
    "/opt/litefaas",
    "--bind",
    spec.socketDir,
    "/run/litefaas",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--chdir",
    "/var/task",
    "--clearenv",
  );
  for (const [name, value] of Object.entries(spec.env)) args.push("--setenv", name, value);
  // socat listens first; the command starts once the Runtime API answers on loopback
  // socat listens first; the command starts once each bridge answers on loopback
  const bridges: Array<[string, string]> = [];
  if (spec.bridge === "wait") bridges.push([SANDBOX_API_ADDRESS, "api.sock"]);
  if (spec.proxy) bridges.push([new URL(SANDBOX_PROXY_URL).host, "proxy.sock"]);
  if (bridges.length === 0) args.push("--", ...spec.command);
  else {
    let script = "";
    for (const [address, socket] of bridges) {
      const [host, port] = address.split(":");
      script += `socat TCP-LISTEN:${port},bind=${host},fork,reuseaddr UNIX-CONNECT:/run/litefaas/${socket} & `;
    }
    for (const [address] of bridges) {
      const [host, port] = address.split(":");
      script += `until socat -u /dev/null TCP:${host}:${port} 2>/dev/null; do sleep 0.002; done; `;
    }
    args.push("--", "/bin/sh", "-c", `${script}exec "$@"`, "litefaas-init", ...spec.command);
  }
  return args;
}

interface Cgroups {
  procs: string[];
  cleanup: () => Promise<void>;
  oomKilled: () => Promise<boolean>;
  setLimits: (memoryMiB: number, cpuCores: number) => Promise<void>;
  memory: MemoryMeter | undefined;
}

async function makeCgroups(spec: SandboxSpec, tools: SandboxTools): Promise<Cgroups> {
  const none: Cgroups = {
    procs: [],
    cleanup: () => Promise.resolve(),
    oomKilled: () => Promise.resolve(false),
    setLimits: () => Promise.resolve(),
    memory: undefined,
  };
  const cgroup = tools.cgroup;
  if (cgroup === undefined) return none;
  const bytes = (mib: number) => String(mib * 1024 * 1024);
  try {
    if (cgroup.version === 2) {
      const dir = join(cgroup.root, CGROUP_NAME, spec.id);
      await mkdir(dir, { recursive: true });
      const setLimits = async (memoryMiB: number, cpuCores: number) => {
        await writeFile(join(dir, "memory.max"), bytes(memoryMiB));
        if (cgroup.cpu)
          await writeFile(join(dir, "cpu.max"), `${cpuQuota(cpuCores)} ${CPU_PERIOD_US}`);
      };
      await setLimits(spec.memoryMiB, spec.cpuCores);
      await writeFile(join(dir, "memory.swap.max"), "0").catch(() => undefined);
      await writeFile(join(dir, "pids.max"), String(spec.maxProcesses)).catch(() => undefined);
      const meter = cgroupV2Meter(dir);
      return {
        procs: [join(dir, "cgroup.procs")],
        cleanup: async () => {
          meter?.close();
          await writeFile(join(dir, "cgroup.kill"), "1").catch(() =>
            killAll([join(dir, "cgroup.procs")]),
          );
          await removeWhenEmpty([dir]);
        },
        oomKilled: async () =>
          /oom_kill [1-9]/.test(await readFile(join(dir, "memory.events"), "utf8").catch(() => "")),
        setLimits,
        memory: meter,
      };
    }
    const memory = join(cgroup.memory, CGROUP_NAME, spec.id);
    await mkdir(memory, { recursive: true });
    const dirs = [memory];
    if (cgroup.pids !== undefined) {
      const pids = join(cgroup.pids, CGROUP_NAME, spec.id);
      await mkdir(pids, { recursive: true });
      await writeFile(join(pids, "pids.max"), String(spec.maxProcesses));
      dirs.push(pids);
    }
    const cpu = cgroup.cpu === undefined ? undefined : join(cgroup.cpu, CGROUP_NAME, spec.id);
    if (cpu !== undefined) {
      await mkdir(cpu, { recursive: true });
      await writeFile(join(cpu, "cpu.cfs_period_us"), String(CPU_PERIOD_US));
      dirs.push(cpu);
    }
    let current = Infinity;
    const setLimits = async (memoryMiB: number, cpuCores: number) => {
      // memory+swap may never be under memory alone: raise it first, lower it last
      const limit = () => writeFile(join(memory, "memory.limit_in_bytes"), bytes(memoryMiB));
      // without swap accounting memsw does not exist; the memory limit still holds
      const memsw = () =>
        writeFile(join(memory, "memory.memsw.limit_in_bytes"), bytes(memoryMiB)).catch(
          () => undefined,
        );
      if (memoryMiB > current) await memsw().then(limit);
      else await limit().then(memsw);
      current = memoryMiB;
      if (cpu !== undefined)
        await writeFile(join(cpu, "cpu.cfs_quota_us"), String(cpuQuota(cpuCores)));
    };
    await setLimits(spec.memoryMiB, spec.cpuCores);
    const procs = dirs.map((d) => join(d, "cgroup.procs"));
    const meter = cgroupV1Meter(memory);
    return {
      procs,
      cleanup: async () => {
        meter?.close();
        await killAll(procs);
        await removeWhenEmpty(dirs);
      },
      oomKilled: async () =>
        /oom_kill [1-9]/.test(
          await readFile(join(memory, "memory.oom_control"), "utf8").catch(() => ""),
        ) || Number(await readFile(join(memory, "memory.failcnt"), "utf8").catch(() => "0")) > 0,
      setLimits,
      memory: meter,
    };
  } catch {
    return none;
  }
}

/** The CFS period: a cap is enforced within each tenth of a second. */
const CPU_PERIOD_US = 100_000;

/** The CPU a function may use per period, in µs (the kernel takes 1 ms at least). */
function cpuQuota(cpuCores: number): number {
  return Math.max(1000, Math.round(cpuCores * CPU_PERIOD_US));
}

async function killAll(procs: string[]) {
  for (const file of procs) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const pid of text.split("\n").filter((p) => p !== "")) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
}

/** A cgroup can be removed once its last process is gone, which takes the kernel a moment. */
async function removeWhenEmpty(dirs: string[]) {
  for (const dir of dirs) {
    for (let i = 0; i < 50; i++) {
      try {
        await rmdir(dir);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
}

/** The cgroups litefaas can use under `root` (a parameter for tests), its folders made. */
export function findCgroups(root = "/sys/fs/cgroup"): SandboxTools["cgroup"] {
  try {
    if (existsSync(join(root, "cgroup.controllers"))) {
      const controllers = readFileSync(join(root, "cgroup.controllers"), "utf8");
      if (!/\bmemory\b/.test(controllers)) return undefined;
      let cpu = /\bcpu\b/.test(controllers);
      // v2 delegates controllers to children only when each parent enables them; cpu is
      // wanted, not needed: without it the other limits still hold
      for (const dir of [join(root, CGROUP_PARENT), join(root, CGROUP_NAME)]) {
        mkdirSync(dir, { recursive: true });
        const control = join(dir, "cgroup.subtree_control");
        try {
          writeFileSync(control, cpu ? "+memory +pids +cpu" : "+memory +pids");
        } catch (error) {
          if (!cpu) throw error;
          cpu = false;
          writeFileSync(control, "+memory +pids");
        }
      }
      sweepStale(root);
      return { version: 2, root, cpu };
    }
    const memory = join(root, "memory");
    if (!existsSync(join(memory, "memory.limit_in_bytes"))) return undefined;
    mkdirSync(join(memory, CGROUP_NAME), { recursive: true });
    sweepStale(memory);
    const pids = join(root, "pids");
    let pidsDir: string | undefined;
    try {
      mkdirSync(join(pids, CGROUP_NAME), { recursive: true });
      sweepStale(pids);
      pidsDir = pids;
    } catch {
      pidsDir = undefined;
    }
    return { version: 1, memory, pids: pidsDir, cpu: v1Cpu(root) };
  } catch {
    return undefined;
  }
}

/** The v1 cpu hierarchy with litefaas's folder made in it, or undefined without one. */
function v1Cpu(root: string): string | undefined {
  // mounted alone (cpu) or co-mounted (cpu,cpuacct, with "cpu" a link to it)
  const dir = join(root, "cpu");
  try {
    if (!existsSync(join(dir, "cpu.cfs_quota_us"))) return undefined;
    mkdirSync(join(dir, CGROUP_NAME), { recursive: true });
    sweepStale(dir);
    return dir;
  } catch {
    return undefined;
  }
}

/** Remove what platforms that are gone left under litefaas/ (cgroups of instances never cleaned). */
function sweepStale(hierarchy: string) {
  const parent = join(hierarchy, CGROUP_PARENT);
  for (const entry of readdirSync(parent, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const owner = /^p(\d+)$/.exec(entry.name);
    if (owner !== null && isAlive(Number(owner[1]))) continue;
    const dir = join(parent, entry.name);
    for (const child of readdirSync(dir, { withFileTypes: true }))
      if (child.isDirectory()) tryRmdir(join(dir, child.name));
    tryRmdir(dir);
  }
}

/** Remove this platform's own cgroup folder (at shutdown, once its instances are gone). */
export function removeOwnCgroups(tools: SandboxTools) {
  const cgroup = tools.cgroup;
  if (cgroup === undefined) return;
  const roots =
    cgroup.version === 2
      ? [cgroup.root]
      : [cgroup.memory, cgroup.pids, cgroup.cpu].filter((d): d is string => d !== undefined);
  for (const root of roots) tryRmdir(join(root, CGROUP_NAME));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tryRmdir(dir: string) {
  try {
    rmdirSync(dir);
  } catch {
    // busy (processes still in it) or already gone
  }
}

function which(command: string): string | undefined {
  try {
    const found = execFileSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim();
    return found === "" ? undefined : found;
  } catch {
    return undefined;
  }
}
