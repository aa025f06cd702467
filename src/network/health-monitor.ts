/**
 * The ping loop: keeps a health record per connected peer of our network, pinging only peers we
 * have not heard from lately. Any message from a peer (gossip, a task frame: `seen()`) proves it is
 * alive, so a peer that talks anyway costs no pings; a silent one is pinged every `pingIntervalMs`,
 * and after a failed ping retried every `retryMs` until it answers or counts as down
 * (`MAX_CONSECUTIVE_FAILURES`). Pinging every peer every heartbeat made the network's ping traffic
 * grow with N² (2,450 pings/s at 50 nodes with 1 s heartbeats).
 *
 * RTT: measured by our pings, and for peers that are never silent long enough to be pinged, taken
 * from libp2p's connection monitor (which pings every connection every 10 s anyway and keeps the
 * result in `connection.rtt`). Records of peers silent for an hour are pruned.
 */
import type { PeerId } from '@libp2p/interface'
import type { Logger } from '../logger.ts'
import type { P2PLibp2p } from './libp2p.ts'
import { isHealthy, newHealthRecord, pingDue, recordFailure, recordRtt, recordSeen, recordSuccess, shouldPrune, type PeerHealthRecord } from './peer-health.ts'

/** a silent peer is pinged this often (DESIGN.md: health by ping RTT and last seen) */
export const DEFAULT_PING_INTERVAL_MS = 15_000
/** at most this many pings in flight per round, so a round never bursts N streams at once */
const MAX_PINGS_PER_ROUND = 16

export interface HealthMonitorInit {
  /** ping a peer silent for this long (default DEFAULT_PING_INTERVAL_MS) */
  pingIntervalMs?: number
  /** after a failed ping, ping again this soon (default pingIntervalMs / 3) */
  retryMs?: number
  /** how often to look for peers due a ping (default min(pingIntervalMs, retryMs) / 2, at least 250 ms) */
  tickMs?: number
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
  private readonly inFlight = new Set<string>()
  private timer?: NodeJS.Timeout
  private readonly abort = new AbortController()
  private readonly pingIntervalMs: number
  private readonly retryMs: number
  private readonly tickMs: number
  /** pings sent, for tests and diagnostics */
  pings = 0

  constructor (private readonly components: HealthMonitorComponents, private readonly init: HealthMonitorInit) {
    this.pingIntervalMs = init.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS
    this.retryMs = init.retryMs ?? Math.max(250, Math.round(this.pingIntervalMs / 3))
    this.tickMs = init.tickMs ?? Math.max(250, Math.round(Math.min(this.pingIntervalMs, this.retryMs) / 2))
  }

  start (): void {
    this.components.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => { this.round() }, this.tickMs)
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

  /** Any message from a peer shows it is alive (and postpones its next ping). */
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
    // a first RTT at once: placement ranks workers by it
    if (r.lastPing == null) this.pingOne(id, r)
  }

  /**
   * One round: ping the connected member peers that are due (silent for the ping interval, or a
   * failed ping to retry), take RTTs from the connection monitor for the others, prune the
   * long-silent. Pings run in the background; a peer is never pinged twice at once.
   */
  round (now = Date.now()): void {
    const { libp2p } = this.components
    let started = 0
    for (const conn of libp2p.getConnections()) {
      const peer = conn.remotePeer
      const key = peer.toString()
      if (this.inFlight.has(key) || !this.init.isMember(peer)) continue
      let r = this.records.get(key)
      if (r == null) {
        r = newHealthRecord(now)
        this.records.set(key, r)
      }
      if (pingDue(r, now, this.pingIntervalMs, this.retryMs)) {
        if (started < MAX_PINGS_PER_ROUND) {
          started++
          this.pingOne(peer, r)
        }
      } else if (conn.rtt != null && now - (r.lastRtt ?? 0) >= this.pingIntervalMs) {
        recordRtt(r, conn.rtt, now)
      }
    }
    for (const [id, r] of this.records) {
      if (shouldPrune(r, now) && libp2p.getConnections().every(c => c.remotePeer.toString() !== id)) this.records.delete(id)
    }
  }

  private pingOne (peer: PeerId, record: PeerHealthRecord): void {
    const key = peer.toString()
    if (this.inFlight.has(key)) return
    this.inFlight.add(key)
    this.pings++
    record.lastPing = Date.now()
    void this.ping(peer, key, record).finally(() => { this.inFlight.delete(key) })
  }

  private async ping (peer: PeerId, key: string, record: PeerHealthRecord): Promise<void> {
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.init.timeoutMs)])
      const rtt = await this.components.libp2p.services.ping.ping(peer, { signal })
      recordSuccess(record, rtt, Date.now())
      this.init.onRtt?.(rtt)
    } catch (err) {
      if (this.abort.signal.aborted) return
      recordFailure(record, Date.now())
      this.components.logger.debug('ping failed', { peer: key, consecutive: record.consecutiveFailures, error: err })
    }
  }
}
