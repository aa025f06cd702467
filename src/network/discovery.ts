/**
 * Finding and keeping peers: the bootstrap list, DNS discovery (a headless Service's records), known
 * peers persisted in data_dir, DHT random walks, peers learned from advertisements, and
 * re-bootstrapping with back-off when every peer is lost.
 *
 * Peer exchange keeps a node at `targetPeers` connections, not at every peer it hears of: a full
 * mesh is N² connections, each a Noise handshake, identify, a GossipSub subscription exchange and
 * periodic pings, which at 25-50 processes on 2 cores was CPU-bound before anything else ran.
 * Advertisements still reach every node (GossipSub forwards them over the mesh) and a submitter
 * dials a worker it has no connection to when it places a task, so a node needs only enough peers
 * for a healthy GossipSub mesh (D = 6) and to survive losing some of them (the bootstrap).
 * Peers heard of and not dialled stay candidates; a node whose connections drop under the target
 * dials some of them.
 */
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from '../logger.ts'
import type { P2PLibp2p } from './libp2p.ts'
import { parseBootstrapEntry, resolveBootstrapEntry, type BootstrapEntry } from './bootstrap-list.ts'

export interface DiscoveryInit {
  bootstrapPeers: string[]
  dnsDiscovery: string[]
  listenPort: number
  dataDir: string
  connectionTimeoutMs: number
  rebootstrapBackoffMs: number
  maxConnections: number
  /** peer exchange dials only while connected to fewer peers than this (network.target_peers) */
  targetPeers: number
  /** how often the connection count is checked against targetPeers (default 2 s) */
  maintainIntervalMs?: number
  /** is this peer part of our network (identified with our agent / protocols)? */
  isMember: (peer: PeerId) => boolean
  randomWalkIntervalMs?: number
  dnsIntervalMs?: number
  persistIntervalMs?: number
}

export interface DiscoveryComponents {
  libp2p: P2PLibp2p
  logger: Logger
}

interface KnownPeer { id: string, addrs: string[], lastSeen: number }
interface Candidate { addrs: string[], failedAt: number }

const MAX_KNOWN_PEERS = 1000
const MAX_BACKOFF_MS = 60_000
/** a candidate whose dial failed is not tried again for this long */
const CANDIDATE_RETRY_MS = 30_000

export class Discovery {
  private readonly entries: BootstrapEntry[]
  private readonly timers: NodeJS.Timeout[] = []
  private readonly abort = new AbortController()
  private known = new Map<string, KnownPeer>()
  private backoffMs: number
  private nextRebootstrap = 0
  private rebootstrapping = false
  private started = false
  /** peers heard of (advertisements, known peers) that may be dialled when under the target */
  private readonly candidates = new Map<string, Candidate>()
  /** peer-exchange dials in flight: counted against the target so a burst of advertisements does not overshoot it */
  private readonly dialling = new Set<string>()
  rebootstraps = 0
  /** peer-exchange dials started (learn and maintain), for tests and diagnostics */
  exchangeDials = 0

  constructor (private readonly components: DiscoveryComponents, private readonly init: DiscoveryInit) {
    // entries were validated with the config; parse again here to keep this component self-contained
    this.entries = init.bootstrapPeers.map(e => parseBootstrapEntry(e, init.listenPort))
    this.backoffMs = init.rebootstrapBackoffMs
  }

  private get file (): string { return join(this.init.dataDir, 'peers.json') }

  async start (): Promise<void> {
    this.started = true
    await this.loadKnownPeers()
    const { libp2p } = this.components
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    libp2p.addEventListener('peer:identify', this.onIdentify)
    // first contact: known peers and the bootstrap list at once; neither waits for the other
    this.background(this.dialKnownPeers())
    this.background(this.dialBootstrap())
    this.background(this.dnsDiscover())
    this.every(this.init.dnsIntervalMs ?? 30_000, () => this.dnsDiscover())
    this.every(this.init.randomWalkIntervalMs ?? 60_000, () => this.randomWalk())
    this.every(this.init.persistIntervalMs ?? 30_000, () => this.saveKnownPeers())
    this.every(Math.min(this.init.rebootstrapBackoffMs, 5_000), () => this.checkIsolated())
    this.every(this.init.maintainIntervalMs ?? 2_000, async () => { this.maintain() })
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.abort.abort()
    for (const t of this.timers) clearInterval(t)
    this.components.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.components.libp2p.removeEventListener('peer:identify', this.onIdentify)
    await this.saveKnownPeers().catch(() => {})
  }

  /**
   * A peer learned elsewhere (an advertisement): its addresses go into the peer store, it becomes a
   * candidate, and it is dialled while this node has fewer than targetPeers connections.
   */
  async learn (peerId: string, addrs: string[]): Promise<void> {
    const { libp2p } = this.components
    if (peerId === libp2p.peerId.toString() || addrs.length === 0) return
    const mas = parseAddrs(addrs)
    if (mas.length === 0) return
    // into the peer store whether dialled now or not: a submitter dials a worker by peer ID when it
    // places a task there, and libp2p finds its addresses here
    await libp2p.peerStore.merge(peerIdFromString(peerId), { multiaddrs: mas })
    const old = this.candidates.get(peerId)
    // new addresses (a relay reservation made again) are worth a try at once
    const sameAddrs = old != null && old.addrs.length === addrs.length && old.addrs.every((a, i) => a === addrs[i])
    this.candidates.set(peerId, { addrs, failedAt: sameAddrs ? old.failedAt : 0 })
    if (this.candidates.size > MAX_KNOWN_PEERS) this.candidates.delete(this.candidates.keys().next().value as string)
    if (this.room() <= 0) return
    await this.dialCandidate(peerId)
  }

  knownPeerCount (): number { return this.known.size }

  /** Connected peers plus peer-exchange dials in flight. */
  private degree (): number {
    return this.components.libp2p.getPeers().length + this.dialling.size
  }

  /** How many more peers peer exchange may dial now. */
  private room (): number {
    const { libp2p } = this.components
    const cap = Math.min(this.init.targetPeers, Math.floor(this.init.maxConnections * 0.8))
    if (libp2p.getConnections().length >= this.init.maxConnections * 0.8) return 0
    return cap - this.degree()
  }

  /** Under the target (peers left, or candidates skipped while a network formed): dial some candidates. */
  maintain (): void {
    let room = this.room()
    if (room <= 0 || this.candidates.size === 0) return
    const { libp2p } = this.components
    const now = Date.now()
    const eligible = [...this.candidates].filter(([id, c]) => now - c.failedAt >= CANDIDATE_RETRY_MS && !this.dialling.has(id) && !this.isConnected(id))
    // random picks, so nodes under the target do not all dial the same few peers
    for (let i = eligible.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      const t = eligible[i] as [string, Candidate]
      eligible[i] = eligible[j] as [string, Candidate]
      eligible[j] = t
    }
    for (const [id] of eligible) {
      if (room-- <= 0) break
      if (id === libp2p.peerId.toString()) continue
      this.background(this.dialCandidate(id))
    }
  }

  private isConnected (peerId: string): boolean {
    try {
      return this.components.libp2p.getConnections(peerIdFromString(peerId)).length > 0
    } catch {
      return false
    }
  }

  private async dialCandidate (peerId: string): Promise<void> {
    const c = this.candidates.get(peerId)
    if (c == null || this.dialling.has(peerId)) return
    let id: PeerId
    try { id = peerIdFromString(peerId) } catch { this.candidates.delete(peerId); return }
    const { libp2p } = this.components
    if (libp2p.getConnections(id).length > 0) return
    this.dialling.add(peerId)
    this.exchangeDials++
    try {
      await libp2p.peerStore.merge(id, { multiaddrs: parseAddrs(c.addrs) })
      const ok = await this.dial(id)
      if (!ok) c.failedAt = Date.now()
    } finally {
      this.dialling.delete(peerId)
    }
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, listenAddrs: Multiaddr[] }>): void => {
    const { peerId, listenAddrs } = evt.detail
    if (!this.init.isMember(peerId)) return
    const addrs = listenAddrs.map(a => a.toString()).filter(a => !a.includes('/p2p-circuit') || a.includes('/p2p/'))
    if (addrs.length === 0) return
    this.known.set(peerId.toString(), { id: peerId.toString(), addrs, lastSeen: Date.now() })
    if (this.known.size > MAX_KNOWN_PEERS) {
      const oldest = [...this.known.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0]
      if (oldest != null) this.known.delete(oldest.id)
    }
    this.backoffMs = this.init.rebootstrapBackoffMs
  }

  private readonly onDisconnect = (): void => {
    if (this.components.libp2p.getConnections().length === 0) {
      this.nextRebootstrap = Math.min(this.nextRebootstrap === 0 ? Infinity : this.nextRebootstrap, Date.now() + this.backoffMs)
    }
  }

  /** Lost every peer: re-dial the bootstrap list and known peers after a back-off that doubles. */
  private async checkIsolated (): Promise<void> {
    const { libp2p } = this.components
    if (libp2p.getConnections().length > 0) {
      this.nextRebootstrap = 0
      this.backoffMs = this.init.rebootstrapBackoffMs
      return
    }
    const now = Date.now()
    if (this.nextRebootstrap === 0) this.nextRebootstrap = now + this.backoffMs
    if (now < this.nextRebootstrap || this.rebootstrapping) return
    this.rebootstrapping = true
    this.rebootstraps++
    this.components.logger.warn('no peers left; re-bootstrapping', { backoff_ms: this.backoffMs })
    try {
      await Promise.all([this.dialBootstrap(), this.dialKnownPeers(), this.dnsDiscover()])
    } finally {
      this.rebootstrapping = false
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS)
      this.nextRebootstrap = Date.now() + this.backoffMs
    }
  }

  private async dialBootstrap (): Promise<void> {
    await Promise.all(this.entries.map(async entry => {
      let addrs: string[]
      try {
        addrs = await resolveBootstrapEntry(entry)
      } catch (err) {
        this.components.logger.warn('cannot resolve bootstrap peer', { entry: entry.text, error: err })
        return
      }
      await Promise.all(addrs.map(async a => this.dialAddr(a)))
    }))
  }

  private async dnsDiscover (): Promise<void> {
    await Promise.all(this.init.dnsDiscovery.map(async name => {
      let addrs: string[]
      try {
        addrs = await resolveBootstrapEntry(parseBootstrapEntry(name, this.init.listenPort))
      } catch (err) {
        this.components.logger.debug('DNS discovery lookup failed', { name, error: err })
        return
      }
      const own = new Set(this.components.libp2p.getMultiaddrs().map(a => a.decapsulateCode(421).toString()))
      await Promise.all(addrs.filter(a => !own.has(a)).map(async a => this.dialAddr(a)))
    }))
  }

  /**
   * Known peers (peers.json): the most recently seen up to targetPeers are dialled at once, the rest
   * become candidates for maintain().
   */
  private async dialKnownPeers (): Promise<void> {
    const { libp2p } = this.components
    const self = libp2p.peerId.toString()
    const known = [...this.known.values()].filter(k => k.id !== self).sort((a, b) => b.lastSeen - a.lastSeen)
    for (const k of known) {
      if (!this.candidates.has(k.id) && parseAddrs(k.addrs).length > 0) this.candidates.set(k.id, { addrs: k.addrs, failedAt: 0 })
    }
    const room = Math.max(0, this.init.targetPeers - libp2p.getPeers().length)
    await Promise.all(known.filter(k => !this.isConnected(k.id)).slice(0, room).map(async k => {
      try {
        await this.dialCandidate(k.id)
      } catch {
        // a bad entry in peers.json is skipped, not fatal
      }
    }))
  }

  /** Kademlia random walk: look up a random key; the query connects us to DHT servers near it. */
  private async randomWalk (): Promise<void> {
    const dht = this.components.libp2p.services.dht
    if (dht == null || this.components.libp2p.getConnections().length === 0) return
    const key = crypto.getRandomValues(new Uint8Array(32))
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.init.connectionTimeoutMs)])
    try {
      for await (const event of dht.getClosestPeers(key, { signal })) {
        if (event.name === 'FINAL_PEER' && this.components.libp2p.getConnections(event.peer.id).length === 0) {
          await this.components.libp2p.peerStore.merge(event.peer.id, { multiaddrs: event.peer.multiaddrs })
          await this.dial(event.peer.id)
        }
      }
    } catch {
      // a walk that finds nobody is normal in a small network
    }
  }

  private async dialAddr (addr: string): Promise<void> {
    try {
      await this.components.libp2p.dial(multiaddr(addr), { signal: this.dialSignal() })
    } catch (err) {
      this.components.logger.debug('dial failed', { addr, error: err })
    }
  }

  private async dial (id: PeerId): Promise<boolean> {
    try {
      await this.components.libp2p.dial(id, { signal: this.dialSignal() })
      return true
    } catch (err) {
      this.components.logger.debug('dial failed', { peer: id.toString(), error: err })
      return false
    }
  }

  private dialSignal (): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.init.connectionTimeoutMs)])
  }

  private async loadKnownPeers (): Promise<void> {
    try {
      const list = JSON.parse(await readFile(this.file, 'utf8')) as unknown
      if (!Array.isArray(list)) return
      for (const k of list as KnownPeer[]) {
        if (typeof k?.id === 'string' && Array.isArray(k.addrs)) this.known.set(k.id, { id: k.id, addrs: k.addrs.filter(a => typeof a === 'string'), lastSeen: Number(k.lastSeen) || 0 })
      }
    } catch {
      // no file yet, or a damaged one: start from the bootstrap list
    }
  }

  async saveKnownPeers (): Promise<void> {
    await mkdir(this.init.dataDir, { recursive: true })
    const tmp = `${this.file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify([...this.known.values()], null, 1))
    await rename(tmp, this.file)
  }

  private every (ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => { this.background(fn()) }, ms)
    t.unref()
    this.timers.push(t)
  }

  private background (p: Promise<void>): void {
    p.catch(err => { this.components.logger.debug('discovery task failed', { error: err }) })
  }
}

function parseAddrs (addrs: string[]): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    try { out.push(multiaddr(a)) } catch { /* skip unparsable */ }
  }
  return out
}
