/**
 * Issue 6, faults, with real node processes in network namespaces (test/reliability/cluster.ts):
 * two bootstraps, a submitting client and workers on a WAN.
 *
 * - a worker's link is cut for 30 s (iptables DROP both ways) while it runs tasks, then restored:
 *   the tasks complete elsewhere, and its late results are counted as duplicates only;
 * - a bootstrap is killed: the network keeps scheduling, and a new worker joins through the second
 *   bootstrap;
 * - every worker is restarted in turn (SIGTERM, drain, start again) under a steady task stream:
 *   nothing is lost and each shutdown ends within its grace period;
 * - (in-process) a node that lost every peer re-bootstraps once its bootstrap is back.
 *
 * Every scenario reports submitted, succeeded, lost (accepted but never ended) and completed twice.
 * P2P_LONG=1: the 30 s cut (12 s by default) and three rounds of rolling restarts (one by default).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { listNamespaces, netnsSupport } from '../hosts/netns.ts'
import { Cluster, poll, report, type AgentInfo, type TaskSummary } from '../reliability/cluster.ts'
import { TestNet, addrOf, connected, until } from '../utils/nodes.ts'

const support = netnsSupport()
const skip = support.ok ? false : support.reason
const LONG = process.env.P2P_LONG === '1'
/** the cable cut: 30 s as issue 6 asks with P2P_LONG=1 (docs/reliability.md has those figures); 12 s by default, to keep npm test short */
const CUT_MS = LONG ? 30_000 : 12_000
/** P2P_DRAIN_MS the cluster gives its nodes, plus libp2p's stop timeout and slack */
const GRACE_MS = 5_000 + 5_000

const lost = (s: TaskSummary): number => s.notEnded

describe('reliability: link cut, bootstrap loss, rolling restart (netns)', { skip, timeout: 480_000 }, () => {
  let c: Cluster | undefined
  const cl = (): Cluster => { assert.ok(c != null, 'the cluster did not start'); return c }
  const workers = ['w1', 'w2', 'w3']

  before(async () => {
    c = await Cluster.create(process.env.RELIABILITY_VERBOSE != null ? (l) => { process.stderr.write(`${l}\n`) } : undefined)
    const hosts = Object.fromEntries(await Promise.all(['boot1', 'boot2', 'client', 'w1', 'w2', 'w3', 'w4'].map(async n => [n, await c!.wanHost(n)] as const)))
    await c.start({ name: 'boot1', role: 'bootstrap', kind: 'binary', host: hosts.boot1! })
    await c.start({ name: 'boot2', role: 'bootstrap', kind: 'binary', host: hosts.boot2! })
    await c.start({ name: 'client', role: 'bootstrap', kind: 'agent', host: hosts.client! })
    for (const [i, w] of workers.entries()) {
      await c.start({ name: w, role: 'worker', kind: 'binary', host: hosts[w]!, config: { node: { labels: { zone: String(i + 1) } } } })
    }
    // w4 joins later (bootstrap loss)
    ;(c as unknown as { spareHost: typeof hosts.w4 }).spareHost = hosts.w4
    await poll('the client to know the three workers', 60_000, async () => (await c!.call<AgentInfo>('client', 'info')).workersKnown.length >= 3, 500)
  })

  after(async () => {
    const bed = c?.bed
    await c?.teardown()
    if (bed != null) assert.deepEqual(listNamespaces().filter(ns => ns.startsWith(bed.prefix)), [])
  })

  it(`a worker's link is cut for ${CUT_MS / 1000} s while it runs tasks: they complete elsewhere; its late results are duplicates only`, async (t) => {
    const c = cl()
    // 12 tasks of 3 s on 3 workers x 4 slots: w1 runs about four of them when its cable is cut
    const ids = await c.call<string[]>('client', 'submit', { type: 'sleep', payload: '3000', count: 12, maxAttempts: 5 })
    await poll('w1 to run some of them', 20_000, async () => {
      const tasks = await c.call<Array<{ status: string, history: Array<{ worker: string }> }>>('client', 'tasks', { ids })
      return tasks.some(x => x.status === 'running' && x.history.at(-1)?.worker === c.node('w1').peerId)
    }, 200)
    const onW1 = (await c.call<Array<{ id: string, status: string, history: Array<{ worker: string }> }>>('client', 'tasks', { ids }))
      .filter(x => x.status === 'running' && x.history.at(-1)?.worker === c.node('w1').peerId).map(x => x.id)
    await c.cutLink(c.node('w1').spec.host)
    const cutAt = Date.now()
    const whileCut = await c.call<TaskSummary>('client', 'wait', { ids, timeoutMs: CUT_MS - 1000 })
    const doneDuringCutMs = Date.now() - cutAt
    await new Promise(resolve => setTimeout(resolve, Math.max(0, CUT_MS - (Date.now() - cutAt))))
    await c.restoreLink(c.node('w1').spec.host)
    // w1 comes back (re-bootstrap back-off) and re-sends the results nobody acknowledged
    const dup = await poll('w1\'s late results to arrive as duplicates', 90_000, async () => {
      const s = await c.call<TaskSummary>('client', 'summary', { ids })
      return s.lateDuplicates >= 1 ? s : undefined
    }, 500).catch(async () => await c.call<TaskSummary>('client', 'summary', { ids }))
    const tasks = await c.call<Array<{ id: string, worker: string, history: Array<{ worker: string, outcome?: string, endedAt?: number }> }>>('client', 'tasks', { ids })
    report(t, `link-cut-${CUT_MS / 1000}s`, {
      submitted: whileCut.submitted,
      succeeded: dup.succeeded,
      lost: lost(dup),
      completed_twice: dup.completedTwice,
      // copies of late results acknowledged as duplicates: the worker queues a re-send every lease
      // interval while the link is down, and every queued copy arrives once it is back
      late_result_copies: dup.lateDuplicates,
      tasks_on_w1_when_cut: onW1.length,
      all_done_during_cut_after_ms: whileCut.notEnded === 0 ? doneDuringCutMs : undefined,
      retried: dup.retried
    })
    // every task ended during the cut, on another worker
    assert.equal(whileCut.succeeded, ids.length, `not all completed during the cut: ${JSON.stringify(whileCut)}`)
    // a task w1 was running completed elsewhere, unless w1's result got out in the moment between
    // the snapshot and the cut (then its attempt ended before the cut was in place)
    for (const x of tasks.filter(x => onW1.includes(x.id))) {
      const w1Attempt = x.history.find(h => h.worker === c.node('w1').peerId)
      assert.ok(x.worker !== c.node('w1').peerId || (w1Attempt?.endedAt ?? Infinity) <= cutAt + 500, `${x.id} completed by w1 during the cut`)
    }
    assert.equal(lost(dup), 0)
    assert.equal(dup.completedTwice, 0)
    assert.ok(onW1.length >= 1)
  })

  it('a bootstrap is killed: the network keeps scheduling, and a new worker joins through the second bootstrap', async (t) => {
    const c = cl()
    const killed = await c.stop('boot1', 'SIGKILL')
    const before = await c.call<string[]>('client', 'submit', { type: 'compute', count: 20 })
    const sBefore = await c.call<TaskSummary>('client', 'wait', { ids: before, timeoutMs: 60_000 })
    // w4 lists both bootstraps; the first is dead
    const spare = (c as unknown as { spareHost: Parameters<Cluster['start']>[0]['host'] }).spareHost
    const t0 = Date.now()
    await c.start({ name: 'w4', role: 'worker', kind: 'binary', host: spare, bootstrap: ['boot1', 'boot2'], config: { node: { labels: { zone: '4' } } } })
    const joinedMs = await poll('the client to know w4', 60_000, async () =>
      (await c.call<AgentInfo>('client', 'info')).workersKnown.some(w => w.peerId === c.node('w4').peerId) ? Date.now() - t0 : undefined, 250)
    const onW4 = await c.call<string[]>('client', 'submit', { type: 'compute', count: 5, selector: 'zone=4' })
    const sW4 = await c.call<TaskSummary>('client', 'wait', { ids: onW4, timeoutMs: 60_000 })
    report(t, 'bootstrap-killed', {
      killed_exit: killed.code ?? 'SIGKILL',
      tasks_after_kill: { submitted: sBefore.submitted, succeeded: sBefore.succeeded, lost: lost(sBefore), completed_twice: sBefore.completedTwice },
      new_worker_known_after_ms: joinedMs,
      tasks_on_new_worker: { submitted: sW4.submitted, succeeded: sW4.succeeded, lost: lost(sW4), completed_twice: sW4.completedTwice }
    })
    assert.equal(sBefore.succeeded, before.length, JSON.stringify(sBefore))
    assert.equal(sW4.succeeded, onW4.length, JSON.stringify(sW4))
    await c.restart('boot1')
    // w4 only served this scenario: it leaves (drained) so the rolling restart covers w1..w3
    const left = await c.stop('w4', 'SIGTERM', 30_000)
    assert.equal(left.code, 0)
  })

  it('every worker restarts in turn (SIGTERM, drain, start) under a steady task stream: nothing lost, each shutdown within its grace', async (t) => {
    const c = cl()
    const all = workers
    // the client's duplicate counter covers its whole life: count from here
    const dup0 = (await c.call<TaskSummary>('client', 'summary', { ids: [] })).lateDuplicates
    await c.call('client', 'streamStart', { name: 'rolling', type: 'sleep', payload: '300', rate: 6, maxAttempts: 10 })
    await new Promise(resolve => setTimeout(resolve, 2000))
    const shutdowns: Record<string, number> = {}
    const rejoin: Record<string, number> = {}
    for (let round = 0; round < (LONG ? 3 : 1); round++) {
      for (const w of all) {
        const { code, ms, killed } = await c.stop(w, 'SIGTERM', 30_000)
        shutdowns[w] = Math.max(shutdowns[w] ?? 0, ms)
        assert.equal(code, 0, `${w} exited with ${code}${killed ? ' (killed after 30 s)' : ''}\n${c.tail(w)}`)
        const t0 = Date.now()
        await c.restart(w)
        rejoin[w] = await poll(`the client to see ${w} with free slots again`, 60_000, async () => {
          const info = await c.call<AgentInfo>('client', 'info')
          return info.workersKnown.some(x => x.peerId === c.node(w).peerId && x.freeSlots > 0) ? Date.now() - t0 : undefined
        }, 250)
      }
    }
    await new Promise(resolve => setTimeout(resolve, 2000))
    const ids = await c.call<string[]>('client', 'streamStop', { name: 'rolling' })
    const s = await c.call<TaskSummary>('client', 'wait', { ids, timeoutMs: 90_000, settleMs: 1000 })
    report(t, 'rolling-restart', {
      rounds: LONG ? 3 : 1,
      submitted: s.submitted,
      succeeded: s.succeeded,
      lost: lost(s),
      completed_twice: s.completedTwice,
      late_result_copies: s.lateDuplicates - dup0,
      retried: s.retried,
      shutdown_ms: shutdowns,
      grace_ms: GRACE_MS,
      restart_to_schedulable_ms: rejoin,
      latency_ms: { p50: s.p50, p95: s.p95, max: s.max }
    })
    assert.equal(lost(s), 0, JSON.stringify(s))
    assert.equal(s.succeeded, s.submitted, JSON.stringify(s))
    assert.equal(s.completedTwice, 0)
    for (const [w, ms] of Object.entries(shutdowns)) assert.ok(ms <= GRACE_MS, `${w} took ${ms} ms to shut down`)
  })
})

describe('reliability: a node that lost every peer re-bootstraps once its bootstrap is back', { timeout: 120_000 }, () => {
  const net = new TestNet()
  after(async () => { await net.close() })

  it('re-bootstraps within the back-off after the bootstrap returns', async (t) => {
    const pv = { 'network.protocol_version': 'lonely' }
    const boot = await net.start('bootstrap', 'lonely-boot', pv)
    const addr = addrOf(boot)
    const port = Number(addr.split('/tcp/')[1]!.split('/')[0])
    const n = await net.start('worker', 'lonely-node', { ...pv, 'network.bootstrap_peers': [addr], 'network.rebootstrap_backoff': 1 })
    await until('connected', () => connected(n, boot), 20_000)
    await boot.stop()
    await until('the node lost every peer', () => n.libp2p!.getConnections().length === 0, 20_000)
    const downFor = 6000
    await new Promise(resolve => setTimeout(resolve, downFor))
    const rebootstrapsWhileDown = n.discovery?.rebootstraps ?? 0
    // from the moment the bootstrap starts listening (start() resolves after that)
    const t0 = Date.now()
    const again = await net.start('bootstrap', 'lonely-boot', { ...pv, 'node.listen_port': port })
    const startMs = Date.now() - t0
    await until('the node to re-bootstrap', () => connected(n, again), 70_000, 100)
    const ms = Date.now() - t0
    // and it is a member again: capability tables refill
    await until('the bootstrap to know the worker again', () => again.table.workers().some(w => w.peerId === n.peerId), 20_000)
    report(t, 'rebootstrap', { bootstrap_down_ms: downFor, rebootstrap_attempts_while_down: rebootstrapsWhileDown, reconnected_after_bootstrap_start_ms: ms, bootstrap_start_ms: startMs, backoff_start_ms: 1000, backoff_max_ms: 60_000 })
    assert.ok(rebootstrapsWhileDown >= 1)
    assert.ok(ms <= 20_000, `re-bootstrapped ${ms} ms after the bootstrap came back`)
  })
})
