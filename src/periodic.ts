/**
 * Periodic work spread over its period. Nodes started together (a Deployment rolled out, the
 * bench's 50 workers) would otherwise do their periodic gossip in step for ever: every heartbeat
 * period all of them at once, each message received and forwarded about D times by every node,
 * which kept 50 workers on 2 cores busy for seconds every 30 s and starved whatever else ran then
 * (docs/benchmarks.md, sixth session). Two tools: a timer whose first tick falls at a random point of
 * its first period (`every`), and periods shortened at random (`jitteredMs`), so nodes that a common
 * event (a burst ending) brought into step drift apart again.
 */

/** The share of a period by which `jitteredMs` may shorten it. */
export const PERIOD_JITTER = 0.2

/**
 * `periodMs` shortened by up to PERIOD_JITTER of it, `u` uniform in [0, 1). Never longer than the
 * period, so whatever is bounded by it (table expiry: three keepalives) holds as before.
 */
export function jitteredMs (periodMs: number, u: number): number {
  return periodMs * (1 - PERIOD_JITTER * Math.min(Math.max(u, 0), 1))
}

export interface Periodic {
  stop: () => void
}

/**
 * Runs `fn` every `ms`, the first time `random() * ms` after the call (random: uniform in [0, 1)).
 * The timers do not keep the process alive.
 */
export function every (ms: number, fn: () => void, random: () => number = Math.random): Periodic {
  let interval: NodeJS.Timeout | undefined
  const first = setTimeout(() => {
    interval = setInterval(fn, ms)
    interval.unref()
    fn()
  }, Math.floor(random() * ms))
  first.unref()
  return {
    stop: () => {
      clearTimeout(first)
      clearInterval(interval)
    }
  }
}
