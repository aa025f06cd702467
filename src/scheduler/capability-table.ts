/**
 * What every node knows about every other: role, capabilities, labels, task types and slots from
 * advertisements, load from the latest heartbeat. Entries expire when a peer goes silent.
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

export class CapabilityTable {
  private readonly entries = new Map<string, TableEntry>()

  constructor (private readonly expireAfterMs: number) {}

  /** Returns 'new' | 'changed' | 'same' | 'stale' (an older advertisement than the one we have). */
  advertise (a: AdvertisementInput, now = Date.now()): 'new' | 'changed' | 'same' | 'stale' {
    const old = this.entries.get(a.peerId)
    if (old != null && a.seq < old.advertisedSeq) return 'stale'
    const entry: TableEntry = {
      peerId: a.peerId,
      role: a.role,
      capabilities: a.capabilities,
      labels: a.labels,
      taskTypes: a.taskTypes,
      slots: a.slots,
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
    const same = old.role === entry.role && old.slots === entry.slots && sameList(old.capabilities, entry.capabilities) &&
      sameList(old.taskTypes, entry.taskTypes) && JSON.stringify(old.labels) === JSON.stringify(entry.labels)
    return same ? 'same' : 'changed'
  }

  /** Returns true when the heartbeat shows a free slot (a reason to try placing queued tasks). */
  heartbeat (h: HeartbeatInput, now = Date.now()): boolean {
    const e = this.entries.get(h.peerId)
    if (e == null || h.seq <= e.heartbeatSeq) return false
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

  markDraining (peerId: string): void {
    const e = this.entries.get(peerId)
    if (e != null) e.draining = true
  }

  /** A result or renewal from the peer proves it is alive. */
  touch (peerId: string, now = Date.now()): void {
    const e = this.entries.get(peerId)
    if (e != null) e.lastSeen = now
  }

  remove (peerId: string): boolean {
    return this.entries.delete(peerId)
  }

  get (peerId: string): TableEntry | undefined { return this.entries.get(peerId) }

  all (): TableEntry[] { return [...this.entries.values()] }

  workers (): TableEntry[] { return this.all().filter(e => e.slots > 0) }

  /** Drops entries silent for longer than the expiry; returns the dropped peer IDs. */
  expire (now = Date.now()): string[] {
    const gone: string[] = []
    for (const [id, e] of this.entries) {
      if (now - e.lastSeen > this.expireAfterMs) {
        this.entries.delete(id)
        gone.push(id)
      }
    }
    return gone
  }
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
