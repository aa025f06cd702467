/**
 * The submitter side of the task lifecycle (DESIGN.md section 4): placement by direct offers,
 * broadcast and claims when no known worker is free, exactly one active attempt, leases, retries
 * with back-off, timeouts, cancellation, first-result-wins, journaling and the credit ledger.
 */
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics/index.ts'
import { atTurnEnd } from '../network/turn.ts'
import { TERMINAL_STATUSES, type AttemptView, type LedgerEntry, type SubmitRequest, type TaskStatus, type TaskView } from '../node-api.ts'
import { WIRE_VERSION, type Receipt, type ReceiptEntry, type TaskRequest, type Result } from '../protocol/codec.ts'
import type { CapabilityTable, TableEntry } from './capability-table.ts'
import type { Journal, LedgerRow } from './journal.ts'
import { bestCandidate, canRun, estimatedFree, explainNoWorker, type TaskNeeds } from './matching.ts'
import { credits, leaseTimeoutMs, reputation, retryBackoffMs } from './policy.ts'
import { ReceiptSigner } from './receipts.ts'
import { TaskIdGenerator } from './task-id.ts'
import { parseSelector } from './selector.ts'
import type { StreamFrame } from '../protocol/codec.ts'

/** Codes are the API's error codes (src/api maps each to an HTTP status). */
export class TaskError extends Error {
  constructor (readonly code: 'not_found' | 'invalid_argument' | 'payload_too_large' | 'unavailable', message: string) {
    super(message)
    this.name = 'TaskError'
  }
}

export interface SubmitterInit {
  network: string
  selfId: string
  maxAttempts: number
  queueTimeoutMs: number
  deadlineMs: number
  maxPayloadBytes: number
  leaseIntervalMs: number
  /** how long an offer may go unanswered before the next candidate is tried */
  offerTimeoutMs: number
  /** how long to wait for any capable worker to appear before ending no_capable_worker */
  noWorkerGraceMs: number
  weights: Record<string, number>
  /** ended tasks kept in memory for get/list */
  keepFinished: number
  /** default BROADCAST_AFTER_MS */
  broadcastAfterMs?: number
}

export interface SubmitterComponents {
  table: CapabilityTable
  journal: Journal
  logger: Logger
  metrics?: Metrics
  privateKey: PrivateKey
  send: (to: string, frame: StreamFrame) => Promise<void>
  broadcast: (capability: string, request: TaskRequest) => Promise<void>
  publishResult: (summary: { id: string, attempt: number, worker: string, status: string, durationMs: number, output: Uint8Array }) => void
  rttMs: (peer: string) => number | undefined
  /**
   * Called whenever this node has tasks to place: on every submission, and at start when the
   * journal holds unfinished ones. The node starts following the workers' load then (node.ts).
   */
  onTasks?: () => void
}

interface Task {
  id: string
  type: string
  payload: Uint8Array<ArrayBuffer>
  requires: string[]
  selector: string
  /** execution timeout per attempt; 0: the worker's own (its handler's timeout or tasks.default_timeout) */
  timeoutMs: number
  maxAttempts: number
  queueTimeoutMs: number
  deadlineMs: number
  submittedAt: number
  status: TaskStatus
  /** execution attempts granted so far */
  attempt: number
  /**
   * the offer in flight: (worker, attempt) not yet accepted or refused; `delivered` once it was
   * written to a stream to the worker (until then the worker may simply be unreachable)
   */
  offer?: { worker: string, attempt: number, sentAt: number, delivered?: boolean }
  /** the one active attempt */
  active?: { worker: string, attempt: number, grantedAt: number, leaseExpires: number }
  queuedSince: number
  notBefore: number
  lastBroadcast: number
  failedOn: string[]
  /**
   * workers that refused this attempt, and when; each is passed over until it heartbeats again
   * (a full worker frees slots). One that left an offer unanswered or could not be reached is
   * recorded as refusing a while into the future: passed over for that long at least.
   */
  refusedBy: Record<string, number>
  /** `${worker}#${attempt}` of every attempt whose own result was recorded: a re-sent result is not a duplicate */
  reported: string[]
  /** since when no known worker could ever run the task (undefined while one can) */
  noWorkerSince?: number
  /** revived after a restart: not ended as no_capable_worker before this (the table refills first) */
  graceUntil?: number
  /** credits the completing result earned, to sign the receipt again if the worker re-sends it */
  earned?: number
  history: AttemptView[]
  worker?: string
  result?: Uint8Array<ArrayBuffer>
  error?: string
  endedAt?: number
  durationMs?: number
  waiters: Array<(t: TaskView) => void>
}

const TICK_MS = 100
/** a task's failedOn while it has failed nowhere (placement asks for it once per task) */
const NO_WORKERS: ReadonlySet<string> = new Set()
/** The tick while nothing is queued or in flight (a worker that never submits, an idle gateway) */
const IDLE_TICK_MS = 1000
/** how often the queued-tasks gauge is recomputed */
const METRICS_MS = 1000
/** how often the whole queue is swept for broadcasts and tasks no worker can ever take */
const SWEEP_MS = 1000
/** Results of one worker acknowledged together, by one ack and one signed receipt (at most 1/4 lease interval) */
export const RECEIPT_WINDOW_MS = 50
/** A batch of this many results is acknowledged at the end of the turn (a bounded ack frame) */
const RECEIPT_MAX_ENTRIES = 512
/** reused: constructing a fatal UTF-8 decoder per view costs more than the decode */
const UTF8 = new TextDecoder('utf-8', { fatal: true })
/**
 * Broadcasts of queued tasks per second, all tasks together. Each queued task is re-broadcast at
 * most every 2 s while no known worker is free; without a budget a long queue floods the capability
 * topics (300 queued tasks: 150 messages a second) and starves heartbeats.
 */
const BROADCASTS_PER_SECOND = 10
/**
 * How long a task waits for busy known workers before it is broadcast to workers we may not know,
 * and how long those workers must have ended none of its kind. While they return results, the queue
 * is moving and a broadcast only brings claims: on a 2-core machine with 50 cold workers, a burst's
 * broadcasts had every free worker claim (and reserve a slot for) tasks the submitter was about to
 * offer elsewhere, workers refused offers for slots their claims held, and throughput fell to
 * 50–100 tasks/s.
 */
const BROADCAST_AFTER_MS = 5000
/** an offer the worker received and left unanswered keeps it out of that task for this many offer timeouts */
const UNANSWERED_OFFERS = 3
/**
 * A worker an offer could not be delivered to (no stream could be opened, or none within the offer
 * timeout) gets no offers for this long, doubling per failure up to UNREACHABLE_MAX_MS; any frame
 * from it or a delivered offer ends the wait. Per worker, not per task: the tasks did nothing wrong,
 * and must run there as soon as it is reachable again (a relay restart, a short partition).
 */
const UNREACHABLE_FIRST_MS = 1000
const UNREACHABLE_MAX_MS = 8000
/** after a restart, journaled tasks wait this many no-worker grace periods before no_capable_worker */
const RESTART_GRACE_PERIODS = 6

export class Submitter {
  private readonly tasks = new Map<string, Task>()
  /** non-terminal tasks waiting for a worker, in submission order */
  private readonly queue = new Set<string>()
  private readonly inflight = new Map<string, number>()
  private readonly ledgerRows = new Map<string, LedgerRow>()
  private readonly finishedOrder: string[] = []
  private readonly queuedCaps = new Set<string>()
  private timer?: NodeJS.Timeout
  private tickMs = 0
  /** tasks with an offer or an active attempt (removed lazily by the tick once they have neither) */
  private readonly attempts = new Set<Task>()
  private lastMetrics = 0
  private placing = false
  private placeAgain = false
  private placeScheduled = false
  private lastSweep = 0
  private readonly needsCache = new WeakMap<Task, TaskNeeds & { kind: string }>()
  private broadcastWindow = { start: 0, sent: 0 }
  /** when a result of each kind of task (TaskNeeds.kind) last came back */
  private readonly progressAt = new Map<string, number>()
  /** per worker: the heartbeat seq we last saw and how many of our attempts it finished since */
  private readonly finishedSinceHeartbeat = new Map<string, { seq: bigint, n: number }>()
  /** workers offers could not be delivered to: not offered anything before `until` */
  private readonly unreachable = new Map<string, { until: number, failures: number }>()
  duplicates = 0
  stopped = false
  private readonly signer: ReceiptSigner
  /** our peer ID as multihash bytes, put in every request and receipt */
  private readonly selfBytes: Uint8Array<ArrayBuffer>
  private readonly peerBytes = new Map<string, Uint8Array<ArrayBuffer>>()
  /** completing results of this turn awaiting their receipt, per worker */
  private pendingReceipts = new Map<string, ReceiptEntry[]>()
  private readonly ids = new TaskIdGenerator()
  /** a receipts flush is queued for the end of this turn (a full batch) or for the window's end */
  private receiptFlush = false
  private receiptTimer?: NodeJS.Timeout

  constructor (private readonly components: SubmitterComponents, private readonly init: SubmitterInit) {
    this.signer = new ReceiptSigner(components.privateKey)
    this.selfBytes = peerIdFromString(init.selfId).toMultihash().bytes
  }

  start (): void {
    const { journal } = this.components
    for (const row of journal.loadLedger()) this.ledgerRows.set(row.worker, row)
    for (const rec of journal.loadRecentFinished(this.init.keepFinished).reverse()) {
      const t = this.revive(rec.json)
      if (t != null) { this.tasks.set(t.id, t); this.finishedOrder.push(t.id) }
    }
    const now = Date.now()
    for (const rec of journal.loadUnfinished()) {
      const t = this.revive(rec.json)
      if (t == null) continue
      // after a restart: an active attempt keeps running on its worker; give its lease a fresh
      // window to be renewed (or its result to arrive) before retrying elsewhere
      t.offer = undefined
      // the capability table starts empty and takes a while to refill (reconnecting, workers
      // re-advertising): an empty table right after a restart says nothing about the network
      t.noWorkerSince = undefined
      t.graceUntil = now + RESTART_GRACE_PERIODS * this.init.noWorkerGraceMs
      if (t.active != null) {
        t.active.leaseExpires = now + leaseTimeoutMs(this.init.leaseIntervalMs) * 2
        this.addInflight(t.active.worker, 1)
        this.attempts.add(t)
      } else {
        t.status = 'queued'
        this.queue.add(t.id)
      }
      this.tasks.set(t.id, t)
    }
    if (this.queue.size > 0 || this.attempts.size > 0) this.components.onTasks?.()
    this.scheduleTick()
    this.kick()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    // results already recorded still get their acks and receipts
    if (this.receiptFlush || this.receiptTimer != null) this.flushReceipts()
  }

  // ---- the programmatic API -------------------------------------------------------------

  async submit (req: SubmitRequest): Promise<TaskView> {
    if (this.stopped) throw new TaskError('unavailable', 'the node is stopping')
    const type = typeof req.type === 'string' ? req.type.trim() : ''
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(type)) throw new TaskError('invalid_argument', `task type "${String(req.type)}" must be 1-64 letters, digits, ".", "_" or "-"`)
    const payload = typeof req.payload === 'string' ? new TextEncoder().encode(req.payload) : Uint8Array.from(req.payload)
    if (payload.byteLength > this.init.maxPayloadBytes) throw new TaskError('payload_too_large', `payload of ${payload.byteLength} bytes exceeds tasks.max_payload (${this.init.maxPayloadBytes})`)
    const selector = req.selector ?? ''
    try { parseSelector(selector) } catch (err) { throw new TaskError('invalid_argument', (err as Error).message) }
    const requires = req.requires != null && req.requires.length > 0 ? [...new Set(req.requires)] : [type]
    const positive = (v: number | undefined, name: string, max: number): void => {
      if (v != null && (!Number.isInteger(v) || v < 1 || v > max)) throw new TaskError('invalid_argument', `${name} must be an integer from 1 to ${max}`)
    }
    positive(req.timeoutMs, 'timeout', 7 * 24 * 3600_000)
    positive(req.maxAttempts, 'max attempts', 100)
    positive(req.queueTimeoutMs, 'queue timeout', 30 * 24 * 3600_000)
    positive(req.deadlineMs, 'deadline', 30 * 24 * 3600_000)
    const now = Date.now()
    const t: Task = {
      id: this.ids.next(),
      type,
      payload,
      requires,
      selector,
      timeoutMs: req.timeoutMs ?? 0,
      maxAttempts: req.maxAttempts ?? this.init.maxAttempts,
      queueTimeoutMs: req.queueTimeoutMs ?? this.init.queueTimeoutMs,
      deadlineMs: req.deadlineMs ?? this.init.deadlineMs,
      submittedAt: now,
      status: 'queued',
      attempt: 0,
      queuedSince: now,
      notBefore: 0,
      lastBroadcast: 0,
      failedOn: [],
      refusedBy: {},
      reported: [],
      history: [],
      waiters: []
    }
    this.tasks.set(t.id, t)
    this.components.onTasks?.()
    // placed at once: the offer leaves in the same turn as the journal commit (right after it),
    // not a turn later, which under load is a turn behind whatever I/O arrived meanwhile
    this.queue.add(t.id)
    this.busyTick()
    this.kick()
    try {
      await this.persist(t)
    } catch (err) {
      // not durable, so not accepted: stop whatever attempt already started and end the task
      this.cancel(t.id).catch(() => {})
      throw new TaskError('unavailable', `cannot journal the task: ${(err as Error).message}`)
    }
    this.components.metrics?.tasksSubmitted.inc({ type })
    return this.view(t)
  }

  get (id: string): TaskView | undefined {
    const t = this.tasks.get(id)
    return t == null ? undefined : this.view(t)
  }

  list (options: { status?: TaskStatus, limit?: number } = {}): TaskView[] {
    const out: TaskView[] = []
    const limit = options.limit ?? 100
    const all = [...this.tasks.values()].sort((a, b) => b.submittedAt - a.submittedAt)
    for (const t of all) {
      if (options.status != null && t.status !== options.status) continue
      out.push(this.view(t))
      if (out.length >= limit) break
    }
    return out
  }

  async cancel (id: string): Promise<TaskView> {
    const t = this.tasks.get(id)
    if (t == null) throw new TaskError('not_found', `no task ${id}`)
    if (TERMINAL_STATUSES.has(t.status)) return this.view(t)
    const target = t.active ?? t.offer
    if (target != null) {
      this.cancelAttempt(target.worker, id, target.attempt)
    }
    this.endAttempt(t, 'cancelled', 'cancelled by the submitter')
    this.finish(t, 'cancelled', 'cancelled')
    return this.view(t)
  }

  async wait (id: string, options: { signal?: AbortSignal } = {}): Promise<TaskView> {
    const t = this.tasks.get(id)
    if (t == null) throw new TaskError('not_found', `no task ${id}`)
    if (TERMINAL_STATUSES.has(t.status)) return this.view(t)
    return new Promise((resolve, reject) => {
      const signal = options.signal
      const done = (v: TaskView): void => { signal?.removeEventListener('abort', onAbort); resolve(v) }
      const onAbort = (): void => {
        const i = t.waiters.indexOf(done)
        if (i >= 0) t.waiters.splice(i, 1)
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
      }
      if (signal?.aborted === true) { onAbort(); return }
      signal?.addEventListener('abort', onAbort, { once: true })
      t.waiters.push(done)
    })
  }

  /**
   * Whether tasks wait for a worker, without a walk over every task (counts() is O(tasks)): the
   * queue set, which each placement pass cleans of tasks that left it (the sweep runs one every
   * SWEEP_MS), so it can still say yes until the pass after the last one left.
   */
  hasQueued (): boolean {
    return this.queue.size > 0
  }

  counts (): { queued: number, running: number, succeeded: number, failed: number, other: number } {
    const c = { queued: 0, running: 0, succeeded: 0, failed: 0, other: 0 }
    for (const t of this.tasks.values()) {
      if (t.status === 'queued') c.queued++
      else if (t.status === 'running') c.running++
      else if (t.status === 'succeeded') c.succeeded++
      else if (t.status === 'failed') c.failed++
      else c.other++
    }
    return c
  }

  /** Tasks waiting for a worker, by required capability (for the queued-tasks metric and HPA). */
  queuedByCapability (): Map<string, number> {
    const out = new Map<string, number>()
    for (const id of this.queue) {
      const t = this.tasks.get(id)
      if (t?.status === 'queued') for (const c of t.requires) out.set(c, (out.get(c) ?? 0) + 1)
    }
    return out
  }

  ledger (): LedgerEntry[] {
    return [...this.ledgerRows.values()].map(r => ({
      worker: r.worker,
      credits: Math.round(r.credits * 1000) / 1000,
      completed: r.completed,
      failed: r.failed,
      meanLatencyMs: r.completed > 0 ? Math.round(r.latencySumMs / r.completed) : 0,
      reputation: Math.round(reputation(r.completed, r.failed) * 1000) / 1000
    }))
  }

  creditsOf (worker: string): number { return this.ledgerRows.get(worker)?.credits ?? 0 }
  reputationOf (worker: string): number {
    const r = this.ledgerRows.get(worker)
    return r == null ? 0.5 : reputation(r.completed, r.failed)
  }

  // ---- frames from workers -------------------------------------------------------------

  onFrame (from: string, f: StreamFrame): boolean {
    // a frame from a worker shows it can reach us, on a connection we can answer it on
    if (this.unreachable.size > 0) this.unreachable.delete(from)
    switch (f.kind) {
      case 'accept': this.onAccept(from, f.accept.id, f.accept.attempt); return true
      case 'refuse': this.onRefuse(from, f.refuse.id, f.refuse.attempt, f.refuse.reason); return true
      case 'claim': this.onClaim(from, f.claim.id, f.claim.attempt); return true
      case 'renew': this.onRenew(from, f.renew.ids, f.renew.attempts); return true
      case 'result': this.onResult(from, f.result); return true
      case 'cancelAck': this.onCancelAck(from, f.cancelAck.id, f.cancelAck.attempt); return true
      case 'offer': case 'reject': case 'ack': case 'cancel': return false
    }
  }

  /** Every connection to a worker closed: its attempts are lost and retried elsewhere. */
  onPeerGone (peer: string): void {
    // per-peer bookkeeping goes with the peer (a churning network brings new identities forever)
    this.finishedSinceHeartbeat.delete(peer)
    this.peerBytes.delete(peer)
    for (const t of this.tasks.values()) {
      if (t.active?.worker === peer) this.failAttempt(t, 'lost', `connection to worker ${short(peer)} lost`)
      else if (t.offer?.worker === peer) this.dropOffer(t)
    }
  }

  /** A worker showed free capacity (heartbeat, advertisement): try placing queued tasks. */
  kick (): void {
    if (this.placing) { this.placeAgain = true; return }
    // many kicks in one tick (a burst of submissions or results) make one placement pass
    if (this.placeScheduled) return
    this.placeScheduled = true
    queueMicrotask(() => {
      this.placeScheduled = false
      this.place(false)
    })
  }

  /** `journal` false: the caller journals the task right after (a result standing for its accept). */
  private onAccept (from: string, id: string, attempt: number, journal = true): void {
    const t = this.tasks.get(id)
    if (t == null || TERMINAL_STATUSES.has(t.status) || t.offer?.worker !== from || t.offer.attempt !== attempt) {
      // a late accept of an offer we gave up on: stop that attempt
      this.cancelAttempt(from, id, attempt)
      return
    }
    const now = Date.now()
    t.offer = undefined
    t.attempt = attempt
    t.active = { worker: from, attempt, grantedAt: now, leaseExpires: now + leaseTimeoutMs(this.init.leaseIntervalMs) }
    t.status = 'running'
    t.history.push({ attempt, worker: from, startedAt: now })
    this.components.metrics?.taskAttempts.inc({ type: t.type })
    if (attempt > 1) this.components.metrics?.taskRetries.inc({ type: t.type })
    if (journal) this.record(t)
  }

  private onRefuse (from: string, id: string, attempt: number, reason: string): void {
    const t = this.tasks.get(id)
    if (t?.offer?.worker !== from || t.offer.attempt !== attempt) return
    this.components.table.markFull(from)
    t.refusedBy[from] = Date.now()
    this.dropOffer(t)
    this.components.logger.debug('offer refused', { task: id, worker: from, reason })
  }

  private onClaim (from: string, id: string, attempt: number): void {
    const t = this.tasks.get(id)
    // a claim from a peer we know cannot run the task, or that let an offer of it go unanswered
    // (a peer may claim without running anything), is rejected: it would only delay the task
    const known = this.components.table.get(from)
    if (t == null || t.status !== 'queued' || t.offer != null || t.active != null || attempt !== t.attempt + 1 ||
      this.refused(t, from) || (known != null && !canRun(known, this.needs(t)))) {
      this.components.send(from, { kind: 'reject', reject: { id, attempt } }).catch(() => {})
      return
    }
    this.offerTo(t, from)
  }

  private onRenew (from: string, ids: string[], attempts: number[]): void {
    const now = Date.now()
    this.components.table.touch(from, now)
    ids.forEach((id, i) => {
      const t = this.tasks.get(id)
      if (t?.active?.worker === from && t.active.attempt === attempts[i]) {
        t.active.leaseExpires = now + leaseTimeoutMs(this.init.leaseIntervalMs)
      } else if (t != null) {
        // the worker runs an attempt that is no longer ours to run (ids we do not know are not
        // answered: a renew full of made-up ids must not make us send thousands of cancels)
        this.cancelAttempt(from, id, attempts[i] ?? 0)
      }
    })
  }

  private onResult (from: string, r: Result): void {
    const t = this.tasks.get(r.id)
    const ack = (duplicate: boolean, receipt?: Receipt): void => {
      this.components.send(from, { kind: 'ack', ack: { id: r.id, attempt: r.attempt, duplicate, receipt } }).catch(() => {})
    }
    if (t == null) { ack(true); return }
    // a worker that finished before its accept was due sends the result alone: it is both
    if (t.offer?.worker === from && t.offer.attempt === r.attempt && !TERMINAL_STATUSES.has(t.status)) this.onAccept(from, r.id, r.attempt, false)
    if (t.active?.worker !== from || t.active.attempt !== r.attempt || TERMINAL_STATUSES.has(t.status)) {
      const k = `${from}#${r.attempt}`
      if (t.reported.includes(k)) {
        // the worker re-sent a result we recorded (our ack was lost or slow): not a second
        // execution; acknowledge it again, with the receipt if this result completed the task
        const completed = t.status === 'succeeded' && t.worker === from && t.earned != null &&
          t.history.some(h => h.worker === from && h.attempt === r.attempt && h.outcome === 'succeeded')
        ack(!completed, completed ? this.receipt(t.id, r.attempt, from, t.earned ?? 0, r.durationMs) : undefined)
        return
      }
      // first result wins; anything else (late, from a superseded attempt, forged) is a duplicate.
      // A late attempt is counted once: the worker re-sends it until acknowledged, and after a
      // link cut several copies arrive at once (they are one extra execution, not several)
      if (t.history.some(h => h.worker === from && h.attempt === r.attempt)) {
        this.duplicates++
        this.components.metrics?.taskDuplicates.inc()
        t.reported.push(k)
      }
      ack(true)
      return
    }
    this.components.table.touch(from)
    // the worker just freed a slot: a refusal earlier no longer keeps offers away from it
    this.components.table.clearFull(from)
    this.addInflight(from, -1)
    this.noteFinished(from)
    // kinds are few (type, capabilities, selector); bound the map all the same
    if (this.progressAt.size >= 1024) this.progressAt.clear()
    this.progressAt.set(this.needs(t).kind, Date.now())
    const active = t.active
    t.active = undefined
    const h = t.history.find(x => x.attempt === r.attempt && x.worker === from)
    const now = Date.now()
    t.reported.push(`${from}#${r.attempt}`)
    if (r.ok) {
      if (h != null) { h.endedAt = now; h.outcome = 'succeeded' }
      t.result = r.output
      t.worker = from
      const row = this.ledgerRow(from)
      // credits by duration: the worker's own report, but never more than the attempt was held
      const earned = credits(Math.min(r.durationMs, now - active.grantedAt), this.init.weights[t.type] ?? 1)
      t.earned = earned
      row.credits += earned
      row.completed++
      row.latencySumMs += now - active.grantedAt
      this.components.journal.putLedger(row)
      this.components.metrics?.creditsIssued.inc(earned)
      this.components.metrics?.taskExecution.observe({ type: t.type }, r.durationMs / 1000)
      this.ackWithReceipt(from, { id: t.id, attempt: r.attempt, credits: earned, durationMs: r.durationMs })
      this.finish(t, 'succeeded')
      this.components.publishResult({ id: t.id, attempt: r.attempt, worker: from, status: 'succeeded', durationMs: r.durationMs, output: r.output })
    } else {
      ack(false)
      const row = this.ledgerRow(from)
      row.failed++
      this.components.journal.putLedger(row)
      if (h != null) { h.endedAt = now; h.outcome = r.code === 'timeout' ? 'timed_out' : r.code === 'cancelled' ? 'cancelled' : 'failed'; h.error = r.error }
      this.retryOrEnd(t, r.code === 'timeout' ? 'timed_out' : 'failed', r.error, from)
    }
    this.kick()
  }

  private onCancelAck (from: string, id: string, attempt: number): void {
    const t = this.tasks.get(id)
    const h = t?.history.find(x => x.attempt === attempt && x.worker === from)
    if (h != null) h.error = (h.error ?? '') + (h.error != null ? '; ' : '') + 'cancel acknowledged by the worker'
  }

  // ---- placement ----------------------------------------------------------------------

  /**
   * A placement pass. Passes run on every kick (a result, a refusal, a heartbeat with room, a batch
   * of submissions) and stop as soon as no known worker has room, so a long queue costs nothing
   * while every worker is busy. The `sweep` pass (every SWEEP_MS from the tick) walks the whole
   * queue for the rest: broadcasting tasks no known worker can take, and ending those no worker
   * can ever take.
   */
  private place (sweep = false): void {
    if (this.stopped) return
    // every slot that frees or fills kicks a pass, also on a node that has nothing queued (a worker)
    if (this.queue.size === 0) return
    this.placing = true
    try {
      do {
        this.placeAgain = false
        const now = Date.now()
        const workers = this.components.table.workers().map(w => ({ ...w, running: this.runningNow(w) }))
        const inflight = (p: string): number => this.inflight.get(p) ?? 0
        const rttMs = (p: string): number | undefined => this.components.rttMs(p)
        const reputationOf = (p: string): number => this.reputationOf(p)
        // one pass runs for every kick over the whole queue: rank only while some worker has room
        const anyFree = (): boolean => workers.some(w => w.fullSince == null && !this.isUnreachable(w.peerId, now) && estimatedFree(w, inflight(w.peerId)) > 0)
        let free = anyFree()
        const capableByKind = new Map<string, boolean>()
        for (const id of this.queue) {
          const t = this.tasks.get(id)
          if (t == null || t.status !== 'queued') { this.queue.delete(id); continue }
          if (t.offer != null || t.active != null || now < t.notBefore) continue
          if (!free && !sweep) break
          const needs = this.needs(t)
          if (free) {
            const best = bestCandidate(workers, needs, {
              inflight,
              rttMs,
              reputation: reputationOf,
              failedOn: t.failedOn.length === 0 ? NO_WORKERS : new Set(t.failedOn),
              full: p => (this.components.table.get(p)?.fullSince != null) || this.isUnreachable(p, now) || this.refused(t, p)
            })
            if (best != null) {
              this.offerTo(t, best.peerId)
              // the offer changed only this worker's room: look at the others again once it has none
              if (estimatedFree(best, inflight(best.peerId)) <= 0) free = anyFree()
              continue
            }
          }
          if (!sweep) continue
          // a long queue holds few distinct kinds of task: ask each kind once per pass
          let capable = capableByKind.get(needs.kind)
          if (capable == null) {
            capable = workers.some(w => canRun(w, needs))
            capableByKind.set(needs.kind, capable)
          }
          // no known worker is free: tell idle capable workers we may not know, at most every 2 s.
          // While known capable workers are merely busy, wait a while first: they free slots soon,
          // and claims from them would only contend with our offers for the same slots
          if (now - t.lastBroadcast > 2000 && (!capable || this.stalled(t, needs.kind, now)) && this.mayBroadcast(now)) {
            t.lastBroadcast = now
            this.broadcast(t)
          }
          // give up only after no capable worker was known for the whole grace period: a worker
          // missing from the table for a moment (a late heartbeat, a restart) must not end old tasks
          if (capable) {
            t.noWorkerSince = undefined
          } else {
            t.noWorkerSince ??= now
            if (now - t.noWorkerSince > Math.min(this.init.noWorkerGraceMs, t.queueTimeoutMs) && now >= (t.graceUntil ?? 0)) {
              this.finish(t, 'no_capable_worker', explainNoWorker(workers, needs, t.selector))
            }
          }
        }
      } while (this.placeAgain)
    } finally {
      this.placing = false
    }
  }

  /** Known capable workers are busy and have not ended a task of this kind for a while. */
  private stalled (t: Task, kind: string, now: number): boolean {
    const after = this.init.broadcastAfterMs ?? BROADCAST_AFTER_MS
    return now - t.queuedSince > after && now - (this.progressAt.get(kind) ?? 0) > after
  }

  private mayBroadcast (now: number): boolean {
    const w = this.broadcastWindow
    if (now - w.start >= 1000) { w.start = now; w.sent = 0 }
    if (w.sent >= BROADCASTS_PER_SECOND) return false
    w.sent++
    return true
  }

  private offerTo (t: Task, worker: string): void {
    const attempt = t.attempt + 1
    t.offer = { worker, attempt, sentAt: Date.now() }
    this.attempts.add(t)
    this.busyTick()
    this.addInflight(worker, 1)
    const task: TaskRequest = this.request(t, attempt, true)
    this.components.send(worker, { kind: 'offer', offer: { task } }).then(() => {
      if (t.offer?.worker === worker && t.offer.attempt === attempt) t.offer.delivered = true
      if (this.unreachable.size > 0) this.unreachable.delete(worker)
    }, err => {
      this.components.logger.debug('offer could not be sent', { task: t.id, worker, error: err })
      // the worker is unreachable, not unwilling: it waits out a back-off, and this task stays
      // free to run there as soon as it is reachable again
      this.markUnreachable(worker)
      if (t.offer?.worker === worker && t.offer.attempt === attempt) this.dropOffer(t)
    })
  }

  private dropOffer (t: Task): void {
    if (t.offer == null) return
    this.addInflight(t.offer.worker, -1)
    t.offer = undefined
    this.kick()
  }

  private broadcast (t: Task): void {
    const request = this.request(t, t.attempt + 1, false)
    for (const cap of t.requires.slice(0, 1)) {
      this.components.broadcast(cap, request).catch(() => {})
    }
  }

  private request (t: Task, attempt: number, withPayload: boolean): TaskRequest {
    return {
      version: WIRE_VERSION,
      network: this.init.network,
      id: t.id,
      type: t.type,
      payload: withPayload ? t.payload : new Uint8Array(),
      payloadSize: t.payload.byteLength,
      requires: t.requires,
      selector: t.selector,
      timeoutMs: t.timeoutMs,
      attempt,
      maxAttempts: t.maxAttempts,
      submitter: this.selfBytes,
      // when this request was made, not the task: gossip validators judge a TaskRequest's
      // freshness by it, and a task may be broadcast again long after its submission (a long
      // queue, a retry after a long attempt); the task's age would make it a stale replay
      created: BigInt(Date.now())
    }
  }

  /** What the task needs of a worker, and `kind`: tasks of one kind can run on the same workers. */
  private needs (t: Task): TaskNeeds & { kind: string } {
    let n = this.needsCache.get(t)
    if (n == null) {
      n = { type: t.type, requires: t.requires, selector: parseSelector(t.selector), kind: `${t.type}\n${t.requires.join(',')}\n${t.selector}` }
      this.needsCache.set(t, n)
    }
    return n
  }

  // ---- timers: offers, leases, timeouts -------------------------------------------------

  /**
   * The next tick: every TICK_MS while tasks are queued or in flight, every IDLE_TICK_MS otherwise.
   * Ten wake-ups a second in every node, workers included, were most of an idle node's timer work
   * and a measurable part of its CPU once 50 of them share two cores.
   */
  private scheduleTick (): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.tickMs = this.attempts.size > 0 || this.queue.size > 0 ? TICK_MS : IDLE_TICK_MS
    this.timer = setTimeout(() => {
      this.tick()
      this.scheduleTick()
    }, this.tickMs)
    this.timer.unref()
  }

  /** Work arrived: tick at the busy rate from now on. */
  private busyTick (): void {
    if (this.tickMs !== TICK_MS) this.scheduleTick()
  }

  /**
   * Every TICK_MS: offers and leases, over the tasks that have one (a few per slot, however long
   * the queue). Deadlines and queue timeouts of every task are checked by the sweep (SWEEP_MS).
   *
   * A lease is judged expired only at the end of the turn (setImmediate), after the I/O that is
   * already waiting was read (timers run before the poll phase): a submitter that was busy for a
   * second has renewals queued in its sockets, and without this it took attempts away from
   * workers that renewed on time (and the work ran twice). No further allowance for lateness: a
   * worker that really went silent must lose its attempts within the lease.
   */
  private tick (): void {
    const now = Date.now()
    let placed = false
    const expired: Task[] = []
    for (const t of this.attempts) {
      if (TERMINAL_STATUSES.has(t.status) || (t.offer == null && t.active == null)) { this.attempts.delete(t); continue }
      if (t.offer != null && now - t.offer.sentAt > this.init.offerTimeoutMs) {
        const { worker, attempt, delivered } = t.offer
        this.cancelAttempt(worker, t.id, attempt)
        // unanswered is worse than refused: a worker that heartbeats but never answers would
        // otherwise get every task offered again after each heartbeat, and hold it an offer timeout.
        // An offer still waiting for a stream to the worker was never seen by it: unreachable
        if (delivered === true) t.refusedBy[worker] = now + UNANSWERED_OFFERS * this.init.offerTimeoutMs
        else this.markUnreachable(worker, now)
        this.dropOffer(t)
        placed = true
      }
      if (t.active != null) {
        if (now > t.active.leaseExpires) {
          expired.push(t)
        } else if (t.timeoutMs > 0 && now - t.active.grantedAt > t.timeoutMs + leaseTimeoutMs(this.init.leaseIntervalMs)) {
          // the worker should have reported its own timeout by now (without an explicit timeout the
          // worker enforces its handler's; its lease and the total deadline still bound the attempt)
          this.cancelAttempt(t.active.worker, t.id, t.active.attempt)
          this.failAttempt(t, 'timed_out', `execution timeout of ${t.timeoutMs}ms`)
          placed = true
        }
      }
    }
    if (expired.length > 0) {
      setImmediate(() => {
        if (this.stopped) return
        const at = Date.now()
        for (const t of expired) {
          if (t.active != null && !TERMINAL_STATUSES.has(t.status) && at > t.active.leaseExpires) {
            this.failAttempt(t, 'lost', `lease expired: worker ${short(t.active.worker)} stopped renewing`)
          }
        }
        this.kick()
      })
    }
    if (now - this.lastSweep >= SWEEP_MS && !this.placing) {
      this.lastSweep = now
      if (this.sweepTimeouts(now)) placed = true
      this.place(true)
    }
    if (placed) this.kick()
    if (now - this.lastMetrics >= METRICS_MS) {
      this.lastMetrics = now
      this.updateQueuedMetric()
    }
  }

  /** Deadlines and queue timeouts of every unfinished task; true when a task became placeable. */
  private sweepTimeouts (now: number): boolean {
    let placeable = false
    for (const t of this.tasks.values()) {
      if (TERMINAL_STATUSES.has(t.status)) continue
      if (now - t.submittedAt > t.deadlineMs) {
        const target = t.active ?? t.offer
        if (target != null) this.cancelAttempt(target.worker, t.id, target.attempt)
        this.endAttempt(t, 'timed_out', 'total deadline passed')
        this.finish(t, 'timed_out', `total deadline of ${t.deadlineMs}ms passed`)
        continue
      }
      if (t.status === 'queued' && now - t.queuedSince > t.queueTimeoutMs) {
        const target = t.offer
        if (target != null) this.cancelAttempt(target.worker, t.id, target.attempt)
        this.finish(t, 'queue_timeout', `no worker took the task within the queue timeout of ${t.queueTimeoutMs}ms`)
        continue
      }
      if (t.status === 'queued' && t.offer == null && now >= t.notBefore) placeable = true
    }
    return placeable
  }

  private failAttempt (t: Task, outcome: 'lost' | 'timed_out', error: string): void {
    const worker = t.active?.worker
    this.endAttempt(t, outcome, error)
    if (worker != null) {
      const row = this.ledgerRow(worker)
      row.failed++
      this.components.journal.putLedger(row)
    }
    this.retryOrEnd(t, outcome === 'timed_out' ? 'timed_out' : 'failed', error, worker)
  }

  private endAttempt (t: Task, outcome: AttemptView['outcome'], error: string): void {
    if (t.active != null) {
      const a = t.active
      const h = t.history.find(x => x.attempt === a.attempt && x.worker === a.worker)
      if (h != null && h.outcome == null) { h.endedAt = Date.now(); h.outcome = outcome; h.error = error }
      this.addInflight(a.worker, -1)
      t.active = undefined
    }
    if (t.offer != null) this.dropOffer(t)
  }

  private retryOrEnd (t: Task, finalStatus: 'failed' | 'timed_out', error: string, worker?: string): void {
    if (worker != null && !t.failedOn.includes(worker)) t.failedOn.push(worker)
    if (t.attempt >= t.maxAttempts) {
      this.finish(t, finalStatus, `${error} (after ${t.attempt} attempt${t.attempt === 1 ? '' : 's'})`)
      return
    }
    t.status = 'queued'
    t.queuedSince = Date.now()
    t.refusedBy = {}
    const backoff = retryBackoffMs(t.attempt)
    t.notBefore = Date.now() + backoff
    this.queue.add(t.id)
    // place it as soon as its back-off ends, not at the next sweep
    setTimeout(() => { this.kick() }, backoff + 1).unref()
    this.record(t)
  }

  private finish (t: Task, status: TaskStatus, error?: string): void {
    if (TERMINAL_STATUSES.has(t.status)) return
    const now = Date.now()
    t.status = status
    t.error = status === 'succeeded' ? undefined : error
    t.endedAt = now
    t.durationMs = now - t.submittedAt
    this.queue.delete(t.id)
    if (t.offer != null) this.dropOffer(t)
    this.components.metrics?.tasksFinished.inc({ type: t.type, status: status as Exclude<TaskStatus, 'queued' | 'running'> })
    this.components.metrics?.taskLatency.observe({ type: t.type }, t.durationMs / 1000)
    this.record(t)
    const view = this.view(t)
    for (const w of t.waiters.splice(0)) w(view)
    // bounded memory and journal: keep the newest ended tasks, drop payloads of the rest
    this.finishedOrder.push(t.id)
    t.payload = new Uint8Array()
    while (this.finishedOrder.length > this.init.keepFinished) {
      const old = this.finishedOrder.shift()
      if (old != null && this.tasks.delete(old)) this.components.journal.forget(old)
    }
  }

  // ---- helpers -------------------------------------------------------------------------

  /**
   * A result means its slot is free again: without counting that, placement would wait for the
   * worker's next heartbeat to see it, and throughput would be bounded by the heartbeat rate.
   */
  private noteFinished (worker: string): void {
    const seq = this.components.table.get(worker)?.heartbeatSeq ?? 0n
    const e = this.finishedSinceHeartbeat.get(worker)
    if (e?.seq === seq) e.n++
    else this.finishedSinceHeartbeat.set(worker, { seq, n: 1 })
  }

  /** Running tasks on a worker as of its latest heartbeat, less those it has finished for us since. */
  private runningNow (w: TableEntry): number {
    const e = this.finishedSinceHeartbeat.get(w.peerId)
    return e?.seq === w.heartbeatSeq ? Math.max(0, w.running - e.n) : w.running
  }

  private isUnreachable (worker: string, now: number): boolean {
    return this.unreachable.size > 0 && (this.unreachable.get(worker)?.until ?? 0) > now
  }

  /** An offer could not be delivered to `worker`: no offers to it for a back-off (one mark per back-off). */
  private markUnreachable (worker: string, now = Date.now()): void {
    const u = this.unreachable.get(worker)
    // the other offers of a batch that failed together do not lengthen the wait
    if (u != null && u.until > now) return
    const failures = (u?.failures ?? 0) + 1
    this.unreachable.set(worker, { until: now + Math.min(UNREACHABLE_MAX_MS, UNREACHABLE_FIRST_MS * 2 ** (failures - 1)), failures })
    if (this.unreachable.size > 4096) this.unreachable.delete(this.unreachable.keys().next().value as string)
  }

  /** Did `worker` refuse this task (or ignore its offer) and stay silent since? */
  private refused (t: Task, worker: string): boolean {
    const at = t.refusedBy[worker]
    if (at == null) return false
    return (this.components.table.get(worker)?.lastHeartbeat ?? 0) <= at
  }

  /** Tells a worker to stop an attempt (best effort: a worker we cannot reach loses its lease anyway). */
  private cancelAttempt (worker: string, id: string, attempt: number): void {
    this.components.send(worker, { kind: 'cancel', cancel: { id, attempt } }).catch(() => {})
  }

  private addInflight (worker: string, delta: number): void {
    const n = Math.max(0, (this.inflight.get(worker) ?? 0) + delta)
    if (n === 0) this.inflight.delete(worker)
    else this.inflight.set(worker, n)
  }

  private ledgerRow (worker: string): LedgerRow {
    let row = this.ledgerRows.get(worker)
    if (row == null) {
      row = { worker, credits: 0, completed: 0, failed: 0, latencySumMs: 0 }
      this.ledgerRows.set(worker, row)
    }
    return row
  }

  /** A receipt for one task (a re-sent result of a task it completed). */
  private receipt (id: string, attempt: number, worker: string, earned: number, durationMs: number): Receipt {
    return this.signer.sign({
      id,
      attempt,
      worker: this.bytesOf(worker),
      submitter: this.selfBytes,
      credits: earned,
      durationMs,
      timestamp: BigInt(Date.now()),
      signature: new Uint8Array(),
      entries: []
    })
  }

  /**
   * Acknowledges a completing result with its receipt, within RECEIPT_WINDOW_MS. A signature costs
   * as much as the rest of a task's handling at the gateway (and its check as much at the worker),
   * and an ack frame is a socket write at each end, so the results of one worker within a window
   * share one signed receipt and one ack frame: it names the last of them and carries the
   * receipt, whose entries acknowledge all. The window is far below the lease interval after which
   * a worker re-sends a result nobody acknowledged; a full batch leaves at the end of the turn.
   */
  private ackWithReceipt (worker: string, entry: ReceiptEntry): void {
    let entries = this.pendingReceipts.get(worker)
    if (entries == null) {
      entries = []
      this.pendingReceipts.set(worker, entries)
    }
    entries.push(entry)
    if (entries.length >= RECEIPT_MAX_ENTRIES) {
      if (!this.receiptFlush) {
        this.receiptFlush = true
        atTurnEnd(() => { if (this.receiptFlush) this.flushReceipts() })
      }
      return
    }
    if (this.receiptTimer == null) {
      this.receiptTimer = setTimeout(() => { this.receiptTimer = undefined; this.flushReceipts() }, Math.min(RECEIPT_WINDOW_MS, this.init.leaseIntervalMs / 4))
      this.receiptTimer.unref()
    }
  }

  private flushReceipts (): void {
    this.receiptFlush = false
    clearTimeout(this.receiptTimer)
    this.receiptTimer = undefined
    const pending = this.pendingReceipts
    this.pendingReceipts = new Map()
    for (const [worker, entries] of pending) {
      const last = entries[entries.length - 1]
      if (last == null) continue
      const receipt = entries.length === 1
        ? this.receipt(last.id, last.attempt, worker, last.credits, last.durationMs)
        : this.signer.sign({
          id: '',
          attempt: 0,
          worker: this.bytesOf(worker),
          submitter: this.selfBytes,
          credits: entries.reduce((sum, e) => sum + e.credits, 0),
          durationMs: entries.reduce((sum, e) => sum + e.durationMs, 0),
          timestamp: BigInt(Date.now()),
          signature: new Uint8Array(),
          entries
        })
      this.components.send(worker, { kind: 'ack', ack: { id: last.id, attempt: last.attempt, duplicate: false, receipt } }).catch(() => {})
    }
  }

  private bytesOf (peer: string): Uint8Array<ArrayBuffer> {
    let bytes = this.peerBytes.get(peer)
    if (bytes == null) {
      bytes = peerIdFromString(peer).toMultihash().bytes
      if (this.peerBytes.size >= 4096) this.peerBytes.clear()
      this.peerBytes.set(peer, bytes)
    }
    return bytes
  }

  private updateQueuedMetric (): void {
    const m = this.components.metrics
    if (m == null) return
    const now = this.queuedByCapability()
    for (const cap of this.queuedCaps) if (!now.has(cap)) m.tasksQueued.set({ capability: cap }, 0)
    for (const [cap, n] of now) { m.tasksQueued.set({ capability: cap }, n); this.queuedCaps.add(cap) }
  }

  /** Journals a task and resolves once committed (a submission: the caller waits for it). */
  private persist (t: Task): Promise<void> {
    return this.components.journal.put({ id: t.id, status: t.status, json: serialize(t) })
  }

  /** Journals a change nobody waits for (progress, an end already answered from memory). */
  private record (t: Task): void {
    this.components.journal.note(t.id, () => ({ id: t.id, status: t.status, json: serialize(t) }))
  }

  private revive (json: string): Task | undefined {
    try {
      const o = JSON.parse(json) as Omit<Task, 'payload' | 'result' | 'waiters' | 'refusedBy'> & { payload: string, result?: string, refusedBy?: unknown }
      // journals written before refusals carried their time held a list: start those afresh
      const refusedBy = o.refusedBy != null && typeof o.refusedBy === 'object' && !Array.isArray(o.refusedBy) ? o.refusedBy as Record<string, number> : {}
      return { ...o, refusedBy, reported: o.reported ?? [], payload: new Uint8Array(Buffer.from(o.payload, 'base64')), result: o.result != null ? new Uint8Array(Buffer.from(o.result, 'base64')) : undefined, waiters: [], offer: undefined }
    } catch {
      return undefined
    }
  }

  private view (t: Task): TaskView {
    let result: string | undefined
    let resultEncoding: TaskView['resultEncoding']
    if (t.result != null) {
      try {
        result = UTF8.decode(t.result)
        resultEncoding = 'utf8'
      } catch {
        result = Buffer.from(t.result).toString('base64')
        resultEncoding = 'base64'
      }
    }
    return {
      id: t.id,
      type: t.type,
      status: t.status,
      requires: t.requires,
      ...(t.selector !== '' ? { selector: t.selector } : {}),
      submittedAt: t.submittedAt,
      endedAt: t.endedAt,
      attempts: t.history.length,
      maxAttempts: t.maxAttempts,
      worker: t.worker,
      result,
      resultEncoding,
      error: t.error,
      durationMs: t.durationMs,
      history: t.history.map(h => ({ ...h }))
    }
  }
}

function serialize (t: Task): string {
  const { waiters: _w, payload, result, ...rest } = t
  return JSON.stringify({ ...rest, payload: Buffer.from(payload).toString('base64'), ...(result != null ? { result: Buffer.from(result).toString('base64') } : {}) })
}

export function short (peer: string): string {
  return peer.length > 14 ? `${peer.slice(0, 6)}…${peer.slice(-6)}` : peer
}
