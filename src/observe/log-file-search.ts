// A filtered tail that reaches past the lines kept in memory: a function's log files (the current
// one and the one rotated before it, both bounded by --log-file-max) are read from their ends
// backwards until enough lines match. A line is parsed only when its raw text could match, so a
// search for one request id through 64 MiB of someone else's lines stays a string scan.
import { open } from "node:fs/promises";
import { lineMatcher, type LogFilter } from "./log-filter.js";
import type { LogLine } from "./logs.js";

const CHUNK_BYTES = 1024 * 1024;

/**
 * Up to `limit` lines matching `filter` and older than `before` (epoch ms), oldest first, from
 * `paths` (newest file first). Lines at `before` itself are left out: they are the memory's.
 */
export async function searchLogFiles(
  paths: readonly string[],
  filter: LogFilter,
  before: number,
  limit: number,
): Promise<LogLine[]> {
  const matches = lineMatcher(filter);
  if (matches === undefined || limit < 1) return [];
  const couldMatch = rawTest(filter);
  const found: LogLine[] = []; // newest first
  for (const path of paths) {
    for await (const raw of linesBackwards(path)) {
      if (!couldMatch(raw)) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue; // a torn line after a crash
      }
      if (line.ts >= before || !matches(line)) continue;
      found.push(line);
      if (found.length >= limit) return found.reverse();
    }
  }
  return found.reverse();
}

/** A cheap test on a line as written: false only when it cannot match. */
function rawTest(filter: LogFilter): (raw: string) => boolean {
  const tests: Array<(raw: string) => boolean> = [];
  if (filter.requestId !== undefined) {
    const field = `"requestId":${JSON.stringify(filter.requestId)}`;
    tests.push((raw) => raw.includes(field));
  }
  const text = filter.text?.toLowerCase();
  // text JSON writes as it is; other text (quotes, backslashes, controls) is left to the parse
  if (text !== undefined && text !== "" && JSON.stringify(text) === `"${text}"`) {
    tests.push((raw) => raw.toLowerCase().includes(text));
  }
  return (raw) => tests.every((test) => test(raw));
}

/** A file's lines from the last to the first, read a chunk at a time; none when it is missing. */
export async function* linesBackwards(path: string): AsyncGenerator<string> {
  let file;
  try {
    file = await open(path, "r");
  } catch {
    return;
  }
  try {
    let end = (await file.stat()).size;
    // the start of the line the previous chunk began in the middle of
    let carry = Buffer.alloc(0);
    while (end > 0) {
      const start = Math.max(0, end - CHUNK_BYTES);
      const chunk = Buffer.alloc(end - start);
      await file.read(chunk, 0, chunk.length, start);
      const joined = Buffer.concat([chunk, carry]);
      // split on bytes, not characters: a chunk may begin inside a multi-byte character
      let stop = joined.length;
      for (
        let i = joined.lastIndexOf(0x0a, stop - 1);
        i >= 0;
        i = joined.lastIndexOf(0x0a, i - 1)
      ) {
        if (stop > i + 1) yield joined.toString("utf8", i + 1, stop);
        stop = i;
        if (i === 0) break;
      }
      carry = joined.subarray(0, stop);
      end = start;
    }
    if (carry.length > 0) yield carry.toString("utf8");
  } finally {
    await file.close();
  }
}
