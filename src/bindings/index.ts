// The host halves of what a function sees, assembled per function version.
import type { LogSink } from "../observe/logs.js";
import type { InstanceServices } from "../runtimes/isolate/isolate-instance.js";
import type { FunctionVersion } from "../runtimes/types.js";
import { createSubtleHost } from "./crypto/subtle-host.js";
import { DENY_ALL, createFetchHost, parseEgressList, type FetchHost } from "./fetch/index.js";

export interface PlatformServices {
  logs: LogSink;
  /** Where the platform itself listens: outbound fetch may never reach it unless named. */
  platformAddresses: Array<{ host: string; port: number }>;
}

// One fetch host per function version: it owns a connection pool that its instances share.
const fetchHosts = new Map<string, FetchHost>();

export function functionServices(
  fn: FunctionVersion,
  platform: PlatformServices,
): InstanceServices {
  const key = `${fn.project}/${fn.name}@${fn.version}/${fn.artifact}`;
  let fetch = fetchHosts.get(key);
  if (fetch === undefined) {
    // the manifest was validated at deploy, so a parse failure here can only mean "deny"
    const parsed = parseEgressList(fn.config.egress);
    fetch = createFetchHost({
      policy: parsed.ok ? parsed.policy : DENY_ALL,
      platformAddresses: platform.platformAddresses,
    });
    fetchHosts.set(key, fetch);
  }
  return { logs: platform.logs, fetch, createSubtle: createSubtleHost };
}
