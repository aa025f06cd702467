/**
 * Per-peer rate limits (issue 6: hostile peers). Pure: token buckets keyed by peer, bounded in how
 * many peers they remember. The gossip validators and the task stream reader decide what a limit
 * means (drop, ignore, reject, hang up); this file only counts.
 */

export interface RateLimit {
  /** sustained rate, per second */
  perSecond: number
  /** what may arrive at once after a quiet period */
  burst: number
}

/** A token bucket: `take(n)` succeeds while the bucket holds n tokens; it refills at perSecond. */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor (private readonly limit: RateLimit, now = Date.now()) {
    this.tokens = limit.burst
    this.last = now
  }

  take (n = 1, now = Date.now()): boolean {
    const elapsed = Math.max(0, now - this.last) / 1000
    this.last = now
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsed * this.limit.perSecond)
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}

/** Peers remembered at most; the least recently seen is forgotten first (its bucket starts full again). */
const MAX_PEERS = 10_000

/**
 * A message-count and a byte bucket per peer (and per key within a peer, e.g. a topic). `allow`
 * answers whether one message of `bytes` fits both; a message that does not fit takes nothing.
 */
export class PeerRateLimiter {
  private readonly buckets = new Map<string, { messages: TokenBucket, bytes: TokenBucket }>()
  /** messages over the limit, for metrics and tests */
  dropped = 0

  constructor (private readonly limits: { messages: RateLimit, bytes: RateLimit }, private readonly maxPeers = MAX_PEERS) {}

  allow (peer: string, bytes: number, now = Date.now()): boolean {
    let b = this.buckets.get(peer)
    if (b == null) {
      if (this.buckets.size >= this.maxPeers) {
        const oldest = this.buckets.keys().next().value
        if (oldest != null) this.buckets.delete(oldest)
      }
      b = { messages: new TokenBucket(this.limits.messages, now), bytes: new TokenBucket(this.limits.bytes, now) }
    } else {
      // re-insert: Map order is the least-recently-used order for eviction
      this.buckets.delete(peer)
    }
    this.buckets.set(peer, b)
    // check bytes first without side effects on the message bucket when it fails
    if (bytes > this.limits.bytes.burst) { this.dropped++; return false }
    const okBytes = b.bytes.take(bytes, now)
    const okMessages = okBytes && b.messages.take(1, now)
    if (okBytes && !okMessages) b.bytes.take(-bytes, now) // give the bytes back
    if (!okMessages) this.dropped++
    return okMessages
  }

  forget (peer: string): void { this.buckets.delete(peer) }

  get size (): number { return this.buckets.size }
}
