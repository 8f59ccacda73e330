// The fetch binding's host half: egress policy parsing and HostHooks.fetch.
export {
  DENY_ALL,
  checkEgress,
  parseEgressList,
  type EgressDecision,
  type EgressEntryError,
  type EgressHostPattern,
  type EgressParseResult,
  type EgressPolicy,
  type EgressRefusalReason,
  type EgressRule,
} from "./egress-policy.js";
export { EgressRefusedError, FetchError, type FetchErrorCode } from "./errors.js";
export { createFetchHost, type FetchHost, type FetchHostOptions } from "./fetch-host.js";
export { systemResolver, type ResolvedAddress, type Resolver } from "./guarded-connector.js";
export { nonPublicRange } from "./ip-address.js";
export type { PlatformAddress } from "./platform-addresses.js";
