/**
 * Per-peer health: ping RTT, success and failure counts, last seen. The criteria are pure functions
 * so they can be unit-tested; the ping loop that feeds them lives in `health-monitor.ts`.
 */
export const HEALTHY_WINDOW_MS = 5 * 60_000
export const PRUNE_AFTER_MS = 60 * 60_000
export const MIN_ATTEMPTS_FOR_RATE = 5
/** the success rate is taken over this many most recent pings (pings are rare: only silent peers get them) */
export const RATE_WINDOW = 16
/** pings in a row that went unanswered (with nothing else heard meanwhile): the peer is down */
export const MAX_CONSECUTIVE_FAILURES = 3

export interface PeerHealthRecord {
  rttMs?: number
  successes: number
  failures: number
  /** outcomes of the last `recentCount` (at most RATE_WINDOW) pings, newest in bit 0, 1 = answered */
  recent: number
  recentCount: number
  /** failed pings since the peer was last heard from */
  consecutiveFailures: number
  /** last time the peer answered anything (ping, a message) */
  lastSeen?: number
  /** last time we pinged it (any outcome) */
  lastPing?: number
  /** last time an RTT sample was folded in (a ping, or the connection monitor's measurement) */
  lastRtt?: number
  firstSeen: number
}

export function newHealthRecord (now: number): PeerHealthRecord {
  return { successes: 0, failures: 0, recent: 0, recentCount: 0, consecutiveFailures: 0, firstSeen: now }
}

/**
 * Healthy: answered within the last 5 minutes, not MAX_CONSECUTIVE_FAILURES pings in a row
 * unanswered since, and either a success rate above 50% over the last RATE_WINDOW pings or fewer
 * than 5 of them so far (a new peer is not judged on one lost ping).
 */
export function isHealthy (r: PeerHealthRecord, now: number): boolean {
  if (r.lastSeen == null || now - r.lastSeen > HEALTHY_WINDOW_MS) return false
  if (r.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) return false
  if (r.recentCount < MIN_ATTEMPTS_FOR_RATE) return true
  return popcount(r.recent) / r.recentCount > 0.5
}

function popcount (bits: number): number {
  let n = 0
  for (let b = bits; b !== 0; b &= b - 1) n++
  return n
}

function pushOutcome (r: PeerHealthRecord, ok: boolean): void {
  r.recent = ((r.recent << 1) | (ok ? 1 : 0)) & ((1 << RATE_WINDOW) - 1)
  r.recentCount = Math.min(RATE_WINDOW, r.recentCount + 1)
}

/** Dead: silent for an hour (or never answered within an hour of first being seen). */
export function shouldPrune (r: PeerHealthRecord, now: number): boolean {
  return now - (r.lastSeen ?? r.firstSeen) > PRUNE_AFTER_MS
}

/**
 * Is a ping due? Only for a peer we have heard nothing from for `intervalMs` (any message proves
 * it alive, so a busy peer costs no pings), and not more than once per `intervalMs`; a peer whose
 * last ping failed is retried after `retryMs`, so a dead peer is noticed within a few retries.
 */
export function pingDue (r: PeerHealthRecord, now: number, intervalMs: number, retryMs: number): boolean {
  if (r.lastPing == null) return r.lastSeen == null || now - r.lastSeen >= intervalMs
  if (r.consecutiveFailures > 0) return now - r.lastPing >= retryMs
  return now - Math.max(r.lastSeen ?? 0, r.lastPing) >= intervalMs
}

/** RTT smoothed like TCP's SRTT (alpha 1/4 so one slow ping does not dominate). */
export function recordRtt (r: PeerHealthRecord, rttMs: number, now: number): void {
  r.rttMs = r.rttMs == null ? rttMs : Math.round((r.rttMs * 0.75 + rttMs * 0.25) * 100) / 100
  r.lastRtt = now
}

export function recordSuccess (r: PeerHealthRecord, rttMs: number, now: number): void {
  r.successes++
  pushOutcome(r, true)
  r.consecutiveFailures = 0
  r.lastSeen = now
  r.lastPing = now
  recordRtt(r, rttMs, now)
}

export function recordFailure (r: PeerHealthRecord, now?: number): void {
  r.failures++
  pushOutcome(r, false)
  r.consecutiveFailures++
  if (now != null) r.lastPing = now
}

/** Any inbound message proves the peer is alive without counting as a ping attempt. */
export function recordSeen (r: PeerHealthRecord, now: number): void {
  r.lastSeen = now
  r.consecutiveFailures = 0
}
