/**
 * Finding and keeping peers: the bootstrap list, DNS discovery (a headless Service's records), known
 * peers persisted in data_dir, DHT random walks, peers learned from advertisements, and
 * re-bootstrapping with back-off when every peer is lost.
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

const MAX_KNOWN_PEERS = 1000
const MAX_BACKOFF_MS = 60_000

export class Discovery {
  private readonly entries: BootstrapEntry[]
  private readonly timers: NodeJS.Timeout[] = []
  private readonly abort = new AbortController()
  private known = new Map<string, KnownPeer>()
  private backoffMs: number
  private nextRebootstrap = 0
  private rebootstrapping = false
  private started = false
  rebootstraps = 0

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

  /** A peer learned elsewhere (an advertisement): remember it and dial it when there is room. */
  async learn (peerId: string, addrs: string[]): Promise<void> {
    const { libp2p } = this.components
    if (peerId === libp2p.peerId.toString() || addrs.length === 0) return
    if (libp2p.getConnections().length >= this.init.maxConnections * 0.8) return
    const id = peerIdFromString(peerId)
    if (libp2p.getConnections(id).length > 0) return
    const mas = parseAddrs(addrs)
    if (mas.length === 0) return
    await libp2p.peerStore.merge(id, { multiaddrs: mas })
    await this.dial(id)
  }

  knownPeerCount (): number { return this.known.size }

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

  private async dialKnownPeers (): Promise<void> {
    const { libp2p } = this.components
    await Promise.all([...this.known.values()].map(async k => {
      try {
        const id = peerIdFromString(k.id)
        if (id.equals(libp2p.peerId) || libp2p.getConnections(id).length > 0) return
        await libp2p.peerStore.merge(id, { multiaddrs: parseAddrs(k.addrs) })
        await this.dial(id)
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

  private async dial (id: PeerId): Promise<void> {
    try {
      await this.components.libp2p.dial(id, { signal: this.dialSignal() })
    } catch (err) {
      this.components.logger.debug('dial failed', { peer: id.toString(), error: err })
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
