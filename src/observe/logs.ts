// Function log lines: kept in memory per function (a bounded ring, so a chatty function cannot
// exhaust memory), appended to one file per function without blocking, and streamed to followers.
import { randomUUID } from "node:crypto";
import { createWriteStream, openSync, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { BusPort } from "../ports/bus.js";
import { lineMatcher, type LogFilter } from "./log-filter.js";
import { DEFAULT_LOG_FILE_MAX_BYTES, LogFileSize, rotatedPath } from "./log-file-rotation.js";
import { linesBackwards, searchLogFiles } from "./log-file-search.js";

export type LogLevel = "debug" | "info" | "log" | "warn" | "error";

export interface LogLine {
  ts: number;
  project: string;
  function: string;
  version: number;
  requestId: string;
  level: LogLevel;
  message: string;
}

export interface LogSink {
  append(line: LogLine): void;
}

/** Where lines are kept and read back: a process's store, or the cluster's through it. */
export interface LogBook extends LogSink {
  /** The last `limit` lines of a function that match `filter`, oldest first. */
  tail(project: string, fn: string, limit?: number, filter?: LogFilter): Promise<LogLine[]>;
  /** Every line appended from now on, until the returned function is called. */
  follow(project: string, fn: string, onLine: (line: LogLine) => void): () => void;
  /** Every line any function of the project appends from now on, until the returned function is called. */
  followProject(project: string, onLine: (line: LogLine) => void): () => void;
}

const RING = 1000;
const MAX_MESSAGE = 16 * 1024;
/**
 * Bytes waiting to reach a function's log file, at most: a function logging faster than the
 * disk takes it loses lines past this, and a line saying how many is written once it drains.
 */
const MAX_BACKLOG = 8 * 1024 * 1024;

interface OpenLog {
  stream: WriteStream;
  size: LogFileSize;
}

export class LogStore implements LogBook {
  private readonly rings = new Map<string, LogLine[]>();
  private readonly files = new Map<string, OpenLog>();
  /** Files rotated away whose last lines are still being written. */
  private readonly ending = new Set<Promise<void>>();
  /** By "<project>/<function>", and by "<project>" for those following a whole project. */
  private readonly followers = new Map<string, Set<(line: LogLine) => void>>();
  private readonly loaded = new Map<string, Promise<void>>();
  /** Lines not written to a function's file while its backlog was full, by function. */
  private readonly dropped = new Map<string, { count: number; sample: LogLine }>();

  constructor(
    private readonly dir: string | undefined,
    private readonly onDropped?: (project: string, fn: string, count: number) => void,
    private readonly maxFileBytes = DEFAULT_LOG_FILE_MAX_BYTES,
  ) {}

  append(line: LogLine): void {
    if (line.message.length > MAX_MESSAGE) {
      line.message = `${line.message.slice(0, MAX_MESSAGE)}… [${line.message.length - MAX_MESSAGE} characters cut]`;
    }
    const key = `${line.project}/${line.function}`;
    const file = this.file(key);
    // followers and the ring still get it: only the file loses lines, and says how many
    if (file !== undefined && file.stream.writableLength > MAX_BACKLOG) {
      const dropped = this.dropped.get(key);
      if (dropped === undefined) {
        this.dropped.set(key, { count: 1, sample: line });
        file.stream.once("drain", () => this.sayDropped(key));
      } else dropped.count++;
      this.push(key, line);
      this.tell(key, line);
      return;
    }
    this.keep(key, line, file);
  }

  private keep(key: string, line: LogLine, file: OpenLog | undefined): void {
    this.push(key, line);
    if (file !== undefined) this.write(key, file, `${JSON.stringify(line)}\n`);
    this.tell(key, line);
  }

  private write(key: string, file: OpenLog, text: string): void {
    if (file.size.beforeWrite(Buffer.byteLength(text))) {
      // rotated: what the old stream still holds goes to the renamed file
      const ended = new Promise<void>((resolve) => file.stream.end(() => resolve()));
      this.ending.add(ended);
      void ended.then(() => this.ending.delete(ended));
      const next = this.openStream(key, file.size.path);
      if (next === undefined) {
        this.files.delete(key); // the line stays in memory; the next one tries again
        return;
      }
      file.stream = next;
    }
    file.stream.write(text);
  }

  private tell(key: string, line: LogLine): void {
    for (const follow of this.followers.get(key) ?? []) follow(line);
    for (const follow of this.followers.get(line.project) ?? []) follow(line);
  }

  /** The counted line that says lines were lost, where they would have been. */
  private sayDropped(key: string): void {
    const dropped = this.dropped.get(key);
    if (dropped === undefined) return;
    this.dropped.delete(key);
    const { project, function: fn, version } = dropped.sample;
    this.onDropped?.(project, fn, dropped.count);
    this.keep(
      key,
      {
        ts: Date.now(),
        project,
        function: fn,
        version,
        requestId: "",
        level: "warn",
        message: `${dropped.count} log lines dropped from the log file: ${project}/${fn} logged faster than it could be written`,
      },
      this.files.get(key),
    );
  }

  /**
   * The last `limit` lines of a function that match `filter`, oldest first, including those from
   * earlier runs. Without a filter they are the lines kept in memory; a filter that finds fewer
   * there looks further back through the function's log files.
   */
  async tail(project: string, fn: string, limit = 100, filter: LogFilter = {}): Promise<LogLine[]> {
    const key = `${project}/${fn}`;
    await this.loadHistory(key);
    const ring = this.rings.get(key) ?? [];
    const matches = lineMatcher(filter);
    if (matches === undefined) return ring.slice(-limit);
    const found = ring.filter(matches);
    const path = this.pathOf(key);
    if (found.length >= limit || path === undefined) return found.slice(-limit);
    const before = ring[0]?.ts ?? Infinity;
    const older = await searchLogFiles(
      [path, rotatedPath(path)],
      filter,
      before,
      limit - found.length,
    );
    return [...older, ...found];
  }

  follow(project: string, fn: string, onLine: (line: LogLine) => void): () => void {
    return this.listen(`${project}/${fn}`, onLine);
  }

  followProject(project: string, onLine: (line: LogLine) => void): () => void {
    return this.listen(project, onLine);
  }

  private listen(key: string, onLine: (line: LogLine) => void): () => void {
    let set = this.followers.get(key);
    if (set === undefined) this.followers.set(key, (set = new Set()));
    set.add(onLine);
    return () => set.delete(onLine);
  }

  async close(): Promise<void> {
    await Promise.all([
      ...[...this.files.values()].map(
        ({ stream }) => new Promise<void>((resolve) => stream.end(() => resolve())),
      ),
      ...this.ending,
    ]);
    this.files.clear();
  }

  private push(key: string, line: LogLine) {
    let ring = this.rings.get(key);
    if (ring === undefined) this.rings.set(key, (ring = []));
    ring.push(line);
    if (ring.length > RING * 1.5) ring.splice(0, ring.length - RING);
  }

  private pathOf(key: string): string | undefined {
    return this.dir === undefined ? undefined : join(this.dir, `${key.replace("/", "--")}.ndjson`);
  }

  private file(key: string): OpenLog | undefined {
    const path = this.pathOf(key);
    if (path === undefined) return undefined;
    let file = this.files.get(key);
    if (file === undefined) {
      const stream = this.openStream(key, path);
      if (stream === undefined) return undefined;
      file = { stream, size: new LogFileSize(path, this.maxFileBytes) };
      this.files.set(key, file);
    }
    return file;
  }

  /**
   * Opened at once, not as createWriteStream would later: the file must exist from now on, or a
   * rotation in between would find nothing to rename and the new file would take two caps.
   */
  private openStream(key: string, path: string): WriteStream | undefined {
    let fd: number;
    try {
      fd = openSync(path, "a");
    } catch {
      return undefined; // not writable now: the lines stay in memory, and the next one tries
    }
    const stream = createWriteStream(path, { fd });
    // a file that cannot be written is dropped, and opened again by the next line
    stream.on("error", () => {
      if (this.files.get(key)?.stream === stream) this.files.delete(key);
    });
    return stream;
  }

  /** Lines written by earlier runs of the platform, read once, lazily. */
  private loadHistory(key: string): Promise<void> {
    let loading = this.loaded.get(key);
    if (loading === undefined) {
      loading = this.readHistory(key);
      this.loaded.set(key, loading);
    }
    return loading;
  }

  private async readHistory(key: string) {
    const path = this.pathOf(key);
    if (path === undefined) return;
    // the newest lines, from the rotated file too when the current one is short of a ring
    let raws = await lastLines(path, RING + 1);
    if (raws.length < RING) raws = [...(await lastLines(rotatedPath(path), RING)), ...raws];
    const current = this.rings.get(key) ?? [];
    const firstTs = current[0]?.ts ?? Infinity;
    const older: LogLine[] = [];
    for (const raw of raws.slice(-RING - 1)) {
      if (raw.length === 0) continue;
      try {
        const line = JSON.parse(raw) as LogLine;
        if (line.ts < firstTs) older.push(line);
      } catch {
        // a torn last line after a crash: skip it
      }
    }
    this.rings.set(key, [...older, ...current].slice(-RING));
  }

  static async open(
    dir: string | undefined,
    onDropped?: (project: string, fn: string, count: number) => void,
    maxFileBytes?: number,
  ): Promise<LogStore> {
    if (dir !== undefined) await mkdir(dir, { recursive: true });
    return new LogStore(dir, onDropped, maxFileBytes);
  }
}

/** Up to `count` last lines of a file, oldest first; none if it is missing. */
async function lastLines(path: string, count: number): Promise<string[]> {
  const lines: string[] = [];
  if (count < 1) return lines;
  for await (const raw of linesBackwards(path)) {
    if (lines.push(raw) >= count) break;
  }
  return lines.reverse();
}

/**
 * The log book of a process on a bus shared by the cluster's processes: a line appended here is
 * kept here and sent to the others, and theirs are kept here too, so `litefaas logs` through any
 * process shows what every worker logged.
 */
export function shareLogs(store: LogStore, bus: BusPort, subject: string): LogBook {
  const self = randomUUID();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  bus.subscribe(`${subject}.>`, (message) => {
    if (message.headers["litefaas-from"] === self) return;
    try {
      store.append(JSON.parse(decoder.decode(message.data)) as LogLine);
    } catch {
      // not a line of ours: nothing to keep
    }
  });
  return {
    append(line) {
      store.append(line);
      void bus
        .publish(
          `${subject}.${line.project}.${line.function}`,
          encoder.encode(JSON.stringify(line)),
          { "litefaas-from": self },
        )
        .catch(() => undefined); // kept here at least; the others miss a line
    },
    tail: (project, fn, limit, filter) => store.tail(project, fn, limit, filter),
    follow: (project, fn, onLine) => store.follow(project, fn, onLine),
    followProject: (project, onLine) => store.followProject(project, onLine),
  };
}
