// Waiting for something asynchronous in a test: poll until it holds, or fail saying what never
// happened. No timing thresholds: the give-up is only a backstop for a hung test.
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";

const GIVE_UP_MS = 60_000;

/** Resolves once `probe` is true. */
export async function eventually(
  what: string,
  probe: () => boolean | Promise<boolean>,
  giveUpMs = GIVE_UP_MS,
): Promise<void> {
  await eventuallyValue(what, async () => ((await probe()) ? true : undefined), giveUpMs);
}

/** Resolves with the first value `probe` gives that is not undefined. */
export async function eventuallyValue<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  giveUpMs = GIVE_UP_MS,
): Promise<T> {
  const giveUpAt = Date.now() + giveUpMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) assert.fail(`gave up waiting for ${what}`);
    await delay(10);
  }
}
