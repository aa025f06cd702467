/**
 * What a node does about a hostile peer (issue 6): the gossip layer (graylisted by GossipSub
 * scoring) and the task stream reader (too many invalid or over-limit frames) report misbehaviour
 * here; the guard hangs up on the peer and refuses its connections for a while. Bans are in
 * memory and bounded: a restart forgets them, and GossipSub's retained score is the second line.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics/index.ts'

export type MisbehaviourKind = 'gossip_graylisted' | 'gossip_invalid' | 'stream_abuse'

export interface PeerGuardInit {
  /** how long a misbehaving peer is refused (default 10 minutes) */
  banMs?: number
  /** peers banned at once at most (default 10 000; the oldest ban is lifted first) */
  maxBans?: number
  /** peers that may connect at all (security.allow_peers); empty: everyone */
  allowPeers?: readonly string[]
}

export interface PeerGuardComponents {
  logger: Logger
  /** closes every connection to the peer */
  hangUp: (peer: string) => Promise<void>
  onBan?: (peer: string, kind: MisbehaviourKind) => void
  metrics?: Pick<Metrics, 'peersBanned' | 'connectionsRefused'>
}

export const DEFAULT_BAN_MS = 10 * 60_000

export class PeerGuard {
  private readonly bans = new Map<string, { until: number, kind: MisbehaviourKind }>()
  private readonly allow: ReadonlySet<string>
  private readonly banMs: number
  private readonly maxBans: number
  /** bans made, by kind */
  readonly counts: Record<MisbehaviourKind, number> = { gossip_graylisted: 0, gossip_invalid: 0, stream_abuse: 0 }

  constructor (private readonly components: PeerGuardComponents, init: PeerGuardInit = {}) {
    this.allow = new Set(init.allowPeers ?? [])
    this.banMs = init.banMs ?? DEFAULT_BAN_MS
    this.maxBans = init.maxBans ?? 10_000
  }

  isBanned (peer: string, now = Date.now()): boolean {
    const b = this.bans.get(peer)
    if (b == null) return false
    if (b.until > now) return true
    this.bans.delete(peer)
    return false
  }

  /** Misbehaviour seen: ban the peer and hang up on it (once per ban). */
  misbehaved (peer: string, kind: MisbehaviourKind, detail?: Record<string, unknown>): void {
    if (this.isBanned(peer)) return
    if (this.bans.size >= this.maxBans) {
      const oldest = this.bans.keys().next().value
      if (oldest != null) this.bans.delete(oldest)
    }
    this.bans.set(peer, { until: Date.now() + this.banMs, kind })
    this.counts[kind]++
    this.components.metrics?.peersBanned.inc({ reason: kind })
    this.components.logger.warn('peer misbehaved: disconnecting and refusing it for a while', { peer, kind, ban_ms: this.banMs, ...detail })
    this.components.onBan?.(peer, kind)
    this.components.hangUp(peer).catch(() => {})
  }

  /** allow_peers (when set) and bans, as a libp2p connection gater. */
  gater (): ConnectionGater {
    const denied = (p: PeerId): boolean => {
      const id = p.toString()
      if (this.allow.size > 0 && !this.allow.has(id)) {
        this.components.metrics?.connectionsRefused.inc({ reason: 'not_allowed' })
        return true
      }
      if (this.isBanned(id)) {
        this.components.metrics?.connectionsRefused.inc({ reason: 'banned' })
        return true
      }
      return false
    }
    return {
      denyDialPeer: denied,
      denyInboundEncryptedConnection: denied,
      denyOutboundEncryptedConnection: denied
    }
  }
}
