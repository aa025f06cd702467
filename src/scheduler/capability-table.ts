/**
 * What a node knows about every other: role, capabilities, labels, task types and slots from
 * advertisements, load from the latest heartbeat (on nodes that follow the load: Gossip.followLoad;
 * elsewhere the advertised slots stand in). Entries expire when a peer goes silent.
 */
import type { Role } from '../node-api.ts'
import type { WorkerInfo } from './matching.ts'

export interface TableEntry extends WorkerInfo {
  role: Role
  addrs: string[]
  advertisedSeq: bigint
  freeSlots: number
  queue: number
  heartbeatSeq: bigint
  lastHeartbeat?: number
  lastSeen: number
  /** set when the worker refused an offer; cleared by a heartbeat that shows a free slot */
  fullSince?: number
}

export interface AdvertisementInput {
  peerId: string
  role: Role
  capabilities: string[]
  labels: Record<string, string>
  taskTypes: string[]
  slots: number
  /** accepted tasks that may wait for a slot (absent: 0) */
  prefetch?: number
  addrs: string[]
  seq: bigint
}

export interface HeartbeatInput {
  peerId: string
  seq: bigint
  running: number
  freeSlots: number
  queue: number
  load: number
}

/** How many expiry periods an expired entry is kept, dormant, for its peer's next heartbeat. */
const DORMANT_PERIODS = 10

export class CapabilityTable {
  private readonly entries = new Map<string, TableEntry>()
  /**
   * Expired entries. Heartbeats carry no capabilities, so without these a worker whose heartbeats
   * were late for a moment (a busy machine, a slow link) would be unknown until its next periodic
   * advertisement; its next heartbeat brings it back at once instead.
   */
  private readonly dormant = new Map<string, TableEntry>()

  constructor (private expireAfterMs: number) {}

  /** Entries silent for longer than this expire (the keepalive grows with the network: node.ts). */
  setExpiry (ms: number): void { this.expireAfterMs = ms }

  /** Returns 'new' | 'changed' | 'same' | 'stale' (an older advertisement than the one we have). */
  advertise (a: AdvertisementInput, now = Date.now()): 'new' | 'changed' | 'same' | 'stale' {
    const sleeping = this.dormant.get(a.peerId)
    if (sleeping != null && a.seq < sleeping.advertisedSeq) return 'stale'
    this.dormant.delete(a.peerId)
    const old = this.entries.get(a.peerId)
    if (old != null && a.seq < old.advertisedSeq) return 'stale'
    const entry: TableEntry = {
      peerId: a.peerId,
      role: a.role,
      capabilities: a.capabilities,
      labels: a.labels,
      taskTypes: a.taskTypes,
      slots: a.slots,
      prefetch: a.prefetch ?? 0,
      addrs: a.addrs,
      advertisedSeq: a.seq,
      running: old?.running ?? 0,
      freeSlots: old?.freeSlots ?? a.slots,
      queue: old?.queue ?? 0,
      load: old?.load ?? 0,
      heartbeatSeq: old?.heartbeatSeq ?? 0n,
      lastHeartbeat: old?.lastHeartbeat,
      lastSeen: now,
      draining: old?.draining
    }
    this.entries.set(a.peerId, entry)
    if (old == null) return 'new'
    const same = old.role === entry.role && old.slots === entry.slots && old.prefetch === entry.prefetch && sameList(old.capabilities, entry.capabilities) &&
      sameList(old.taskTypes, entry.taskTypes) && JSON.stringify(old.labels) === JSON.stringify(entry.labels)
    return same ? 'same' : 'changed'
  }

  /** Returns true when the heartbeat shows a free slot (a reason to try placing queued tasks). */
  heartbeat (h: HeartbeatInput, now = Date.now()): boolean {
    let e = this.entries.get(h.peerId)
    if (e == null) {
      e = this.dormant.get(h.peerId)
      if (e == null || h.seq <= e.heartbeatSeq) return false
      this.dormant.delete(h.peerId)
      this.entries.set(h.peerId, e)
    }
    if (h.seq <= e.heartbeatSeq) return false
    e.heartbeatSeq = h.seq
    e.running = h.running
    e.freeSlots = h.freeSlots
    e.queue = h.queue
    e.load = h.load
    e.lastHeartbeat = now
    e.lastSeen = now
    e.draining = h.freeSlots === 0 && h.running === 0 && e.slots > 0 ? e.draining : false
    if (h.freeSlots > 0) e.fullSince = undefined
    return h.freeSlots > 0
  }

  markFull (peerId: string, now = Date.now()): void {
    const e = this.entries.get(peerId)
    if (e != null) e.fullSince = now
  }

  /** The peer freed a slot (a result came back): offers may go to it again before its next heartbeat. */
  clearFull (peerId: string): void {
    const e = this.entries.get(peerId)
    if (e != null) e.fullSince = undefined
  }

  markDraining (peerId: string): void {
    const e = this.entries.get(peerId)
    if (e != null) e.draining = true
  }

  /** A result or renewal from the peer proves it is alive. */
  touch (peerId: string, now = Date.now()): void {
    const e = this.entries.get(peerId)
    if (e != null) e.lastSeen = now
  }

  /**
   * Every live entry counts as seen now (never earlier than it was): the node is about to be
   * refreshed by more messages than before (it started following heartbeats), so the entries get
   * a full expiry period of the new kind before any is judged silent.
   */
  extendAll (now = Date.now()): void {
    for (const e of this.entries.values()) e.lastSeen = Math.max(e.lastSeen, now)
  }

  remove (peerId: string): boolean {
    this.dormant.delete(peerId)
    return this.entries.delete(peerId)
  }

  get (peerId: string): TableEntry | undefined { return this.entries.get(peerId) }

  all (): TableEntry[] { return [...this.entries.values()] }

  /** Live entries (this node's own included). */
  size (): number { return this.entries.size }

  workers (): TableEntry[] { return this.all().filter(e => e.slots > 0) }

  /**
   * Drops entries silent for longer than the expiry (they stay dormant, for a heartbeat to bring
   * back, for some more periods); returns the dropped peer IDs.
   */
  expire (now = Date.now()): string[] {
    const gone: string[] = []
    for (const [id, e] of this.entries) {
      if (now - e.lastSeen > this.expireAfterMs) {
        this.entries.delete(id)
        this.dormant.set(id, e)
        gone.push(id)
      }
    }
    for (const [id, e] of this.dormant) {
      if (now - e.lastSeen > this.expireAfterMs * DORMANT_PERIODS) this.dormant.delete(id)
    }
    return gone
  }
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
