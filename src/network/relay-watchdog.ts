/**
 * Relay re-reservation guard (issue 6; js-libp2p issue #3601).
 *
 * A worker listening on `/p2p-circuit` asks @libp2p/circuit-relay-v2 to hold a reservation on some
 * relay. When the relay restarts, the transport drops the reservation and starts relay discovery,
 * but it only reserves again when something opens a *new* connection to a relay and identify
 * reports the hop protocol: its first redial usually fails (the relay is still down), a dial
 * failure named `DialError` puts the relay on a filter it is rarely taken off, and #3601 describes
 * the configured-relay variant that never re-reserves at all. Whether a NATed worker becomes
 * reachable again was therefore left to incidental reconnects (peer exchange, a DHT walk).
 *
 * The watchdog makes it bounded: when a worker has had no circuit address for `graceMs` while it
 * knows a relay, it escalates one step per grace period, using public libp2p APIs only:
 *   1. `redial`: the relay is not connected directly: dial it (identify then makes the transport
 *      reserve, as on first contact);
 *   2. `reidentify`: the relay is connected but no reservation came: withdraw the hop protocol from
 *      the peer store and run identify again, which re-announces the relay to the transport's
 *      topology (its filter is keyed on "already notified");
 *   3. `reconnect`: still nothing: hang up on the relay and dial it again (this also drops relayed
 *      connections through it, which is why it is the last step).
 * After the last step it starts over with the wait doubled, up to MAX_BACKOFF_MS.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../logger.ts'
import type { P2PLibp2p } from './libp2p.ts'

/**
 * The circuit relay v2 hop protocol (the value @libp2p/circuit-relay-v2 exports): spelled out so
 * that a node with the relay transport off never loads that package at start-up.
 */
export const RELAY_V2_HOP_CODEC = '/libp2p/circuit/relay/0.2.0/hop'

export type RelayRepair = 'redial' | 'reidentify' | 'reconnect'

export interface RelayWatchdogInit {
  /** how long without a circuit address, while a relay is known, before a repair step (default 10 s) */
  graceMs?: number
  /** how often to look (default 1 s) */
  checkIntervalMs?: number
  /** dial timeout for a repair (default 10 s) */
  dialTimeoutMs?: number
  /** relays known from elsewhere (the capability table): peer ID and addresses */
  knownRelays?: () => Array<{ peerId: string, addrs: readonly string[] }>
}

export interface RelayWatchdogComponents {
  libp2p: P2PLibp2p
  logger: Logger
}

export interface RelayWatchdogStats {
  /** times a held reservation was lost */
  lost: number
  /** times one was regained after a loss */
  regained: number
  /** repair steps taken, by kind */
  repairs: Record<RelayRepair, number>
  /** milliseconds from the last loss to the reservation coming back */
  lastRecoveryMs?: number
  /** since when this node has had no circuit address (undefined: it has one) */
  missingSince?: number
}

const DEFAULT_GRACE_MS = 10_000
const MAX_BACKOFF_MS = 60_000
const STEPS: RelayRepair[] = ['redial', 'reidentify', 'reconnect']

export function hasCircuitAddress (libp2p: P2PLibp2p): boolean {
  return libp2p.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))
}

export class RelayWatchdog {
  private timer?: NodeJS.Timeout
  private readonly abort = new AbortController()
  private readonly graceMs: number
  private hadReservation = false
  private missingSince?: number
  private nextActionAt = 0
  private step = 0
  private backoffMs: number
  private acting = false
  private readonly counters: RelayWatchdogStats = { lost: 0, regained: 0, repairs: { redial: 0, reidentify: 0, reconnect: 0 } }

  constructor (private readonly components: RelayWatchdogComponents, private readonly init: RelayWatchdogInit = {}) {
    this.graceMs = init.graceMs ?? DEFAULT_GRACE_MS
    this.backoffMs = this.graceMs
  }

  start (): void {
    this.missingSince = Date.now()
    this.timer = setInterval(() => { this.check() }, this.init.checkIntervalMs ?? 1000)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.abort.abort()
  }

  stats (): RelayWatchdogStats {
    return { ...this.counters, repairs: { ...this.counters.repairs }, missingSince: this.missingSince }
  }

  /** One look: note a loss or a recovery; act when the grace period has passed. Never throws. */
  check (): void {
    const { libp2p } = this.components
    const now = Date.now()
    if (hasCircuitAddress(libp2p)) {
      if (this.missingSince != null && this.hadReservation) {
        this.counters.regained++
        this.counters.lastRecoveryMs = now - this.missingSince
        this.components.logger.info('relay reservation regained', { after_ms: this.counters.lastRecoveryMs, repairs: this.counters.repairs })
      }
      this.hadReservation = true
      this.missingSince = undefined
      this.step = 0
      this.backoffMs = this.graceMs
      this.nextActionAt = 0
      return
    }
    if (this.missingSince == null) {
      this.missingSince = now
      if (this.hadReservation) {
        this.counters.lost++
        this.components.logger.warn('relay reservation lost; waiting for libp2p to re-reserve', { grace_ms: this.graceMs })
      }
    }
    if (this.nextActionAt === 0) this.nextActionAt = this.missingSince + this.graceMs
    if (now < this.nextActionAt || this.acting) return
    this.acting = true
    this.repair()
      .catch((err: unknown) => { this.components.logger.debug('relay repair failed', { error: err }) })
      .finally(() => {
        this.acting = false
        this.nextActionAt = Date.now() + this.backoffMs
      })
  }

  private async repair (): Promise<void> {
    const relays = await this.relays()
    if (relays.length === 0) return // nothing to reserve on; discovery will find one
    const step = STEPS[this.step] ?? 'redial'
    this.step = (this.step + 1) % STEPS.length
    if (this.step === 0) this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS)
    const { libp2p, logger } = this.components
    for (const relay of relays) {
      if (this.abort.signal.aborted || hasCircuitAddress(libp2p)) return
      const direct = libp2p.getConnections(relay.id).find(c => c.limits == null && !c.remoteAddr.toString().includes('/p2p-circuit'))
      const action: RelayRepair = direct == null ? 'redial' : step
      this.counters.repairs[action]++
      logger.info('relay reservation missing: repairing', { relay: relay.id.toString(), action, missing_ms: Date.now() - (this.missingSince ?? Date.now()) })
      try {
        if (action === 'reidentify' && direct != null) {
          const peer = await libp2p.peerStore.get(relay.id)
          await libp2p.peerStore.patch(relay.id, { protocols: peer.protocols.filter(p => p !== RELAY_V2_HOP_CODEC) })
          await libp2p.services.identify.identify(direct, { signal: this.signal() })
        } else {
          if (action === 'reconnect') await libp2p.hangUp(relay.id, { signal: this.signal() })
          if (relay.addrs.length > 0) await libp2p.peerStore.merge(relay.id, { multiaddrs: relay.addrs })
          await libp2p.dial(relay.id, { signal: this.signal() })
        }
        // one relay at a time: the transport wants one reservation, give it a moment to make it
        return
      } catch (err) {
        logger.debug('relay repair step failed', { relay: relay.id.toString(), action, error: err })
      }
    }
  }

  /** Relays we could reserve on: peers that speak the hop protocol, and relays the table knows. */
  private async relays (): Promise<Array<{ id: PeerId, addrs: Multiaddr[] }>> {
    const { libp2p } = this.components
    const out = new Map<string, { id: PeerId, addrs: Multiaddr[] }>()
    const peers = await libp2p.peerStore.all({ filters: [p => p.protocols.includes(RELAY_V2_HOP_CODEC)] })
    for (const p of peers) out.set(p.id.toString(), { id: p.id, addrs: [] })
    for (const r of this.init.knownRelays?.() ?? []) {
      try {
        const id = peerIdFromString(r.peerId)
        if (id.equals(libp2p.peerId)) continue
        const addrs: Multiaddr[] = []
        for (const a of r.addrs) {
          // a relay's own circuit addresses are no way to reach the relay
          if (a.includes('/p2p-circuit')) continue
          try { addrs.push(multiaddr(a)) } catch { /* skip unparsable */ }
        }
        out.set(r.peerId, { id, addrs })
      } catch { /* not a peer ID */ }
    }
    // connected relays first: the cheapest repair
    return [...out.values()].sort((a, b) => Number(libp2p.getConnections(b.id).length > 0) - Number(libp2p.getConnections(a.id).length > 0))
  }

  private signal (): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.init.dialTimeoutMs ?? 10_000)])
  }
}
