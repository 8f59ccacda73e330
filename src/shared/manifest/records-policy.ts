// How a function's invocation records are kept: `records:` in litefaas.yaml, with the defaults
// in one place (versions deployed before records existed carry none and get these).
import { parseDuration } from "../duration.js";
import type { ManifestProblem, RecordPolicy } from "./types.js";

export const RECORD_DEFAULTS: RecordPolicy = {
  keep: 1000,
  maxAgeMs: 7 * 86_400_000,
  payloads: false,
  maxPayloadBytes: 64 * 1024,
};
const MAX_AGE_MS = 90 * 86_400_000;

export interface RawRecords {
  keep?: number;
  maxAge?: string;
  payloads?: boolean;
  maxPayload?: number;
}

/** The function's policy, or the defaults for a version deployed without one. */
export function recordPolicy(config: { records?: RecordPolicy | undefined }): RecordPolicy {
  return config.records ?? RECORD_DEFAULTS;
}

export function recordPolicyOf(
  raw: RawRecords | undefined,
  file: string,
  base: string,
  problems: ManifestProblem[],
): RecordPolicy {
  const maxAgeMs =
    raw?.maxAge === undefined
      ? RECORD_DEFAULTS.maxAgeMs
      : (parseDuration(raw.maxAge) ?? RECORD_DEFAULTS.maxAgeMs);
  if (maxAgeMs < 60_000 || maxAgeMs > MAX_AGE_MS) {
    problems.push({
      file,
      path: `${base}.records.maxAge`,
      problem: `maxAge ${raw?.maxAge} is outside 1m..90d`,
      fix: "use a duration between 1m and 90d, e.g. 7d",
    });
  }
  return {
    keep: raw?.keep ?? RECORD_DEFAULTS.keep,
    maxAgeMs,
    payloads: raw?.payloads ?? RECORD_DEFAULTS.payloads,
    maxPayloadBytes: raw?.maxPayload ?? RECORD_DEFAULTS.maxPayloadBytes,
  };
}
