/**
 * Per-peer health: ping RTT, success and failure counts, last seen. The criteria are pure functions
 * so they can be unit-tested; the ping loop that feeds them lives in `health-monitor.ts`.
 */
export const HEALTHY_WINDOW_MS = 5 * 60_000
export const PRUNE_AFTER_MS = 60 * 60_000
export const MIN_ATTEMPTS_FOR_RATE = 5

export interface PeerHealthRecord {
  rttMs?: number
  successes: number
  failures: number
  /** last time the peer answered anything (ping, a message) */
  lastSeen?: number
  firstSeen: number
}

export function newHealthRecord (now: number): PeerHealthRecord {
  return { successes: 0, failures: 0, firstSeen: now }
}

/**
 * Healthy: answered within the last 5 minutes, and either a success rate above 50% or fewer than 5
 * attempts so far (a new peer is not judged on one lost ping).
 */
export function isHealthy (r: PeerHealthRecord, now: number): boolean {
  if (r.lastSeen == null || now - r.lastSeen > HEALTHY_WINDOW_MS) return false
  const attempts = r.successes + r.failures
  if (attempts < MIN_ATTEMPTS_FOR_RATE) return true
  return r.successes / attempts > 0.5
}

/** Dead: silent for an hour (or never answered within an hour of first being seen). */
export function shouldPrune (r: PeerHealthRecord, now: number): boolean {
  return now - (r.lastSeen ?? r.firstSeen) > PRUNE_AFTER_MS
}

/** RTT smoothed like TCP's SRTT (alpha 1/4 so one slow ping does not dominate). */
export function recordSuccess (r: PeerHealthRecord, rttMs: number, now: number): void {
  r.successes++
  r.lastSeen = now
  r.rttMs = r.rttMs == null ? rttMs : Math.round((r.rttMs * 0.75 + rttMs * 0.25) * 100) / 100
}

export function recordFailure (r: PeerHealthRecord): void {
  r.failures++
}

/** Any inbound message proves the peer is alive without counting as a ping attempt. */
export function recordSeen (r: PeerHealthRecord, now: number): void {
  r.lastSeen = now
}
