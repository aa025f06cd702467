/**
 * An in-memory NodeApi for unit tests of the operator surfaces (REPL, one-shot CLI, HTTP API,
 * metrics). It runs tasks with tiny built-in handlers; it is not a scheduler and proves nothing
 * about the network.
 */
import { createHash } from 'node:crypto'
import { TERMINAL_STATUSES } from '../../src/node-api.ts'
import type {
  CapabilityView, LedgerEntry, NetworkStats, NodeApi, NodeStatus, PeerView, Readiness, SubmitRequest, TaskStatus, TaskView
} from '../../src/node-api.ts'

export const WORKER_ID = '12D3KooWWorkerAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1234'
export const SELF_ID = '12D3KooWSelfBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB5678'

type Outcome = { status: TaskStatus, result?: string, error?: string }
/** returns the outcome, or undefined to leave the task running until finish() or cancel() */
type FakeHandler = (payload: string) => Outcome | undefined

const HANDLERS: Record<string, FakeHandler> = {
  compute: payload => ({ status: 'succeeded', result: createHash('sha256').update(payload).digest('hex') }),
  echo: payload => ({ status: 'succeeded', result: payload }),
  fail: () => ({ status: 'failed', error: 'handler exited with code 1: boom' }),
  sleep: () => undefined
}

export function makePeer (overrides: Partial<PeerView> = {}): PeerView {
  return {
    peerId: WORKER_ID,
    role: 'worker',
    addresses: ['/ip4/127.0.0.1/tcp/4002'],
    connected: true,
    rttMs: 3.2,
    healthy: true,
    lastSeen: Date.now(),
    successes: 10,
    failures: 0,
    capabilities: ['compute', 'echo'],
    labels: { zone: 'a' },
    credits: 12.5,
    ...overrides
  }
}

export class FakeNodeApi implements NodeApi {
  readonly tasks = new Map<string, TaskView>()
  readonly submitted: SubmitRequest[] = []
  peerList: PeerView[] = [
    makePeer({ peerId: '12D3KooWBootCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC9999', role: 'bootstrap', capabilities: [], rttMs: 0.8, credits: 0, addresses: ['/ip4/127.0.0.1/tcp/4001'] }),
    makePeer()
  ]

  caps: CapabilityView[] = [{
    peerId: WORKER_ID, role: 'worker', capabilities: ['compute', 'echo'], labels: { zone: 'a' }, taskTypes: ['compute', 'echo', 'fail', 'sleep'],
    slots: 4, freeSlots: 4, running: 0, queue: 0, load: 0.1, lastHeartbeat: Date.now(), self: false
  }]

  readinessValue: Readiness = { ready: true }
  /** make the next call of this method throw */
  failNext?: { method: keyof NodeApi, error: Error }
  private seq = 0
  private readonly waiters = new Map<string, Set<(task: TaskView) => void>>()

  status (): NodeStatus {
    this.maybeFail('status')
    return {
      peerId: SELF_ID,
      role: 'bootstrap',
      protocolVersion: 'p2p-network',
      version: '0.1.0',
      addresses: ['/ip4/127.0.0.1/tcp/4001'],
      uptimeMs: 65_000,
      connectedPeers: this.peerList.filter(p => p.connected).length,
      healthyPeers: this.peerList.filter(p => p.healthy).length,
      capabilities: [],
      labels: {},
      slots: 2,
      running: 1,
      draining: false,
      tasks: { queued: 0, running: 0, succeeded: 0, failed: 0, other: 0 },
      relayReservations: [],
      followsLoad: true
    }
  }

  peers (options?: { healthy?: boolean }): PeerView[] {
    this.maybeFail('peers')
    return options?.healthy === undefined ? this.peerList : this.peerList.filter(p => p.healthy === options.healthy)
  }

  networkStats (): NetworkStats {
    return { total_peers: this.peerList.length, healthy_peers: this.peerList.filter(p => p.healthy).length, data_sent: 100, data_received: 200, uptime: 65 }
  }

  capabilities (): CapabilityView[] {
    this.maybeFail('capabilities')
    return this.caps
  }

  async submit (request: SubmitRequest): Promise<TaskView> {
    this.maybeFail('submit')
    this.submitted.push(request)
    const id = `task-${String(++this.seq).padStart(4, '0')}`
    const task: TaskView = {
      id,
      type: request.type,
      status: 'queued',
      requires: request.requires ?? [request.type],
      submittedAt: Date.now(),
      attempts: 0,
      maxAttempts: request.maxAttempts ?? 3,
      history: []
    }
    if (request.selector !== undefined) task.selector = request.selector
    this.tasks.set(id, task)
    const handler = HANDLERS[request.type]
    const payload = typeof request.payload === 'string' ? request.payload : Buffer.from(request.payload).toString('utf8')
    setImmediate(() => {
      if (handler === undefined) {
        this.finish(id, { status: 'no_capable_worker', error: `no known worker has capability "${request.type}"` })
        return
      }
      const current = this.tasks.get(id)
      if (current === undefined || current.status !== 'queued') return
      this.tasks.set(id, { ...current, status: 'running', attempts: 1, worker: WORKER_ID, history: [{ attempt: 1, worker: WORKER_ID, startedAt: Date.now() }] })
      const outcome = handler(payload)
      if (outcome !== undefined) this.finish(id, outcome)
    })
    return { ...task }
  }

  /** ends a task with the given outcome, as a worker's result would */
  finish (id: string, outcome: Outcome): void {
    const task = this.tasks.get(id)
    if (task === undefined || TERMINAL_STATUSES.has(task.status)) return
    const endedAt = Date.now()
    const done: TaskView = { ...task, ...outcome, endedAt, durationMs: Math.max(1, endedAt - task.submittedAt), attempts: Math.max(task.attempts, 1) }
    if (outcome.result !== undefined) done.resultEncoding = 'utf8'
    this.tasks.set(id, done)
    for (const resolve of this.waiters.get(id) ?? []) resolve(done)
    this.waiters.delete(id)
  }

  get (id: string): TaskView | undefined {
    return this.tasks.get(id)
  }

  list (options?: { status?: TaskStatus, limit?: number }): TaskView[] {
    const all = [...this.tasks.values()].reverse().filter(t => options?.status === undefined || t.status === options.status)
    return all.slice(0, options?.limit ?? 100)
  }

  async cancel (id: string): Promise<TaskView> {
    const task = this.tasks.get(id)
    if (task === undefined) throw Object.assign(new Error(`no task ${id}`), { code: 'not_found' })
    this.finish(id, { status: 'cancelled', error: 'cancelled by the operator' })
    return this.tasks.get(id)!
  }

  async wait (id: string, options?: { signal?: AbortSignal }): Promise<TaskView> {
    const task = this.tasks.get(id)
    if (task === undefined) throw Object.assign(new Error(`no task ${id}`), { code: 'not_found' })
    if (TERMINAL_STATUSES.has(task.status)) return task
    const signal = options?.signal
    signal?.throwIfAborted()
    return new Promise<TaskView>((resolve, reject) => {
      const set = this.waiters.get(id) ?? new Set()
      this.waiters.set(id, set)
      const onAbort = (): void => {
        set.delete(done)
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
      }
      const done = (t: TaskView): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve(t)
      }
      set.add(done)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** how many wait() calls are pending, to check that aborted waits are released */
  pendingWaits (): number {
    let n = 0
    for (const set of this.waiters.values()) n += set.size
    return n
  }

  ledger (): LedgerEntry[] {
    return [{ worker: WORKER_ID, credits: 12.5, completed: 5, failed: 1, meanLatencyMs: 20, reputation: 0.9 }]
  }

  readiness (): Readiness {
    return this.readinessValue
  }

  private maybeFail (method: keyof NodeApi): void {
    if (this.failNext?.method === method) {
      const { error } = this.failNext
      this.failNext = undefined
      throw error
    }
  }
}
