/**
 * Failure detection with real processes on 127.0.0.1: a worker killed with SIGKILL mid-task, a
 * worker frozen with SIGSTOP (its connections stay open, only its lease tells), and the submitting
 * node killed with SIGKILL and restarted on the same data_dir. Tasks are driven over the HTTP API.
 *
 * One network serves the three tests, in order: bootstrap, a gateway (the submitter, no
 * capabilities), and four workers (one is killed in the first test, another frozen in the second).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { AttemptView, NodeStatus, TaskView } from '../../src/node-api.ts'
import { ProcessNet, type NodeProcess } from '../utils/processes.ts'
import { waitFor } from '../utils/wait.ts'

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'queue_timeout', 'no_capable_worker', 'cancelled'])

async function waitAllEnded (node: NodeProcess, ids: string[], timeoutMs: number): Promise<TaskView[]> {
  let views: TaskView[] = []
  await waitFor(async () => {
    views = await Promise.all(ids.map(async id => node.task(id)))
    return views.every(v => TERMINAL.has(v.status))
  }, {
    timeoutMs,
    intervalMs: 250,
    what: `${ids.length} tasks on ${node.init.name} to end`,
    describe: () => views.map(v => `${v.id.slice(0, 8)}:${v.status}:${v.attempts}`)
  })
  return views
}

const succeededAttempts = (t: TaskView): AttemptView[] => t.history.filter(h => h.outcome === 'succeeded')

describe('scheduler failure detection with real processes', { timeout: 600_000 }, () => {
  const net = new ProcessNet()
  let bootstrap: NodeProcess
  let gateway: NodeProcess
  const workers: NodeProcess[] = []
  const ids = new Map<NodeProcess, string>()

  before(async () => {
    // heartbeats every 2 s: leases of 3.5 s, which a loaded test machine's renewals still make
    const extra = { node: { heartbeat_interval: 2 } }
    bootstrap = await net.start({ name: 'bootstrap', role: 'bootstrap', extra })
    const peers = [bootstrap.listenAddr]
    gateway = await net.start({ name: 'gateway', role: 'bootstrap', bootstrap: peers, extra })
    for (let i = 1; i <= 4; i++) workers.push(await net.start({ name: `w${i}`, role: 'worker', bootstrap: peers, labels: { zone: `z${i}` }, extra }))
    for (const p of [bootstrap, gateway, ...workers]) ids.set(p, (await p.waitForApi(90_000)).peerId)
    await waitFor(async () => {
      const caps = await gateway.get<Array<{ peerId: string, slots: number }>>('/api/v1/capabilities')
      return workers.every(w => caps.some(c => c.peerId === ids.get(w) && c.slots === 4))
    }, { timeoutMs: 60_000, what: 'the gateway to know all four workers', describe: () => net.tails(5) })
  })

  after(async () => {
    await net.close()
  })

  /**
   * Submits sleeps on the gateway and picks as victim one of `candidates` that runs one of them
   * started less than a second ago (so it is still running when the test strikes a moment later,
   * however slow the machine). Twice as many tasks as slots: a second wave starts as the first
   * ends, another chance for a slow poll to catch a fresh start.
   */
  async function loadWorkers (count: number, payload: string, candidates: NodeProcess[]): Promise<{ tasks: TaskView[], victim: NodeProcess }> {
    const tasks = await Promise.all(Array.from({ length: count }, async () => gateway.submit({ type: 'sleep', payload })))
    const mine = new Set(tasks.map(t => t.id))
    let seen: string[] = []
    const victim = await waitFor(async () => {
      const running = await gateway.get<TaskView[]>('/api/v1/tasks?status=running&limit=1000')
      seen = running.filter(t => mine.has(t.id)).map(t => `${t.history.at(-1)?.worker.slice(-6) ?? '?'}@${Date.now() - (t.history.at(-1)?.startedAt ?? 0)}ms`)
      const fresh = running.find(t => mine.has(t.id) && Date.now() - (t.history.at(-1)?.startedAt ?? 0) < 1000 &&
        candidates.some(c => ids.get(c) === t.history.at(-1)?.worker))
      return candidates.find(c => ids.get(c) === fresh?.history.at(-1)?.worker)
    }, { timeoutMs: 120_000, intervalMs: 20, what: 'a worker to start one of the tasks', describe: () => seen })
    return { tasks, victim }
  }

  /** Attempts of a task that ran on `worker` and ended in `outcome`. */
  const attemptsOn = (t: TaskView, worker: NodeProcess, outcome: AttemptView['outcome']): AttemptView[] =>
    t.history.filter(h => h.worker === ids.get(worker) && h.outcome === outcome)
  /**
   * Attempts lost on live workers other than `victim`: on a badly overloaded machine a renewal can
   * be late by more than the lease, and at-least-once execution then legitimately runs the task
   * again. The tests allow for those and check everything else exactly.
   */
  const spurious = (t: TaskView, victim: NodeProcess): number =>
    t.history.filter(h => h.worker !== ids.get(victim) && h.outcome === 'lost' && /lease expired/.test(h.error ?? '')).length

  it('retries the tasks of a worker killed with SIGKILL elsewhere; every task succeeds once', async () => {
    const { tasks, victim } = await loadWorkers(32, '2000', workers)
    const victimId = ids.get(victim)
    await victim.kill()
    const done = await waitAllEnded(gateway, tasks.map(t => t.id), 180_000)
    let lost = 0
    let late = 0
    for (const t of done) {
      const history = JSON.stringify(t.history)
      assert.equal(t.status, 'succeeded', `${t.id}: ${t.status} ${t.error ?? ''} ${history}`)
      assert.equal(t.result, 'slept 2000ms')
      assert.equal(succeededAttempts(t).length, 1, `completed once: ${history}`)
      assert.equal(t.history.at(-1)?.outcome, 'succeeded', history)
      late += spurious(t, victim)
      if (attemptsOn(t, victim, 'lost').length > 0) {
        lost++
        assert.equal(t.attempts, 2 + spurious(t, victim), `a task lost with the worker ran twice: ${history}`)
        assert.equal(t.history[0]?.worker, victimId)
        assert.equal(t.history[0]?.outcome, 'lost')
        assert.match(t.history[0]?.error ?? '', /connection to worker .* lost|lease expired/)
        assert.notEqual(t.worker, victimId)
      } else {
        assert.equal(t.attempts, 1 + spurious(t, victim), history)
      }
    }
    assert.ok(lost >= 1, 'the victim was running a task when it was killed')
    // a dead worker reports nothing: only an attempt lost on a live, late worker can come back late
    assert.ok(await gateway.metric('p2p_task_duplicate_results_total') <= late)
  })

  it('detects a SIGSTOPped worker by its lease, retries elsewhere, and counts its late results as duplicates', async () => {
    const duplicatesBefore = await gateway.metric('p2p_task_duplicate_results_total')
    const { tasks, victim } = await loadWorkers(24, '2000', workers.filter(w => w.running))
    const victimId = ids.get(victim)
    victim.signal('SIGSTOP')
    let lost: TaskView[] = []
    try {
      const done = await waitAllEnded(gateway, tasks.map(t => t.id), 180_000)
      for (const t of done) {
        assert.equal(t.status, 'succeeded', `${t.id}: ${t.status} ${t.error ?? ''}`)
        assert.equal(succeededAttempts(t).length, 1)
      }
      // the connections stay open: the lease tells (or libp2p's connection monitor, whose pings go
      // unanswered too, hangs up first)
      lost = done.filter(t => attemptsOn(t, victim, 'lost').length > 0)
      assert.ok(lost.length >= 1, 'the frozen worker was running a task')
      for (const t of lost) {
        const frozen = t.history.find(h => h.worker === victimId)
        assert.equal(frozen?.outcome, 'lost')
        assert.match(frozen?.error ?? '', /lease expired|connection to worker .* lost/)
        assert.equal(t.history.at(-1)?.outcome, 'succeeded')
        assert.equal(t.attempts, 2 + spurious(t, victim), JSON.stringify(t.history))
        assert.notEqual(t.worker, victimId, 'the frozen worker cannot have completed it')
      }
    } finally {
      victim.signal('SIGCONT')
    }
    // thawed, the worker finishes the sleeps it had and reports them: late, so duplicates
    // (at least one: an attempt whose lease ran out before the freeze, on a machine too loaded for
    // its renewals, may have been cancelled rather than finished)
    let duplicates = 0
    await waitFor(async () => {
      duplicates = await gateway.metric('p2p_task_duplicate_results_total') - duplicatesBefore
      return duplicates >= 1
    }, {
      timeoutMs: 60_000,
      what: 'the late results to be counted as duplicates',
      describe: () => ({ duplicates, lost: lost.map(t => t.history), victim: victim.tail(40), gateway: gateway.tail(20) })
    })
    for (const t of lost) {
      const now = await gateway.task(t.id)
      assert.equal(now.status, 'succeeded')
      assert.equal(now.worker, t.worker, 'a late result is not delivered')
      assert.equal(succeededAttempts(now).length, 1)
    }
    // and the thawed worker serves again
    const back = await gateway.submit({ type: 'echo', payload: 'thawed', selector: `zone=${victim.init.labels?.zone ?? '?'}` })
    const [echoed] = await waitAllEnded(gateway, [back.id], 60_000)
    assert.equal(echoed?.status, 'succeeded', echoed?.error)
    assert.equal(echoed?.worker, victimId)
  })

  it('resumes 50 in-flight tasks after the submitting node is killed with SIGKILL and restarted', async () => {
    const base = (await gateway.get<NodeStatus>('/api/v1/status')).tasks.succeeded
    const tasks = await Promise.all(Array.from({ length: 50 }, async () => gateway.submit({ type: 'sleep', payload: '500' })))
    // kill it with work done, running and still queued
    await waitFor(async () => (await gateway.get<NodeStatus>('/api/v1/status')).tasks.succeeded >= base + 10, {
      timeoutMs: 30_000, intervalMs: 50, what: 'some of the 50 tasks to complete'
    })
    const status = await gateway.get<NodeStatus>('/api/v1/status')
    await gateway.kill()
    assert.ok(status.tasks.queued + status.tasks.running > 0, `nothing was in flight at the kill: ${JSON.stringify(status.tasks)}`)
    gateway.start()
    const restarted = await gateway.waitForApi(90_000)
    assert.equal(restarted.peerId, ids.get(gateway), 'the same identity from the same data_dir')
    const done = await waitAllEnded(gateway, tasks.map(t => t.id), 120_000)
    for (const t of done) {
      assert.equal(t.status, 'succeeded', `${t.id}: ${t.status} ${t.error ?? ''} ${JSON.stringify(t.history)}`)
      assert.equal(t.result, 'slept 500ms')
      assert.equal(succeededAttempts(t).length, 1, JSON.stringify(t.history))
    }
  })
})
