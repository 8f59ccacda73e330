// Durations in the manifest and on the command line: "250ms", "1s", "1.5s", "2m", "1h", "7d".

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export const DURATION_PATTERN = "^\\d+(\\.\\d+)?(ms|s|m|h|d)$";

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = PATTERN.exec(text.trim());
  if (match === null) return undefined;
  const [, amount, unit] = match;
  if (amount === undefined || unit === undefined) return undefined;
  const factor = UNITS[unit];
  return factor === undefined ? undefined : Math.round(Number(amount) * factor);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${ms / 1000}s`;
  return `${ms / 60_000}m`;
}
