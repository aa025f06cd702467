/**
 * The worker side: answers offers (accept on a reserved slot, accept into the prefetch queue when
 * every slot is busy, or refuse), claims broadcast tasks it can run (jittered by load), renews the
 * lease of every attempt it holds, delivers results until the submitter acknowledges them, aborts
 * cancelled attempts, keeps signed receipts, and drains on shutdown.
 *
 * Prefetch: up to `prefetch` accepted attempts wait here for a slot, and each takes over the slot
 * of the attempt that ends before it (first come, first served), so a slot that frees starts its
 * next task at once instead of one round trip to the submitter later. With no-op tasks on 4
 * workers x 16 slots the round trip, not CPU, bounded a burst: the same burst ran 1.4x as fast
 * with twice the slots (docs/benchmarks.md, seventh session). The price is head-of-line waiting: a
 * prefetched task waits for a slot of this worker even if another worker frees one first, for at
 * most the running tasks' time. Submitters place on free slots first (matching.ts), so the queue
 * fills only once every known slot is busy; `tasks.prefetch: 0` turns it off for long tasks.
 */
import { join } from 'node:path'
import type { Executor, SlotLease } from '../executor/index.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics/index.ts'
import { atTurnEnd } from '../network/turn.ts'
import type { Ack, Receipt, Result, StreamFrame, TaskRequest } from '../protocol/codec.ts'
import { canRun, type WorkerInfo } from './matching.ts'
import { claimDelayMs } from './policy.ts'
import { ReceiptLog, ReceiptVerifier } from './receipts.ts'
import { parseSelector, type Requirement } from './selector.ts'
import { peerIdFromBytes } from './gossip.ts'

export interface WorkerRuntimeInit {
  selfId: string
  dataDir: string
  capabilities: string[]
  labels: Record<string, string>
  leaseIntervalMs: number
  /** how long an unacknowledged result is re-sent */
  resultRetentionMs: number
  /** accepted attempts that may wait for a slot (0: refuse offers when every slot is busy) */
  prefetch?: number
}

export interface WorkerRuntimeComponents {
  executor: Executor
  logger: Logger
  metrics?: Metrics
  send: (to: string, frame: StreamFrame) => Promise<void>
  /** TaskStreams.epoch: without it, unacknowledged results are re-sent on a timer alone */
  epoch?: (to: string) => number
  /** called when running/free slots change, to publish a heartbeat promptly */
  onLoadChange: () => void
}

interface Running {
  id: string
  attempt: number
  submitter: string
  abort: AbortController
  /** the slot it runs on; undefined while it waits in the prefetch queue */
  lease?: SlotLease
  task: TaskRequest
  /** the accept is due at the end of this turn; a result ready before then stands for it */
  acceptPending: boolean
}

/**
 * A result not yet acknowledged: re-sent after `wait`, which doubles up to MAX_RESEND_MS, once the
 * stream it went out on (its send resolved in `epoch`) is gone, or QUIET_RESEND_MS after it was sent
 */
interface Unacked { submitter: string, result: Result, since: number, lastSent: number, wait: number, epoch?: number }

/** Longest wait between re-sends of an unacknowledged result */
const MAX_RESEND_MS = 4000
/**
 * A result sent on a stream that is still open is re-sent only after this long (a submitter that
 * dropped it, e.g. over its rate limit). Re-sent every few seconds instead, the results a submitter
 * had not yet read came back to it again and again while it was behind (50 workers on 2 cores: a
 * gateway seconds behind read the same results several times over and fell further behind).
 */
const QUIET_RESEND_MS = 30_000

const key = (id: string, attempt: number): string => `${id}#${attempt}`

export class WorkerRuntime {
  /** every attempt held: running on a slot, or waiting for one in `waiting` */
  private readonly running = new Map<string, Running>()
  /** prefetched attempts in the order they were accepted */
  private readonly waiting: Running[] = []
  private readonly unacked = new Map<string, Unacked>()
  /** slots reserved by claims awaiting an offer */
  private readonly claimed = new Map<string, { submitter: string, lease: SlotLease, timer: NodeJS.Timeout }>()
  private timer?: NodeJS.Timeout
  private draining = false
  private readonly verifier = new ReceiptVerifier()
  private readonly receiptLog: ReceiptLog
  /** parsed selectors by text: a burst of tasks carries a handful of distinct ones */
  private readonly selectors = new Map<string, Requirement[]>()
  creditsEarned = 0
  receipts = 0
  badReceipts = 0

  constructor (private readonly components: WorkerRuntimeComponents, private readonly init: WorkerRuntimeInit) {
    this.receiptLog = new ReceiptLog(join(init.dataDir, 'receipts.jsonl'), (err) => {
      components.logger.warn('receipts could not be written', { error: err })
    })
  }

  start (): void {
    this.timer = setInterval(() => { this.renewLeases() }, this.init.leaseIntervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    for (const r of this.running.values()) r.abort.abort(new Error('node stopping'))
    for (const c of this.claimed.values()) { clearTimeout(c.timer); c.lease.release() }
    this.claimed.clear()
    void this.receiptLog.close()
  }

  get isDraining (): boolean { return this.draining }
  /** attempts held: running, and prefetched waiting for a slot */
  get runningCount (): number { return this.running.size }
  /** prefetched attempts waiting for a slot */
  get waitingCount (): number { return this.waiting.length }
  get pendingResults (): number { return this.unacked.size }

  /** Stop taking work; resolves when running attempts have ended and their results were acknowledged, or at the deadline. */
  async drain (deadline: number): Promise<boolean> {
    this.draining = true
    this.components.onLoadChange()
    while (Date.now() < deadline && (this.running.size > 0 || this.unacked.size > 0)) {
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    return this.running.size === 0 && this.unacked.size === 0
  }

  private info (): WorkerInfo {
    const ex = this.components.executor
    return { peerId: this.init.selfId, capabilities: this.init.capabilities, labels: this.init.labels, taskTypes: ex.types(), slots: ex.slots, running: ex.running, load: 0 }
  }

  private fits (task: TaskRequest): boolean {
    try {
      let selector = this.selectors.get(task.selector)
      if (selector == null) {
        selector = parseSelector(task.selector)
        if (this.selectors.size >= 256) this.selectors.clear()
        this.selectors.set(task.selector, selector)
      }
      return canRun(this.info(), { type: task.type, requires: task.requires, selector })
    } catch {
      return false
    }
  }

  onFrame (from: string, f: StreamFrame): boolean {
    switch (f.kind) {
      case 'offer': this.onOffer(from, f.offer.task as TaskRequest); return true
      case 'reject': this.releaseClaim(key(f.reject.id, f.reject.attempt), from); return true
      case 'ack': this.onAck(from, f.ack); return true
      case 'cancel': this.onCancel(from, f.cancel.id, f.cancel.attempt); return true
      case 'accept': case 'refuse': case 'claim': case 'renew': case 'result': case 'cancelAck': return false
    }
  }

  /** A broadcast TaskRequest: claim it after a load-dependent jitter if we can run it. */
  onBroadcast (task: TaskRequest): void {
    if (this.draining || !this.fits(task)) return
    let submitter: string
    try { submitter = peerIdFromBytes(task.submitter) } catch { return }
    const k = key(task.id, task.attempt)
    if (this.claimed.has(k) || this.running.has(k)) return
    const ex = this.components.executor
    const delay = claimDelayMs(ex.running, ex.slots)
    setTimeout(() => {
      if (this.draining || this.claimed.has(k)) return
      const lease = ex.tryAcquire()
      if (lease == null) return
      // hold the slot for the offer that answers the claim; give it back if none comes
      const timer = setTimeout(() => { this.releaseClaim(k) }, 10_000)
      this.claimed.set(k, { submitter, lease, timer })
      this.components.send(submitter, { kind: 'claim', claim: { id: task.id, attempt: task.attempt, freeSlots: ex.freeSlots } })
        .catch(() => { this.releaseClaim(k) })
    }, delay).unref()
  }

  /** Gives back a slot held for a claim; `from` set: only if that peer is the claim's submitter. */
  private releaseClaim (k: string, from?: string): void {
    const c = this.claimed.get(k)
    if (c == null || (from != null && c.submitter !== from)) return
    clearTimeout(c.timer)
    this.claimed.delete(k)
    this.handOver(c.lease)
  }

  private onOffer (from: string, task: TaskRequest): void {
    const refuse = (reason: string): void => {
      this.components.send(from, { kind: 'refuse', refuse: { id: task.id, attempt: task.attempt, reason } }).catch(() => {})
    }
    let submitter: string
    try { submitter = peerIdFromBytes(task.submitter) } catch { refuse('bad submitter'); return }
    // only the submitter itself may offer its task (offers arrive on an authenticated stream)
    if (submitter !== from) { refuse('offer from a peer that is not the submitter'); return }
    const k = key(task.id, task.attempt)
    const already = this.running.get(k)
    if (already != null) {
      // a repeated offer of an attempt we run: our accept was lost (e.g. the submitter restarted
      // before journaling it); accept again so it holds the lease instead of offering elsewhere
      if (already.submitter === from) this.components.send(from, { kind: 'accept', accept: { id: task.id, attempt: task.attempt } }).catch(() => {})
      return
    }
    if (this.draining) { refuse('draining'); return }
    if (!this.fits(task)) { refuse('cannot run this task (capability, handler or selector)'); return }
    let lease: SlotLease | undefined
    const claim = this.claimed.get(k)
    if (claim?.submitter === from) {
      clearTimeout(claim.timer)
      this.claimed.delete(k)
      lease = claim.lease
    } else {
      lease = this.components.executor.tryAcquire()
    }
    if (lease == null && this.waiting.length >= (this.init.prefetch ?? 0)) { refuse('no free slot'); return }
    const run: Running = { id: task.id, attempt: task.attempt, submitter: from, abort: new AbortController(), lease, task, acceptPending: true }
    this.running.set(k, run)
    // accept at the end of the turn: a task that is done by then (most are short) answers with its
    // result alone, which the submitter takes as accept and result at once: a frame and a journal
    // write less per task
    atTurnEnd(() => {
      if (!run.acceptPending) return
      run.acceptPending = false
      this.components.send(from, { kind: 'accept', accept: { id: task.id, attempt: task.attempt } }).catch(() => {
        // the submitter cannot hear us: do not run an attempt it does not know about
        run.abort.abort(new Error('submitter unreachable'))
      })
    })
    if (lease == null) {
      this.waiting.push(run)
      return
    }
    this.components.onLoadChange()
    void this.execute(run, lease)
  }

  private async execute (run: Running, lease: SlotLease): Promise<void> {
    const k = key(run.id, run.attempt)
    const task = run.task
    run.lease = lease
    const outcome = await this.components.executor.run(task.type, task.payload, { signal: run.abort.signal, timeoutMs: task.timeoutMs > 0 ? task.timeoutMs : undefined })
    run.acceptPending = false
    this.running.delete(k)
    this.handOver(lease)
    this.components.onLoadChange()
    this.components.metrics?.taskExecution.observe({ type: task.type }, outcome.durationMs / 1000)
    if (run.abort.signal.aborted && !outcome.ok && outcome.code === 'cancelled') {
      this.components.send(run.submitter, { kind: 'cancelAck', cancelAck: { id: run.id, attempt: run.attempt } }).catch(() => {})
      return
    }
    const result: Result = outcome.ok
      ? { id: run.id, attempt: run.attempt, ok: true, output: outcome.output as Uint8Array<ArrayBuffer>, error: '', code: '', durationMs: outcome.durationMs }
      : { id: run.id, attempt: run.attempt, ok: false, output: new Uint8Array(), error: outcome.error, code: outcome.code, durationMs: outcome.durationMs }
    this.unacked.set(k, { submitter: run.submitter, result, since: Date.now(), lastSent: 0, wait: this.init.leaseIntervalMs })
    this.deliver(k)
  }

  /**
   * A slot that frees goes to the first prefetched attempt, before a claim or an offer could take
   * it: while any attempt waits, no slot is free. (One no longer held, after stop(), is skipped.)
   */
  private handOver (lease: SlotLease): void {
    while (this.waiting.length > 0) {
      const next = this.waiting.shift()
      if (next != null && this.running.get(key(next.id, next.attempt)) === next) {
        void this.execute(next, lease)
        return
      }
    }
    lease.release()
  }

  private deliver (k: string): void {
    const u = this.unacked.get(k)
    if (u == null) return
    u.lastSent = Date.now()
    u.epoch = undefined
    this.components.send(u.submitter, { kind: 'result', result: u.result }).then(() => {
      u.epoch = this.components.epoch?.(u.submitter)
    }, err => {
      this.components.logger.debug('result not delivered yet; will retry', { task: u.result.id, error: err })
    })
  }

  /** An ack stops the re-sending of its result; one whose receipt lists entries acknowledges them all. */
  private onAck (from: string, ack: Ack): void {
    const entries = ack.receipt != null && ack.receipt.entries.length > 0 ? ack.receipt.entries : [ack]
    let pending = false
    for (const e of entries) {
      const k = key(e.id, e.attempt)
      if (this.unacked.get(k)?.submitter !== from) continue
      this.unacked.delete(k)
      pending = true
    }
    if (pending && ack.receipt != null && !ack.duplicate) void this.keepReceipt(from, ack.receipt)
  }

  private async keepReceipt (submitter: string, receipt: Receipt): Promise<void> {
    try {
      if (!await this.verifier.verify(receipt, submitter, this.init.selfId)) { this.badReceipts++; return }
      // one task, or every task in entries (results acknowledged together share one signature)
      const entries = receipt.entries.length > 0 ? receipt.entries : [receipt]
      let credits = 0
      for (const e of entries) credits += Number.isFinite(e.credits) && e.credits > 0 ? e.credits : 0
      this.receipts += entries.length
      this.creditsEarned += credits
      this.components.metrics?.creditsEarned.inc(credits)
      // one line per signed receipt: what the signature covers, re-encodable to check it
      const line = JSON.stringify({
        ...(receipt.entries.length > 0
          ? { entries: receipt.entries.map(e => ({ id: e.id, attempt: e.attempt, credits: e.credits, duration_ms: e.durationMs })) }
          : { id: receipt.id, attempt: receipt.attempt, duration_ms: receipt.durationMs }),
        submitter,
        credits: receipt.credits,
        timestamp: Number(receipt.timestamp),
        signature: Buffer.from(receipt.signature).toString('base64')
      })
      this.receiptLog.append(line)
    } catch (err) {
      this.badReceipts++
      this.components.logger.debug('receipt rejected', { error: err })
    }
  }

  private onCancel (from: string, id: string, attempt: number): void {
    const k = key(id, attempt)
    this.releaseClaim(k, from)
    const run = this.running.get(k)
    if (run?.submitter === from && run.lease == null) {
      // prefetched, not started: forget it and say so
      this.running.delete(k)
      const i = this.waiting.indexOf(run)
      if (i >= 0) this.waiting.splice(i, 1)
      this.components.send(from, { kind: 'cancelAck', cancelAck: { id, attempt } }).catch(() => {})
    } else if (run?.submitter === from) {
      run.abort.abort(new Error('cancelled by the submitter'))
    } else {
      this.components.send(from, { kind: 'cancelAck', cancelAck: { id, attempt } }).catch(() => {})
    }
  }

  /** One Renew per submitter with all its running attempts; unacknowledged results are re-sent. */
  private renewLeases (): void {
    const bySubmitter = new Map<string, { ids: string[], attempts: number[] }>()
    for (const r of this.running.values()) {
      const e = bySubmitter.get(r.submitter) ?? { ids: [], attempts: [] }
      e.ids.push(r.id)
      e.attempts.push(r.attempt)
      bySubmitter.set(r.submitter, e)
    }
    for (const [to, renew] of bySubmitter) {
      this.components.send(to, { kind: 'renew', renew }).catch(() => {})
    }
    const now = Date.now()
    for (const [k, u] of this.unacked) {
      if (now - u.since > this.init.resultRetentionMs) { this.unacked.delete(k); continue }
      // re-send only what went unacknowledged for a whole wait, not a result sent a moment ago; the
      // wait doubles, so a submitter too busy to read (or ack) is not handed the same results again
      // every interval while it catches up
      if (now - u.lastSent < u.wait) continue
      const onItsWay = u.epoch !== undefined && this.components.epoch?.(u.submitter) === u.epoch
      if (onItsWay && now - u.lastSent < QUIET_RESEND_MS) continue
      this.deliver(k)
      u.wait = Math.min(u.wait * 2, MAX_RESEND_MS)
    }
  }
}
