/**
 * Retry, lease and reputation policy. Pure.
 */

/** Back-off before re-offering attempt `attempt + 1`: 100 ms doubling to 5 s, with +-20% jitter. */
export function retryBackoffMs (attempt: number, random = Math.random): number {
  const base = Math.min(100 * 2 ** Math.max(0, attempt - 1), 5_000)
  return Math.round(base * (0.8 + 0.4 * random()))
}

/** A lease is renewed every `intervalMs`; three missed renewals end the attempt. */
export const LEASE_MISSES = 3

export function leaseTimeoutMs (intervalMs: number): number {
  return intervalMs * LEASE_MISSES + 500
}

/** Reputation from outcomes: success rate with a uniform prior, so one result does not decide it. */
export function reputation (completed: number, failed: number): number {
  return (completed + 1) / (completed + failed + 2)
}

/** Credits for a completed task: seconds of execution times the type's weight, at least 1 ms worth. */
export function credits (durationMs: number, weight: number): number {
  return Math.round(weight * Math.max(durationMs, 1)) / 1000
}

/** Jitter before a worker claims a broadcast task: idle workers answer first, busy ones later. */
export function claimDelayMs (running: number, slots: number, random = Math.random): number {
  const busy = slots <= 0 ? 1 : running / slots
  return Math.round(random() * 20 + busy * 80)
}
