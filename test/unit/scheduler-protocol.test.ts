/**
 * The submitter and the worker runtime on their own, their dependency bags built by hand: frames
 * they send are captured, frames they receive are written by the test. This pins the lifecycle
 * rules that real networks only hit by timing: re-sent results, late results, refusals, claims,
 * renewals of unknown attempts, restarts from the journal, and the broadcast budget.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, beforeEach, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { Executor } from '../../src/executor/index.ts'
import type { SubmitRequest, TaskView } from '../../src/node-api.ts'
import { silentLogger } from '../../src/logger.ts'
import { Receipt, WIRE_VERSION, type StreamFrame, type TaskRequest } from '../../src/protocol/codec.ts'
import { CapabilityTable } from '../../src/scheduler/capability-table.ts'
import { Journal } from '../../src/scheduler/journal.ts'
import { leaseTimeoutMs } from '../../src/scheduler/policy.ts'
import { RECEIPT_WINDOW_MS, Submitter, type SubmitterInit } from '../../src/scheduler/submitter.ts'
import { WorkerRuntime } from '../../src/scheduler/worker-runtime.ts'
import { ReceiptSigner } from '../../src/scheduler/receipts.ts'
import { waitFor } from '../utils/wait.ts'

interface Sent { to: string, frame: StreamFrame, at?: number }

const LEASE_MS = 100
const INIT: SubmitterInit = {
  network: 'test-net',
  selfId: '',
  maxAttempts: 3,
  queueTimeoutMs: 60_000,
  deadlineMs: 60_000,
  maxPayloadBytes: 1024 * 1024,
  leaseIntervalMs: LEASE_MS,
  offerTimeoutMs: 400,
  noWorkerGraceMs: 300,
  weights: {},
  keepFinished: 100
}

/** Lets callbacks queued with setImmediate (the end of this turn) run. */
async function nextTurn (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

/** Acks and receipts of one worker's results go out together at the end of a window. */
async function receiptWindow (): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, RECEIPT_WINDOW_MS * 2))
}

async function peer (): Promise<{ key: PrivateKey, id: string }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

class SubmitterHarness {
  readonly sent: Sent[] = []
  /** workers frames cannot reach: each send fails at once, or never settles (a dial that hangs) */
  readonly down = new Map<string, 'fail' | 'hang'>()
  /** frames sent to a worker while it was down (not in `sent`) */
  readonly undelivered: Sent[] = []
  readonly broadcasts: TaskRequest[] = []
  readonly table = new CapabilityTable(60_000)
  submitter: Submitter
  journal: Journal
  private hbSeq = 1n

  constructor (readonly dir: string, readonly self: { key: PrivateKey, id: string }, readonly init: Partial<SubmitterInit> = {}) {
    this.journal = new Journal(dir)
    this.submitter = this.build()
  }

  build (): Submitter {
    return new Submitter({
      table: this.table,
      journal: this.journal,
      logger: silentLogger,
      privateKey: this.self.key,
      send: async (to, frame) => {
        const down = this.down.get(to)
        if (down == null) { this.sent.push({ to, frame, at: Date.now() }); return }
        this.undelivered.push({ to, frame, at: Date.now() })
        if (down === 'fail') throw new Error(`${to} is unreachable`)
        await new Promise<never>(() => {})
      },
      broadcast: async (_cap, request) => { this.broadcasts.push(request) },
      publishResult: () => {},
      rttMs: () => undefined
    }, { ...INIT, selfId: this.self.id, ...this.init })
  }

  /** Stops this submitter and starts another on the same journal, as a restart would. */
  restart (): void {
    this.submitter.stop()
    this.journal.close()
    this.journal = new Journal(this.dir)
    this.submitter = this.build()
    this.submitter.start()
  }

  worker (id: string, extra: { slots?: number, labels?: Record<string, string>, types?: string[] } = {}): void {
    const types = extra.types ?? ['compute', 'sleep']
    this.table.advertise({ peerId: id, role: 'worker', capabilities: types, labels: extra.labels ?? {}, taskTypes: types, slots: extra.slots ?? 4, addrs: [], seq: 1n })
  }

  heartbeat (id: string, running = 0, freeSlots = 4): void {
    this.table.heartbeat({ peerId: id, seq: this.hbSeq++, running, freeSlots, queue: 0, load: running / 4 })
    this.submitter.kick()
  }

  frames (kind: StreamFrame['kind'], to?: string): Sent[] {
    return this.sent.filter(s => s.frame.kind === kind && (to == null || s.to === to))
  }

  async offerFor (id: string, attempt: number): Promise<Sent> {
    return waitFor(() => this.sent.find(s => s.frame.kind === 'offer' && s.frame.offer.task?.id === id && s.frame.offer.task.attempt === attempt), {
      timeoutMs: 10_000, what: `an offer of ${id} attempt ${attempt}`, describe: () => this.sent.map(s => s.frame.kind)
    })
  }

  /** Starts the submitter with `worker` advertised and submits `request`; returns once the worker accepted attempt 1. */
  async accepted (worker: string, request: SubmitRequest = { type: 'compute', payload: 'x' }): Promise<TaskView> {
    this.worker(worker)
    this.submitter.start()
    const task = await this.submitter.submit(request)
    await this.offerFor(task.id, 1)
    this.submitter.onFrame(worker, { kind: 'accept', accept: { id: task.id, attempt: 1 } })
    return task
  }

  result (from: string, id: string, attempt: number, ok = true, durationMs = 5): void {
    this.submitter.onFrame(from, {
      kind: 'result',
      result: ok
        ? { id, attempt, ok: true, output: new TextEncoder().encode('out'), error: '', code: '', durationMs }
        : { id, attempt, ok: false, output: new Uint8Array(), error: 'boom', code: 'handler_error', durationMs }
    })
  }
}

/** The scheduler's timers are unref'd (the node's sockets keep it alive); here a test must. */
function keepAlive (): () => void {
  const timer = setInterval(() => {}, 1000)
  return () => { clearInterval(timer) }
}

describe('Submitter', () => {
  let dir = ''
  let h: SubmitterHarness
  let w1: { key: PrivateKey, id: string }
  let w2: { key: PrivateKey, id: string }
  let release = (): void => {}

  beforeEach(async () => {
    release = keepAlive()
    dir = await mkdtemp(join(tmpdir(), 'p2p-submitter-'))
    h = new SubmitterHarness(dir, await peer())
    w1 = await peer()
    w2 = await peer()
  })

  afterEach(async () => {
    release()
    h.submitter.stop()
    h.journal.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('ticks once a second while idle and ten times a second once a task is queued or in flight', async () => {
    let ticks = 0
    const sub = h.submitter as unknown as { tick: () => void }
    const tick = sub.tick.bind(h.submitter)
    sub.tick = () => { ticks++; tick() }
    h.submitter.start()
    await new Promise(resolve => setTimeout(resolve, 450))
    assert.equal(ticks, 0, 'no tick in the first 450 ms of an idle submitter')
    h.worker(w1.id)
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    await h.offerFor(t.id, 1)
    const before = ticks
    await new Promise(resolve => setTimeout(resolve, 900))
    // ~9 at the busy rate; an idle timer would give at most 1
    assert.ok(ticks - before >= 3, `${ticks - before} ticks in 900 ms with an offer in flight`)
  })

  it('says whether tasks wait for a worker (the news in its heartbeats) until the pass after the last one is accepted', async () => {
    h.submitter.start()
    assert.equal(h.submitter.hasQueued(), false)
    h.worker(w1.id)
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    assert.equal(h.submitter.hasQueued(), true)
    await h.offerFor(t.id, 1)
    h.submitter.onFrame(w1.id, { kind: 'accept', accept: { id: t.id, attempt: 1 } })
    assert.equal(h.submitter.counts().queued, 0)
    await waitFor(() => !h.submitter.hasQueued(), { timeoutMs: 5000, what: 'the queue to be empty after a placement pass' })
  })

  it('ends a task (cancelling its offer) when the journal cannot take it, instead of leaving it queued', async () => {
    h.worker(w1.id)
    h.submitter.start()
    const ok = await h.submitter.submit({ type: 'compute', payload: 'x' })
    assert.equal(h.frames('offer', w1.id).filter(f => f.frame.kind === 'offer' && f.frame.offer.task?.id === ok.id).length, 1)
    h.journal.close()
    await assert.rejects(h.submitter.submit({ type: 'compute', payload: 'y' }), (err: Error & { code?: string }) => err.code === 'unavailable' && /cannot journal/.test(err.message))
    const lost = h.submitter.list({ limit: 10 }).find(t => t.id !== ok.id)
    assert.equal(lost?.status, 'cancelled', 'not left queued forever')
    const offered = h.frames('offer', w1.id).some(f => f.frame.kind === 'offer' && f.frame.offer.task?.id === lost?.id)
    if (offered) assert.ok(h.frames('cancel', w1.id).some(f => f.frame.kind === 'cancel' && f.frame.cancel.id === lost?.id), 'its offer is cancelled')
    h.journal = new Journal(join(dir, 'reopened'))
  })

  it('offers, runs and completes a task, acknowledging with a signed receipt', async () => {
    h.worker(w1.id)
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    const offer = await h.offerFor(t.id, 1)
    assert.equal(offer.to, w1.id)
    h.submitter.onFrame(w1.id, { kind: 'accept', accept: { id: t.id, attempt: 1 } })
    assert.equal(h.submitter.get(t.id)?.status, 'running')
    h.result(w1.id, t.id, 1, true, 1500)
    const done = h.submitter.get(t.id)
    assert.equal(done?.status, 'succeeded')
    assert.equal(done?.result, 'out')
    assert.equal(h.frames('ack', w1.id).length, 0, 'not acknowledged at once')
    await receiptWindow()
    const [ack] = h.frames('ack', w1.id)
    assert.ok(ack?.frame.kind === 'ack')
    const receipt = ack.frame.ack.receipt
    assert.ok(receipt != null && !ack.frame.ack.duplicate)
    assert.ok(await h.self.key.publicKey.verify(Receipt.encode({ ...receipt, signature: new Uint8Array() }), receipt.signature))
    assert.ok(receipt.credits > 0)
  })

  it('does not count a re-sent result as a duplicate, and acknowledges it again with the receipt', async () => {
    const t = await h.accepted(w1.id)
    h.result(w1.id, t.id, 1)
    h.result(w1.id, t.id, 1)
    assert.equal(h.submitter.duplicates, 0)
    await receiptWindow()
    const acks = h.frames('ack', w1.id)
    assert.equal(acks.length, 2)
    for (const a of acks) {
      assert.ok(a.frame.kind === 'ack')
      assert.equal(a.frame.ack.duplicate, false)
      assert.ok(a.frame.ack.receipt != null)
    }
  })

  it('acknowledges results that arrive together with one ack and one receipt covering them all', async () => {
    h.worker(w1.id, { slots: 8 })
    h.submitter.start()
    const tasks = await Promise.all([1, 2, 3].map(async () => await h.submitter.submit({ type: 'compute', payload: 'x' })))
    for (const t of tasks) {
      await h.offerFor(t.id, 1)
      h.submitter.onFrame(w1.id, { kind: 'accept', accept: { id: t.id, attempt: 1 } })
    }
    for (const t of tasks) h.result(w1.id, t.id, 1, true, 1000)
    await receiptWindow()
    const acks = h.frames('ack', w1.id).map(a => a.frame.kind === 'ack' ? a.frame.ack : undefined)
    assert.equal(acks.length, 1, 'one ack frame')
    assert.equal(acks[0]?.id, tasks[2]?.id)
    assert.equal(acks[0]?.duplicate, false)
    const receipt = acks[0]?.receipt
    assert.ok(receipt != null)
    assert.deepEqual(receipt.entries.map(e => e.id), tasks.map(t => t.id))
    assert.ok(Math.abs(receipt.credits - receipt.entries.reduce((s, e) => s + e.credits, 0)) < 1e-9)
    assert.ok(await h.self.key.publicKey.verify(Receipt.encode({ ...receipt, signature: new Uint8Array() }), receipt.signature))
  })

  it('takes a result for an offer not yet accepted as accept and result, and only from the offered worker', async () => {
    h.worker(w1.id)
    h.worker(w2.id)
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    const offer = await h.offerFor(t.id, 1)
    const other = offer.to === w1.id ? w2.id : w1.id
    h.result(other, t.id, 1) // not offered to it: ignored
    assert.equal(h.submitter.get(t.id)?.status, 'queued')
    h.result(offer.to, t.id, 1)
    const done = h.submitter.get(t.id)
    assert.equal(done?.status, 'succeeded')
    assert.equal(done?.worker, offer.to)
    assert.deepEqual(done?.history.map(x => [x.attempt, x.worker, x.outcome]), [[1, offer.to, 'succeeded']])
    assert.equal(h.submitter.duplicates, 0)
  })

  it('caps credits at the time the attempt was held, whatever the worker reports', async () => {
    const t = await h.accepted(w1.id)
    h.result(w1.id, t.id, 1, true, 4_000_000_000)
    const entry = h.submitter.ledger().find(e => e.worker === w1.id)
    assert.ok(entry != null && entry.credits < 60, `credits ${entry?.credits}`)
  })

  it('retries an attempt whose lease expired elsewhere, and counts its late result as a duplicate', async () => {
    h.worker(w1.id)
    h.worker(w2.id)
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    const first = await h.offerFor(t.id, 1)
    const a = first.to
    const b = a === w1.id ? w2.id : w1.id
    h.submitter.onFrame(a, { kind: 'accept', accept: { id: t.id, attempt: 1 } })
    // no renewals: the lease runs out and attempt 2 goes to the other worker
    const second = await h.offerFor(t.id, 2)
    assert.equal(second.to, b, 'the retry avoids the worker where the attempt was lost')
    const lost = h.submitter.get(t.id)?.history[0]
    assert.equal(lost?.outcome, 'lost')
    assert.match(lost?.error ?? '', /lease expired/)
    h.submitter.onFrame(b, { kind: 'accept', accept: { id: t.id, attempt: 2 } })
    h.result(a, t.id, 1)
    assert.equal(h.submitter.duplicates, 1, 'the late result of the lost attempt')
    assert.equal(h.submitter.get(t.id)?.status, 'running', 'and it is not delivered')
    const dupAck = h.frames('ack', a).at(-1)
    assert.ok(dupAck?.frame.kind === 'ack' && dupAck.frame.ack.duplicate && dupAck.frame.ack.receipt == null)
    // re-sent copies of that late result (its ack was lost) are one extra execution, counted once
    h.result(a, t.id, 1)
    h.result(a, t.id, 1)
    assert.equal(h.submitter.duplicates, 1, 'copies of one late result count once')
    const copyAck = h.frames('ack', a).at(-1)
    assert.ok(copyAck?.frame.kind === 'ack' && copyAck.frame.ack.duplicate && copyAck.frame.ack.receipt == null)
    h.result(b, t.id, 2)
    const done = h.submitter.get(t.id)
    assert.equal(done?.status, 'succeeded')
    assert.equal(done?.worker, b)
    assert.deepEqual(done?.history.map(x => x.outcome), ['lost', 'succeeded'])
    // a forged result from a peer that never ran it is dropped without counting
    h.result(w2.id === a ? w1.id : (await peer()).id, t.id, 1)
    assert.equal(h.submitter.duplicates, 1)
  })

  it('keeps a lease alive while the worker renews it', async () => {
    const t = await h.accepted(w1.id, { type: 'sleep', payload: '1' })
    const until = Date.now() + 3 * leaseTimeoutMs(LEASE_MS)
    while (Date.now() < until) {
      h.submitter.onFrame(w1.id, { kind: 'renew', renew: { ids: [t.id], attempts: [1] } })
      await new Promise(resolve => setTimeout(resolve, LEASE_MS))
    }
    assert.equal(h.submitter.get(t.id)?.status, 'running')
    assert.equal(h.submitter.get(t.id)?.attempts, 1)
  })

  it('passes over a worker that refused until it heartbeats again', async () => {
    h.worker(w1.id)
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    await h.offerFor(t.id, 1)
    h.submitter.onFrame(w1.id, { kind: 'refuse', refuse: { id: t.id, attempt: 1, reason: 'no free slot' } })
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.equal(h.frames('offer').length, 1, 'not offered again while it has not shown a free slot')
    h.heartbeat(w1.id, 3, 1)
    await waitFor(() => h.frames('offer').length === 2, { timeoutMs: 5000, what: 'the offer again after a heartbeat' })
  })

  it('offers to a worker that refused again as soon as one of its results frees a slot', async () => {
    h.worker(w1.id, { slots: 2 })
    h.submitter.start()
    const t1 = await h.submitter.submit({ type: 'compute', payload: '1' })
    const t2 = await h.submitter.submit({ type: 'compute', payload: '2' })
    await h.offerFor(t1.id, 1)
    await h.offerFor(t2.id, 1)
    h.submitter.onFrame(w1.id, { kind: 'accept', accept: { id: t1.id, attempt: 1 } })
    h.submitter.onFrame(w1.id, { kind: 'refuse', refuse: { id: t2.id, attempt: 1, reason: 'no free slot' } })
    const t3 = await h.submitter.submit({ type: 'compute', payload: '3' })
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.equal(h.frames('offer').length, 2, 'nothing offered while the worker is full')
    h.result(w1.id, t1.id, 1)
    // no heartbeat: the result alone shows the slot
    await h.offerFor(t3.id, 1)
  })

  it('does not broadcast a queue while known workers return results of its kind, and does once they stall', async () => {
    h.journal.close()
    h = new SubmitterHarness(join(dir, 'progress'), h.self, { broadcastAfterMs: 1000, leaseIntervalMs: 10_000 })
    h.worker(w1.id, { slots: 1 })
    h.submitter.start()
    const tasks: TaskView[] = []
    for (let i = 0; i < 32; i++) tasks.push(await h.submitter.submit({ type: 'compute', payload: String(i) }))
    // one at a time, a result every 100 ms for three seconds (sweeps run every second, and the
    // queue waits longer than broadcastAfterMs): the queue moves, nobody is asked
    const ran: string[] = []
    for (let i = 0; i < 30; i++) {
      const offer = await waitFor(() => h.frames('offer').map(s => s.frame.kind === 'offer' ? s.frame.offer.task?.id : undefined).find(id => id != null && !ran.includes(id)), { what: 'the next offer' })
      ran.push(offer)
      h.submitter.onFrame(w1.id, { kind: 'accept', accept: { id: offer, attempt: 1 } })
      await new Promise(resolve => setTimeout(resolve, 100))
      if (i < 29) h.result(w1.id, offer, 1)
    }
    assert.equal(h.broadcasts.length, 0, 'no broadcasts while the worker returns results')
    // the worker holds its last task and returns nothing more: the rest of the queue is asked for
    const left = tasks.find(t => !ran.includes(t.id))
    assert.ok(left != null)
    await waitFor(() => h.broadcasts.find(b => b.id === left.id), { timeoutMs: 5000, what: 'a broadcast once the worker stalls' })
  })

  it('moves on when an offer goes unanswered, and does not return to the silent worker', async () => {
    h.worker(w1.id)
    h.worker(w2.id)
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    const first = await h.offerFor(t.id, 1)
    const next = await waitFor(() => h.frames('offer').find(s => s.to !== first.to), { timeoutMs: 5000, what: 'an offer to the other worker' })
    assert.ok(next.frame.kind === 'offer' && next.frame.offer.task?.attempt === 1, 'no attempt was granted: still attempt 1')
    assert.ok(h.frames('cancel', first.to).length >= 1, 'the unanswered offer is withdrawn')
    // the silent worker's late accept is answered with a cancel, not a grant
    h.submitter.onFrame(first.to, { kind: 'accept', accept: { id: t.id, attempt: 1 } })
    assert.equal(h.submitter.get(t.id)?.status, 'queued')
    // the other refuses too; the silent one heartbeats, but it ignored this task's offer: it is
    // passed over for three offer timeouts, then tried again
    const timedOutAt = h.frames('cancel', first.to)[0]?.at ?? 0
    h.submitter.onFrame(next.to, { kind: 'refuse', refuse: { id: t.id, attempt: 1, reason: 'no free slot' } })
    const again = await waitFor(() => {
      h.heartbeat(first.to)
      return h.frames('offer', first.to)[1]
    }, { timeoutMs: 10_000, intervalMs: 100, what: 'the silent worker to be tried again' })
    assert.ok((again.at ?? 0) - timedOutAt >= 3 * INIT.offerTimeoutMs - 50, `tried again ${(again.at ?? 0) - timedOutAt} ms after its offer timed out`)
  })

  it('offers again to a worker it could not reach once a back-off ends (probing it less and less often), not after a penalty per task', async () => {
    // offer timeout 5 s: the old rule kept a worker an offer could not be sent to out of that
    // task for 3 offer timeouts (15 s), so a task for a briefly unreachable worker timed out queued
    h.journal.close()
    h = new SubmitterHarness(join(dir, 'unreachable'), h.self, { offerTimeoutMs: 5000 })
    h.worker(w1.id)
    h.down.set(w1.id, 'fail')
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    // its heartbeats keep coming (gossip reaches us by other paths than our streams to it)
    const beats = setInterval(() => { h.heartbeat(w1.id) }, 100)
    try {
      const tries = (): Sent[] => h.undelivered.filter(s => s.to === w1.id && s.frame.kind === 'offer')
      await waitFor(() => tries().length >= 3, { timeoutMs: 10_000, what: 'three offers to the unreachable worker' })
      const at = tries().map(s => s.at ?? 0)
      // a back-off of 1 s, then 2 s: not an offer per heartbeat (every 100 ms)
      assert.ok(at[1]! - at[0]! >= 950, `second try ${at[1]! - at[0]!} ms after the first`)
      assert.ok(at[2]! - at[1]! >= 1950, `third try ${at[2]! - at[1]!} ms after the second`)
      assert.equal(h.submitter.get(t.id)?.status, 'queued')
      // reachable again: offered within the back-off (4 s now), accepted, done
      h.down.delete(w1.id)
      const back = Date.now()
      const offer = await waitFor(() => h.frames('offer', w1.id)[0], { timeoutMs: 8000, what: 'the offer once the worker is reachable' })
      assert.ok((offer.at ?? 0) - back <= 4500, `offered ${(offer.at ?? 0) - back} ms after it was reachable`)
      h.submitter.onFrame(w1.id, { kind: 'accept', accept: { id: t.id, attempt: 1 } })
      h.result(w1.id, t.id, 1)
      assert.equal(h.submitter.get(t.id)?.status, 'succeeded')
      assert.equal(h.submitter.get(t.id)?.attempts, 1)
    } finally {
      clearInterval(beats)
    }
  })

  it('takes an offer still undelivered at the offer timeout as the worker unreachable, not the task refused; a delivered unanswered one still keeps it out', async () => {
    h.worker(w1.id)
    h.down.set(w1.id, 'hang')
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    await waitFor(() => h.undelivered.some(s => s.frame.kind === 'cancel'), { timeoutMs: 5000, what: 'the undelivered offer to time out' })
    h.down.delete(w1.id)
    // a frame from the worker shows it reachable: its claim of the task is granted at once
    h.submitter.onFrame(w1.id, { kind: 'claim', claim: { id: t.id, attempt: 1, freeSlots: 4 } })
    assert.equal(h.frames('reject', w1.id).length, 0, 'the claim was rejected')
    const offer = await h.offerFor(t.id, 1)
    assert.equal(offer.to, w1.id)
    // this offer reached it and goes unanswered: the hostile-peer rule stands, its claims are rejected
    await waitFor(() => h.frames('cancel', w1.id).length > 0, { timeoutMs: 5000, what: 'the delivered offer to time out' })
    h.submitter.onFrame(w1.id, { kind: 'claim', claim: { id: t.id, attempt: 1, freeSlots: 4 } })
    assert.equal(h.frames('reject', w1.id).length, 1)
  })

  it('rejects claims from workers that cannot run the task or ignored its offer; grants an unknown capable one', async () => {
    const stranger = await peer()
    h.worker(w1.id, { types: ['echo'] })
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    h.submitter.onFrame(w1.id, { kind: 'claim', claim: { id: t.id, attempt: 1, freeSlots: 4 } })
    assert.equal(h.frames('reject', w1.id).length, 1, 'a known worker without the handler')
    h.submitter.onFrame(stranger.id, { kind: 'claim', claim: { id: t.id, attempt: 2, freeSlots: 4 } })
    assert.equal(h.frames('reject', stranger.id).length, 1, 'a claim of the wrong attempt')
    h.submitter.onFrame(stranger.id, { kind: 'claim', claim: { id: t.id, attempt: 1, freeSlots: 4 } })
    const offer = await h.offerFor(t.id, 1)
    assert.equal(offer.to, stranger.id, 'a worker we do not know yet may claim a broadcast task')
    // it never answers; once withdrawn, its next claim is rejected
    await waitFor(() => h.frames('cancel', stranger.id).length > 0, { timeoutMs: 5000, what: 'the offer to time out' })
    h.submitter.onFrame(stranger.id, { kind: 'claim', claim: { id: t.id, attempt: 1, freeSlots: 4 } })
    assert.equal(h.frames('reject', stranger.id).length, 2)
  })

  it('answers renewals of attempts it does not hold with cancels, and renewals of unknown ids not at all', async () => {
    const t = await h.accepted(w1.id)
    const before = h.sent.length
    h.submitter.onFrame(w2.id, { kind: 'renew', renew: { ids: Array.from({ length: 1000 }, (_, i) => `made-up-${i}`), attempts: new Array<number>(1000).fill(1) } })
    assert.equal(h.sent.length, before, 'no answer to made-up ids')
    h.submitter.onFrame(w2.id, { kind: 'renew', renew: { ids: [t.id], attempts: [1] } })
    assert.equal(h.frames('cancel', w2.id).length, 1, 'another worker runs an attempt that is not its own')
    assert.equal(h.submitter.get(t.id)?.status, 'running')
  })

  it('ends a task no known worker can run after the grace period, with the reason', async () => {
    h.worker(w1.id, { types: ['echo'] })
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    const done = await h.submitter.wait(t.id)
    assert.equal(done.status, 'no_capable_worker')
    assert.match(done.error ?? '', /no worker advertises the capabilities \[compute\]/)
    assert.ok(h.broadcasts.some(b => b.id === t.id), 'it asked workers it may not know first')
  })

  it('does not end old tasks when their worker is missing from the table only for a moment', async () => {
    h.worker(w1.id)
    h.submitter.start()
    // the worker is busy: the tasks wait
    h.heartbeat(w1.id, 4, 0)
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    await new Promise(resolve => setTimeout(resolve, INIT.noWorkerGraceMs * 2))
    // the worker drops out of the table (late heartbeats) and comes back within the grace period
    h.table.remove(w1.id)
    await new Promise(resolve => setTimeout(resolve, INIT.noWorkerGraceMs / 3))
    h.worker(w1.id)
    h.heartbeat(w1.id, 0, 4)
    await h.offerFor(t.id, 1)
    assert.equal(h.submitter.get(t.id)?.status, 'queued')
  })

  it('resumes journaled tasks after a restart: running ones keep their lease, queued ones wait for the table to refill', async () => {
    h.worker(w1.id)
    h.submitter.start()
    const running = await h.submitter.submit({ type: 'sleep', payload: '1' })
    await h.offerFor(running.id, 1)
    h.submitter.onFrame(w1.id, { kind: 'accept', accept: { id: running.id, attempt: 1 } })
    h.heartbeat(w1.id, 4, 0)
    const queued = await h.submitter.submit({ type: 'compute', payload: 'y' })
    await waitFor(() => h.submitter.get(running.id)?.status === 'running', { what: 'the first task to run' })
    // give the journal's group commit a moment, then "crash" and restart with an empty table
    await new Promise(resolve => setTimeout(resolve, 50))
    h.table.remove(w1.id)
    h.restart()
    assert.equal(h.submitter.get(running.id)?.status, 'running')
    assert.equal(h.submitter.get(queued.id)?.status, 'queued')
    // no worker known for longer than the grace period: an empty table after a restart proves nothing
    await new Promise(resolve => setTimeout(resolve, INIT.noWorkerGraceMs * 3))
    assert.equal(h.submitter.get(queued.id)?.status, 'queued')
    // the worker renews and reports: the attempt from before the restart completes the task
    h.submitter.onFrame(w1.id, { kind: 'renew', renew: { ids: [running.id], attempts: [1] } })
    h.result(w1.id, running.id, 1)
    assert.equal(h.submitter.get(running.id)?.status, 'succeeded')
    h.worker(w1.id)
    h.heartbeat(w1.id, 0, 4)
    await h.offerFor(queued.id, 1)
  })

  it('broadcasts a queue at most 10 tasks a second', async () => {
    h.submitter.start()
    const started = Date.now()
    await Promise.all(Array.from({ length: 50 }, async (_, i) => h.submitter.submit({ type: 'compute', payload: String(i) })))
    await new Promise(resolve => setTimeout(resolve, 250))
    const seconds = Math.ceil((Date.now() - started) / 1000)
    assert.ok(h.broadcasts.length >= 1 && h.broadcasts.length <= 10 * seconds, `${h.broadcasts.length} broadcasts in ${seconds} s`)
    assert.ok(h.broadcasts.every(b => b.payload.byteLength === 0 && b.payloadSize > 0), 'payloads travel in offers only')
  })

  it('dates each broadcast request when it is made, so an old task is not a stale replay to validators', async () => {
    // no worker at all for a while: the task is broadcast every 2 s until the grace period ends
    h.journal.close()
    h = new SubmitterHarness(join(dir, 'long-grace'), h.self, { noWorkerGraceMs: 30_000 })
    h.submitter.start()
    const t = await h.submitter.submit({ type: 'compute', payload: 'x' })
    const first = await waitFor(() => h.broadcasts.find(b => b.id === t.id), { what: 'the first broadcast' })
    const second = await waitFor(() => h.broadcasts.filter(b => b.id === t.id)[1], { timeoutMs: 10_000, what: 'the broadcast again' })
    assert.ok(second.created > first.created, 'a fresh timestamp each time')
    assert.ok(Number(second.created) >= t.submittedAt + 2000)
  })

  it('cancels a running task at its worker', async () => {
    const t = await h.accepted(w1.id, { type: 'sleep', payload: '100000' })
    const view = await h.submitter.cancel(t.id)
    assert.equal(view.status, 'cancelled')
    await waitFor(() => h.frames('cancel', w1.id).length === 1, { what: 'the cancel frame' })
    h.submitter.onFrame(w1.id, { kind: 'cancelAck', cancelAck: { id: t.id, attempt: 1 } })
    assert.match(h.submitter.get(t.id)?.history[0]?.error ?? '', /cancel acknowledged/)
    // a result that raced the cancel does not revive it
    h.result(w1.id, t.id, 1)
    assert.equal(h.submitter.get(t.id)?.status, 'cancelled')
  })
})

describe('WorkerRuntime', () => {
  const dirs: string[] = []
  const release = keepAlive()
  after(async () => {
    release()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  async function runtime (epoch?: () => number, prefetch = 0): Promise<{ rt: WorkerRuntime, sent: Sent[], executor: Executor, self: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-worker-rt-'))
    dirs.push(dir)
    const self = (await peer()).id
    const executor = new Executor({ handlers: { sleep: { builtin: 'sleep' }, echo: { builtin: 'echo' } }, slots: 2, defaultTimeoutMs: 10_000 })
    const sent: Sent[] = []
    const rt = new WorkerRuntime({ executor, logger: silentLogger, send: async (to, frame) => { sent.push({ to, frame, at: Date.now() }) }, epoch, onLoadChange: () => {} }, {
      selfId: self, dataDir: dir, capabilities: ['sleep', 'echo'], labels: {}, leaseIntervalMs: LEASE_MS, resultRetentionMs: 60_000, prefetch
    })
    rt.start()
    return { rt, sent, executor, self }
  }

  function offer (submitter: string, id: string, type: string, payload: string, attempt = 1): StreamFrame {
    const task: TaskRequest = {
      version: WIRE_VERSION, network: 'test-net', id, type, payload: new TextEncoder().encode(payload), payloadSize: payload.length,
      requires: [type], selector: '', timeoutMs: 10_000, attempt, maxAttempts: 3, submitter: Uint8Array.from(peerIdFromString(submitter).toMultihash().bytes), created: 1n
    }
    return { kind: 'offer', offer: { task } }
  }

  it('keeps a receipt covering several tasks once, counting every task and its credits', async () => {
    const { rt, sent, self } = await runtime()
    const s = await peer()
    try {
      for (const id of ['r1', 'r2']) rt.onFrame(s.id, offer(s.id, id, 'echo', id))
      await waitFor(() => sent.filter(x => x.frame.kind === 'result').length === 2 ? true : undefined, { timeoutMs: 5000, what: 'two results' })
      const receipt = new ReceiptSigner(s.key).sign({
        id: '', attempt: 0, worker: peerIdFromString(self).toMultihash().bytes, submitter: peerIdFromString(s.id).toMultihash().bytes,
        credits: 3, durationMs: 0, timestamp: 1n, signature: new Uint8Array(), entries: [{ id: 'r1', attempt: 1, credits: 1, durationMs: 0 }, { id: 'r2', attempt: 1, credits: 2, durationMs: 0 }]
      })
      // one ack naming the last result; its receipt's entries acknowledge both
      rt.onFrame(s.id, { kind: 'ack', ack: { id: 'r2', attempt: 1, duplicate: false, receipt } })
      await waitFor(() => rt.receipts === 2 ? true : undefined, { timeoutMs: 5000, what: 'the receipt kept', describe: () => [rt.receipts, rt.badReceipts] })
      assert.equal(rt.creditsEarned, 3)
      assert.equal(rt.badReceipts, 0)
      assert.equal(rt.pendingResults, 0, 'both results acknowledged')
      // a receipt whose entries were altered after signing is refused (r3 added to it, so the
      // ack is for a pending result and the receipt gets checked)
      const inflated = { ...receipt, entries: [...receipt.entries.map(e => ({ ...e, credits: 100 })), { id: 'r3', attempt: 1, credits: 100, durationMs: 0 }] }
      rt.onFrame(s.id, { kind: 'ack', ack: { id: 'r2', attempt: 1, duplicate: false, receipt: inflated } })
      rt.onFrame(s.id, offer(s.id, 'r3', 'echo', 'r3'))
      await waitFor(() => sent.filter(x => x.frame.kind === 'result').length === 3 ? true : undefined, { timeoutMs: 5000, what: 'a third result' })
      rt.onFrame(s.id, { kind: 'ack', ack: { id: 'r3', attempt: 1, duplicate: false, receipt: inflated } })
      await waitFor(() => rt.badReceipts === 1 ? true : undefined, { timeoutMs: 5000, what: 'the altered receipt refused' })
      assert.equal(rt.creditsEarned, 3)
    } finally {
      rt.stop()
    }
  })

  it('accepts again when an attempt it runs is offered again (its accept was lost)', async () => {
    const { rt, sent } = await runtime()
    const s = (await peer()).id
    try {
      rt.onFrame(s, offer(s, 'a', 'sleep', '100000'))
      await nextTurn() // the first accept is sent at the end of the turn
      rt.onFrame(s, offer(s, 'a', 'sleep', '100000'))
      const accepts = sent.filter(x => x.frame.kind === 'accept')
      assert.equal(accepts.length, 2)
      assert.equal(rt.runningCount, 1, 'still one attempt')
      // and another submitter offering the same id and attempt gets nothing of it
      const other = (await peer()).id
      rt.onFrame(other, offer(other, 'a', 'sleep', '100000'))
      assert.equal(sent.filter(x => x.frame.kind === 'accept').length, 2)
    } finally {
      rt.stop()
    }
  })

  it('refuses offers in another submitter\'s name and beyond its slots', async () => {
    const { rt, sent } = await runtime()
    const s = (await peer()).id
    const mallory = (await peer()).id
    try {
      rt.onFrame(mallory, offer(s, 'x', 'sleep', '100000'))
      assert.match(JSON.stringify(sent.at(-1)?.frame), /not the submitter/)
      rt.onFrame(s, offer(s, 'b1', 'sleep', '100000'))
      rt.onFrame(s, offer(s, 'b2', 'sleep', '100000'))
      rt.onFrame(s, offer(s, 'b3', 'sleep', '100000'))
      const last = sent.at(-1)?.frame
      assert.ok(last?.kind === 'refuse' && last.refuse.id === 'b3' && /no free slot/.test(last.refuse.reason))
      // a cancel from someone else leaves the attempt alone
      rt.onFrame(mallory, { kind: 'cancel', cancel: { id: 'b1', attempt: 1 } })
      assert.equal(rt.runningCount, 2)
    } finally {
      rt.stop()
    }
  })

  it('with prefetch, accepts offers beyond its slots, runs them in order as slots free, renews them, and forgets a cancelled one', async () => {
    const { rt, sent, executor } = await runtime(undefined, 2)
    const s = (await peer()).id
    const kinds = (id: string): string[] => sent.filter(x => JSON.stringify(x.frame).includes(`"${id}"`)).map(x => x.frame.kind)
    try {
      // 2 slots busy with short sleeps, 2 prefetched behind them, the fifth refused
      for (const id of ['p1', 'p2']) rt.onFrame(s, offer(s, id, 'sleep', '150'))
      for (const id of ['q1', 'q2', 'q3']) rt.onFrame(s, offer(s, id, 'echo', id))
      await nextTurn()
      assert.deepEqual(kinds('q1'), ['accept'], 'prefetched: accepted, not run')
      assert.deepEqual(kinds('q2'), ['accept'])
      assert.ok(kinds('q3').includes('refuse'), 'beyond slots and prefetch: refused')
      assert.equal(executor.running, 2, 'only the slots run')
      assert.equal(rt.runningCount, 4)
      assert.equal(rt.waitingCount, 2)
      // a cancelled prefetched attempt is answered at once and never runs
      rt.onFrame(s, { kind: 'cancel', cancel: { id: 'q2', attempt: 1 } })
      assert.deepEqual(kinds('q2'), ['accept', 'cancelAck'])
      assert.equal(rt.runningCount, 3)
      assert.equal(rt.waitingCount, 1, 'its place is free again')
      // the lease renewal covers the prefetched attempt too
      await waitFor(() => sent.some(x => x.frame.kind === 'renew' && x.frame.renew.ids.includes('q1')) ? true : undefined, { timeoutMs: 5000, what: 'a renewal naming q1' })
      // q1 runs on the first slot that frees, after p1 or p2 ended, and q2 never does
      await waitFor(() => kinds('q1').includes('result') ? true : undefined, { timeoutMs: 5000, what: 'q1 run once a slot freed' })
      const resultAt = (id: string): number => sent.find(x => x.frame.kind === 'result' && x.frame.result.id === id)?.at ?? Number.NaN
      assert.ok(resultAt('q1') >= Math.min(resultAt('p1'), resultAt('p2')), 'q1 waited for a slot')
      await nextTurn()
      assert.deepEqual(kinds('q2'), ['accept', 'cancelAck'], 'the cancelled attempt never ran')
      assert.equal(rt.waitingCount, 0)
      await waitFor(() => executor.running === 0 && rt.runningCount === 0 ? true : undefined, { timeoutMs: 5000, what: 'every slot given back' })
      // the slots are free again: two new offers both run at once
      for (const id of ['r1', 'r2']) rt.onFrame(s, offer(s, id, 'sleep', '100000'))
      assert.equal(executor.running, 2)
    } finally {
      rt.stop()
    }
  })

  it('re-sends a result only after an interval without an ack, waiting twice as long each time', async () => {
    const { rt, sent } = await runtime()
    const s = (await peer()).id
    try {
      rt.onFrame(s, offer(s, 'e', 'echo', 'hi'))
      const results = await waitFor(() => {
        const r = sent.filter(x => x.frame.kind === 'result')
        return r.length >= 3 ? r : undefined
      }, { what: 'the result to be re-sent twice' })
      const gap = (results[1]?.at ?? 0) - (results[0]?.at ?? 0)
      assert.ok(gap >= LEASE_MS, `re-sent ${gap} ms after sending: not at the next tick right after sending`)
      const gap2 = (results[2]?.at ?? 0) - (results[1]?.at ?? 0)
      assert.ok(gap2 >= 2 * LEASE_MS, `re-sent again ${gap2} ms later: the wait doubles`)
      rt.onFrame(s, { kind: 'ack', ack: { id: 'e', attempt: 1, duplicate: true } })
      const n = sent.filter(x => x.frame.kind === 'result').length
      await new Promise(resolve => setTimeout(resolve, LEASE_MS * 4))
      assert.equal(sent.filter(x => x.frame.kind === 'result').length, n, 'acknowledged: no more re-sends')
      assert.equal(rt.pendingResults, 0)
    } finally {
      rt.stop()
    }
  })

  it('does not re-send a result while the stream it went out on is open; does once that stream is gone', async () => {
    let epoch = 1
    const { rt, sent } = await runtime(() => epoch)
    const s = (await peer()).id
    try {
      rt.onFrame(s, offer(s, 'q', 'echo', 'hi'))
      await waitFor(() => sent.find(x => x.frame.kind === 'result'), { what: 'the result' })
      await new Promise(resolve => setTimeout(resolve, LEASE_MS * 6))
      assert.equal(sent.filter(x => x.frame.kind === 'result').length, 1, 'on its way: not sent again')
      epoch++ // the stream closed (a reset, a new connection)
      await waitFor(() => sent.filter(x => x.frame.kind === 'result').length === 2 ? true : undefined, { timeoutMs: 5000, what: 'the result re-sent on the new stream' })
      assert.equal(rt.pendingResults, 1, 'still unacknowledged')
    } finally {
      rt.stop()
    }
  })
})
