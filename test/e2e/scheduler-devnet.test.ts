/**
 * Issue 3's acceptance tests on real nodes in one process (the devnet: a bootstrap, a relay and
 * three workers labelled zone a, b and c on 127.0.0.1, plus a fourth worker with command handlers
 * that fail or hang). Placement, backpressure, selectors, unknown types, retries of failing
 * commands, timeouts, cancellation, gateways without capabilities, and the credit ledger.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { LOCAL_CONFIG_DIR, startDevnet, waitForMesh, type Devnet } from '../../src/cli/devnet.ts'
import { loadConfigFile, type ConfigOverrides } from '../../src/config/index.ts'
import { createLogger } from '../../src/logger.ts'
import type { NodeApi, TaskView } from '../../src/node-api.ts'
import { P2PNode } from '../../src/node.ts'
import { waitFor, withTimeout } from '../utils/wait.ts'

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')

/**
 * Heartbeats every 2 s (the devnet configs say 1 s): leases of 3.5 s instead of 2 s, so renewals
 * on an overloaded test machine do not run late and make attempts be retried for no reason.
 */
const OVERRIDES = { 'node.heartbeat_interval': '2s' }

/** Waits for every task to end; generous, so only a stuck scheduler hits it (and then says what it saw). */
async function waitAll (api: NodeApi, ids: string[], timeoutMs = 120_000): Promise<TaskView[]> {
  try {
    return await withTimeout(Promise.all(ids.map(async id => api.wait(id))), timeoutMs, `${ids.length} tasks to end`)
  } catch (err) {
    const workers = api.capabilities().filter(c => c.slots > 0).map(c => ({ zone: c.labels.zone, slots: c.slots, free: c.freeSlots, running: c.running, lastHeartbeat: c.lastHeartbeat != null ? Date.now() - c.lastHeartbeat : undefined }))
    const peers = api.peers().map(p => ({ role: p.role, connected: p.connected, healthy: p.healthy }))
    throw new Error(`${(err as Error).message}: ${summarize(ids.map(id => api.get(id)))}; workers as the submitter sees them ${JSON.stringify(workers)}; peers ${JSON.stringify(peers)}`, { cause: err })
  }
}

function summarize (views: Array<TaskView | undefined>): string {
  const counts: Record<string, number> = {}
  for (const v of views) counts[v?.status ?? 'missing'] = (counts[v?.status ?? 'missing'] ?? 0) + 1
  return JSON.stringify(counts)
}

/** A worker joining the devnet with its own handlers (overrides replace the devnet's). */
async function startExtraWorker (devnet: Devnet, dataDir: string, name: string, overrides: ConfigOverrides): Promise<P2PNode> {
  const config = loadConfigFile(join(LOCAL_CONFIG_DIR, 'worker.yaml'), {
    env: {},
    overrides: { 'node.data_dir': join(dataDir, name), 'network.bootstrap_peers': [devnet.bootstrapAddr], ...OVERRIDES, ...overrides }
  })
  const node = new P2PNode(config, { logger: createLogger({ level: 'warn', format: 'auto', bindings: { node: name } }), api: false })
  try {
    await node.start()
  } catch (err) {
    await node.stop().catch(() => {})
    throw err
  }
  return node
}

/** Is the process gone (or a zombie waiting for a reaper that may not exist in a container)? */
async function processGone (pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0)
  } catch {
    return true
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

describe('scheduler on an in-process devnet', { timeout: 300_000 }, () => {
  let devnet: Devnet | undefined
  let commands: P2PNode | undefined
  /** nodes a test started besides the devnet's, stopped in after() */
  const extra: P2PNode[] = []
  let dir = ''
  const net = (): Devnet => {
    assert.ok(devnet != null, 'the devnet did not start')
    return devnet
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2p-scheduler-devnet-'))
    devnet = await startDevnet({ workers: 3, api: false, overrides: OVERRIDES })
    commands = await startExtraWorker(devnet, dir, 'commands', {
      'node.labels': { zone: 'x' },
      'tasks.handlers': {
        bad: { command: ['/bin/sh', '-c', 'echo starting >&2; echo boom >&2; exit 3'] },
        // a background grandchild proves the whole process group dies on timeout
        hang: { command: ['/bin/sh', '-c', 'sleep 300 & echo $! > "$0"; wait', join(dir, 'hang.pid')] },
        // its own timeout from config applies when the task names none
        slowcmd: { command: ['/bin/sleep', '30'], timeout: '700ms' }
      }
    })
    await waitForMesh(devnet, 60_000)
    const all = [...devnet.all, commands]
    await waitFor(() => all.every(n => n.table.workers().length >= 4), { timeoutMs: 60_000, what: 'every node to know all four workers' })
  })

  after(async () => {
    for (const n of extra) await n.stop()
    await commands?.stop()
    await devnet?.stop()
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('runs 300 compute tasks submitted at once on 3 workers: right digests, fair share, never more than 4 at once', async () => {
    const { bootstrap, workers } = net()
    const payloads = Array.from({ length: 300 }, (_, i) => `payload-${i}-${'x'.repeat(i % 17)}`)
    const submitted = await Promise.all(payloads.map(async payload => bootstrap.api.submit({ type: 'compute', payload })))
    const done = await waitAll(bootstrap.api, submitted.map(t => t.id))
    const perWorker = new Map<string, number>()
    done.forEach((t, i) => {
      assert.equal(t.status, 'succeeded', `task ${i}: ${t.status} ${t.error ?? ''}`)
      assert.equal(t.result, sha256(payloads[i] as string), `task ${i} digest`)
      assert.ok(t.worker != null)
      perWorker.set(t.worker, (perWorker.get(t.worker) ?? 0) + 1)
    })
    const ids = workers.map(w => w.peerId)
    assert.deepEqual([...perWorker.keys()].filter(w => !ids.includes(w)), [], 'only devnet workers have a compute handler')
    for (const w of workers) {
      const n = perWorker.get(w.peerId) ?? 0
      assert.ok(n >= 60, `worker ${w.config.node.labels.zone} ran ${n} of 300 (want >= 20%): ${JSON.stringify([...perWorker.values()])}`)
      const max = w.executor?.maxObservedRunning ?? -1
      assert.ok(max >= 1 && max <= 4, `worker ${w.config.node.labels.zone} ran up to ${max} at once with 4 slots`)
    }
    // exactly one result completed each task; a late result can only come from an attempt lost
    // on the way (a lease that ran out on a machine too busy to renew it in time)
    const lost = done.reduce((n, t) => n + t.history.filter(h => h.outcome === 'lost').length, 0)
    for (const t of done) assert.equal(t.history.filter(h => h.outcome === 'succeeded').length, 1)
    assert.ok((bootstrap.submitter?.duplicates ?? 0) <= lost, `${bootstrap.submitter?.duplicates} duplicates, ${lost} lost attempts`)
  })

  it('runs a task with selector zone=b only on the zone=b worker', async () => {
    const { bootstrap, workers } = net()
    const zoneB = workers.find(w => w.config.node.labels.zone === 'b')
    assert.ok(zoneB != null)
    const submitted = await Promise.all(Array.from({ length: 12 }, async (_, i) => bootstrap.api.submit({ type: 'echo', payload: `b${i}`, selector: 'zone=b' })))
    const done = await waitAll(bootstrap.api, submitted.map(t => t.id))
    for (const t of done) {
      assert.equal(t.status, 'succeeded', t.error)
      assert.equal(t.worker, zoneB.peerId)
      assert.equal(t.selector, 'zone=b')
    }
    const notA = await bootstrap.api.wait((await bootstrap.api.submit({ type: 'echo', payload: 'x', selector: 'zone notin (a,b),zone in (c,x)' })).id)
    assert.equal(notA.worker, workers.find(w => w.config.node.labels.zone === 'c')?.peerId, 'only zone c has echo among c and x')
  })

  it('ends a task nobody can run as no_capable_worker with a clear message', async () => {
    const { bootstrap } = net()
    const [unknown, noLabel, noCap] = await Promise.all([
      bootstrap.api.submit({ type: 'transcode', payload: 'x' }),
      bootstrap.api.submit({ type: 'compute', payload: 'x', selector: 'zone=q' }),
      bootstrap.api.submit({ type: 'compute', payload: 'x', requires: ['compute', 'gpu'] })
    ])
    const [u, l, c] = await waitAll(bootstrap.api, [unknown.id, noLabel.id, noCap.id], 60_000)
    assert.equal(u?.status, 'no_capable_worker')
    assert.match(u?.error ?? '', /no worker advertises the capabilities \[transcode\]/)
    assert.equal(u?.attempts, 0)
    assert.equal(l?.status, 'no_capable_worker')
    assert.match(l?.error ?? '', /no capable worker has labels matching selector "zone=q"/)
    assert.equal(c?.status, 'no_capable_worker')
    assert.match(c?.error ?? '', /capabilities \[compute, gpu\]/)
    await assert.rejects(bootstrap.api.submit({ type: 'compute', payload: 'x', selector: 'zone=' + '(' }), /selector/)
  })

  it('retries a command that exits non-zero max_attempts times, then fails with the stderr tail', async () => {
    const { bootstrap } = net()
    const t = await bootstrap.api.submit({ type: 'bad', payload: 'x', maxAttempts: 3 })
    const done = await withTimeout(bootstrap.api.wait(t.id), 60_000, 'the failing command task')
    assert.equal(done.status, 'failed')
    assert.equal(done.attempts, 3)
    assert.match(done.error ?? '', /exited with code 3/)
    assert.match(done.error ?? '', /boom/)
    assert.match(done.error ?? '', /after 3 attempts/)
    assert.deepEqual(done.history.map(h => h.attempt), [1, 2, 3])
    for (const h of done.history) {
      assert.equal(h.worker, commands?.peerId, 'only the commands worker has the handler')
      assert.equal(h.outcome, 'failed')
      assert.match(h.error ?? '', /boom/)
    }
  })

  it('applies a command handler\'s configured timeout when the task names none', async () => {
    const { bootstrap } = net()
    const t = await bootstrap.api.submit({ type: 'slowcmd', payload: '', maxAttempts: 1 })
    const done = await withTimeout(bootstrap.api.wait(t.id), 60_000, 'the slow command task')
    assert.equal(done.status, 'timed_out', done.error)
    assert.match(done.error ?? '', /timed out after 700ms/)
  })

  it('ends a command past its timeout as timed_out, its process group killed', async () => {
    const { bootstrap } = net()
    const pidFile = join(dir, 'hang.pid')
    const t = await bootstrap.api.submit({ type: 'hang', payload: '', timeoutMs: 1500, maxAttempts: 2 })
    const done = await withTimeout(bootstrap.api.wait(t.id), 60_000, 'the hanging command task')
    assert.equal(done.status, 'timed_out', done.error)
    assert.equal(done.attempts, 2)
    assert.match(done.error ?? '', /timed out after 1500ms/)
    assert.deepEqual(done.history.map(h => h.outcome), ['timed_out', 'timed_out'])
    const pid = Number((await readFile(pidFile, 'utf8')).trim())
    assert.ok(pid > 0)
    await waitFor(async () => processGone(pid), { timeoutMs: 10_000, what: `the background sleep ${pid} to be killed with its group` })
    await waitFor(() => commands?.executor?.running === 0, { timeoutMs: 10_000, what: 'the slot to be released' })
  })

  it('cancels a running sleep within 2 s and frees its slot', async () => {
    const { bootstrap, workers } = net()
    const zoneA = workers.find(w => w.config.node.labels.zone === 'a')
    assert.ok(zoneA?.executor != null)
    const before = zoneA.executor.running
    const t = await bootstrap.api.submit({ type: 'sleep', payload: '60000', selector: 'zone=a' })
    await waitFor(() => bootstrap.api.get(t.id)?.status === 'running' && zoneA.executor!.running > before, { timeoutMs: 30_000, what: 'the sleep to run' })
    const started = Date.now()
    const cancelled = await bootstrap.api.cancel(t.id)
    assert.equal(cancelled.status, 'cancelled')
    await waitFor(() => zoneA.executor!.running === before, { timeoutMs: 2000, what: 'the slot to be freed', describe: () => zoneA.executor?.running })
    await waitFor(() => /cancel acknowledged/.test(bootstrap.api.get(t.id)?.history[0]?.error ?? ''), { timeoutMs: 2000, what: 'the worker to acknowledge the cancel' })
    assert.ok(Date.now() - started < 2500)
    const final = bootstrap.api.get(t.id)
    assert.equal(final?.status, 'cancelled')
    assert.equal(final?.history[0]?.outcome, 'cancelled')
    // cancelling again, or cancelling an ended task, changes nothing
    assert.equal((await bootstrap.api.cancel(t.id)).status, 'cancelled')
  })

  it('runs tasks submitted on the bootstrap and on the relay (no capabilities) on workers', async () => {
    const { bootstrap, relay, workers } = net()
    for (const node of [bootstrap, relay]) {
      assert.deepEqual(node.api.status().capabilities, [])
      const t = await node.api.submit({ type: 'compute', payload: `from ${node.role}` })
      const done = await withTimeout(node.api.wait(t.id), 60_000, `the ${node.role}'s task`)
      assert.equal(done.status, 'succeeded', done.error)
      assert.equal(done.result, sha256(`from ${node.role}`))
      assert.ok(workers.some(w => w.peerId === done.worker), `ran on ${done.worker}, not a worker`)
    }
  })

  it('runs a task submitted on a worker, possibly on itself', async () => {
    const { workers } = net()
    const w = workers[2]!
    const done = await withTimeout(w.api.wait((await w.api.submit({ type: 'compute', payload: 'own' })).id), 60_000, 'the worker\'s own task')
    assert.equal(done.status, 'succeeded', done.error)
    assert.equal(done.result, sha256('own'))
  })

  it('credits and reputation tell a worker that completed tasks from one that failed them', async () => {
    const { bootstrap, workers } = net()
    const ledger = new Map(bootstrap.api.ledger().map(e => [e.worker, e]))
    const bad = ledger.get(commands!.peerId)
    assert.ok(bad != null, 'the commands worker is in the ledger')
    assert.equal(bad.completed, 0)
    assert.ok(bad.failed >= 5, `failed ${bad.failed}`)
    assert.equal(bad.credits, 0)
    assert.ok(bad.reputation < 0.5, `reputation ${bad.reputation}`)
    for (const w of workers) {
      const good = ledger.get(w.peerId)
      assert.ok(good != null)
      assert.ok(good.completed >= 60)
      assert.ok(good.credits > 0)
      assert.ok(good.reputation > 0.9, `reputation ${good.reputation}`)
      assert.ok(good.reputation > bad.reputation)
      // the worker kept a verified, signed receipt for what it earned from the bootstrap
      await waitFor(() => (w.worker?.receipts ?? 0) >= good.completed, { timeoutMs: 10_000, what: 'signed receipts for every completed task', describe: () => [w.worker?.receipts, good.completed] })
      assert.equal(w.worker?.badReceipts, 0)
    }
    const peers = new Map(bootstrap.api.peers().map(p => [p.peerId, p]))
    assert.ok((peers.get(workers[0]!.peerId)?.credits ?? 0) > 0)
    assert.ok((peers.get(commands!.peerId)?.reputation ?? 1) < 0.5)
  })

  it('uses a worker restarted with the same identity again at once', async () => {
    const { bootstrap, workers } = net()
    const old = workers.find(w => w.config.node.labels.zone === 'c')
    assert.ok(old != null)
    await old.stop()
    const again = new P2PNode(old.config, { logger: createLogger({ level: 'warn', format: 'auto', bindings: { node: 'worker-c-again' } }), api: false })
    extra.push(again)
    await again.start()
    assert.equal(again.peerId, old.peerId, 'the same identity from the same data_dir')
    const restartedAt = Date.now()
    // its heartbeats must count at once, not only once they outnumber its previous life's
    await waitFor(() => (bootstrap.table.get(again.peerId)?.lastHeartbeat ?? 0) > restartedAt, {
      timeoutMs: 15_000,
      what: 'the bootstrap to accept the restarted worker\'s heartbeats',
      describe: () => bootstrap.table.get(again.peerId)
    })
    const t = await bootstrap.api.submit({ type: 'echo', payload: 'back again', selector: 'zone=c' })
    const done = await withTimeout(bootstrap.api.wait(t.id), 60_000, 'a task for the restarted worker')
    assert.equal(done.status, 'succeeded', done.error)
    assert.equal(done.worker, again.peerId)
  })

  it('never ran more than 4 tasks at once on any worker', () => {
    for (const w of [...net().workers, commands!]) {
      assert.ok((w.executor?.maxObservedRunning ?? 0) <= 4, `${w.config.node.labels.zone}: ${w.executor?.maxObservedRunning}`)
    }
  })
})
