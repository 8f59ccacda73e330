// The delay before the next try. No jitter: the policy a user wrote is the one observed, and
// deliveries are already spread by their own failure times.
import type { DeliveryPolicy } from "../shared/manifest/types.js";

/** Delay after failed attempt `attempt` (1-based). */
export function retryDelay(policy: DeliveryPolicy, attempt: number): number {
  if (policy.backoff === "fixed") return policy.initialDelayMs;
  const factor = 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * factor);
}
