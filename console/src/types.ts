// What the admin API answers, as far as the console reads it. Shapes the platform defines in
// files free of Node are imported from them, so a change there is a type error here.
import type { HealthSummary } from "../../src/observe/function-stats.js";

export type { FunctionStats as Stats } from "../../src/observe/function-stats.js";
export type {
  CapturedPayload as Payload,
  InvocationRecordEntry as InvocationRecord,
} from "../../src/ports/records.js";
export interface FunctionSummary {
  project: string;
  name: string;
  live: number;
  latest: number;
  createdAt: string;
  updatedAt: string;
  url: string;
}

export interface FunctionHealth extends HealthSummary {
  project: string;
  name: string;
  live: number;
  updatedAt: string;
  runtime?: string;
  complete: boolean;
}

export interface FunctionConfig {
  main: string;
  runtime: string;
  env: Record<string, string>;
  memoryMiB: number;
  timeoutMs: number;
  concurrency: number;
  egress: string[];
  subjects: string[];
  schedule?: { cron: string; timezone: string } | undefined;
  delivery: { attempts: number; deadLetter: boolean; concurrency: number };
  records?: { keep: number; maxAgeMs: number; payloads: boolean };
}

export interface FunctionDetail extends FunctionSummary {
  config: FunctionConfig;
  instances: number;
  inflight: number;
  queue?: { pending: number; deadLetters: number };
}

export interface Version {
  version: number;
  createdAt: string;
  size: number;
  hash: string;
  live: boolean;
}

export interface RouteView {
  project: string;
  method: string;
  host: string;
  path: string;
  function: string;
  auth: string;
}

export interface LogLine {
  ts: number;
  project: string;
  function: string;
  version: number;
  requestId: string;
  level: string;
  message: string;
}

export interface InvokeResult {
  requestId: string;
  version: number;
  durationMs: number;
  status: number;
  headers: Record<string, string>;
  body: string;
  encoding?: string;
  truncated?: boolean;
}

export type { DeadLetterView as DeadLetter } from "../../src/control/dead-letter-view.js";
