/**
 * The ping loop: pings every connected peer of our network on an interval and keeps its health
 * record. Records of peers silent for an hour are pruned.
 */
import type { PeerId } from '@libp2p/interface'
import type { Logger } from '../logger.ts'
import type { P2PLibp2p } from './libp2p.ts'
import { isHealthy, newHealthRecord, recordFailure, recordSeen, recordSuccess, shouldPrune, type PeerHealthRecord } from './peer-health.ts'

export interface HealthMonitorInit {
  intervalMs: number
  timeoutMs: number
  isMember: (peer: PeerId) => boolean
  onRtt?: (rttMs: number) => void
}

export interface HealthMonitorComponents {
  libp2p: P2PLibp2p
  logger: Logger
}

export class HealthMonitor {
  private readonly records = new Map<string, PeerHealthRecord>()
  private timer?: NodeJS.Timeout
  private readonly abort = new AbortController()
  private running = false

  constructor (private readonly components: HealthMonitorComponents, private readonly init: HealthMonitorInit) {}

  start (): void {
    this.components.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => { void this.round() }, this.init.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.abort.abort()
    this.components.libp2p.removeEventListener('peer:identify', this.onIdentify)
  }

  get (peer: string): PeerHealthRecord | undefined { return this.records.get(peer) }

  all (): ReadonlyMap<string, PeerHealthRecord> { return this.records }

  healthy (peer: string, now = Date.now()): boolean {
    const r = this.records.get(peer)
    return r != null && isHealthy(r, now)
  }

  /** Any message from a peer shows it is alive. */
  seen (peer: string): void {
    const r = this.records.get(peer)
    if (r != null) recordSeen(r, Date.now())
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId }>): void => {
    const id = evt.detail.peerId
    if (!this.init.isMember(id)) return
    const key = id.toString()
    const r = this.records.get(key) ?? newHealthRecord(Date.now())
    recordSeen(r, Date.now())
    this.records.set(key, r)
    void this.pingOne(id)
  }

  /** One round: ping every connected member peer concurrently; prune the long-silent. */
  async round (): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      const { libp2p } = this.components
      const peers = libp2p.getPeers().filter(p => this.init.isMember(p))
      await Promise.all(peers.map(async p => this.pingOne(p)))
      const now = Date.now()
      for (const [id, r] of this.records) {
        if (shouldPrune(r, now) && libp2p.getConnections().every(c => c.remotePeer.toString() !== id)) this.records.delete(id)
      }
    } finally {
      this.running = false
    }
  }

  private async pingOne (peer: PeerId): Promise<void> {
    const key = peer.toString()
    const record = this.records.get(key) ?? newHealthRecord(Date.now())
    this.records.set(key, record)
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.init.timeoutMs)])
      const rtt = await this.components.libp2p.services.ping.ping(peer, { signal })
      recordSuccess(record, rtt, Date.now())
      this.init.onRtt?.(rtt)
    } catch (err) {
      if (this.abort.signal.aborted) return
      recordFailure(record)
      this.components.logger.debug('ping failed', { peer: key, error: err })
    }
  }
}
