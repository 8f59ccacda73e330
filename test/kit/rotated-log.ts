// Reading a log that was rotated (observe/log-file-rotation.ts): the file before and the current
// one, each within the cap, as the request ids their JSON lines carry, oldest first.
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";

export async function rotatedRequestIds(dir: string, name: string, cap: number): Promise<string[]> {
  const ids: string[] = [];
  for (const file of [`${name}.1`, name]) {
    assert.ok((await stat(join(dir, file))).size <= cap, `${file} within the cap`);
    for (const raw of (await readFile(join(dir, file), "utf8")).split("\n"))
      if (raw !== "") ids.push(String((JSON.parse(raw) as { requestId?: unknown }).requestId));
  }
  return ids;
}

/** `ids` are r<n> for the newest of `total` lines r0…, in order, none missing. */
export function assertNewestInOrder(ids: string[], total: number): void {
  const first = total - ids.length;
  assert.deepEqual(
    ids,
    Array.from({ length: ids.length }, (_, i) => `r${first + i}`),
  );
}
