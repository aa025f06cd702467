/**
 * Recovery: W workers with `sleep` tasks in flight (half the slots busy, so the survivors have room);
 * the worker running the most is killed with SIGKILL, and the scenario times, from the kill, the
 * gateway noticing (peer:disconnect), every one of its tasks running again elsewhere, and every one
 * completed. Then the same with a hung worker (SIGSTOP: its connections stay open, only the lease
 * ends the attempt); the hung worker is SIGKILLed afterwards, before it could deliver a late result.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { P2PNet, type WorkerProc } from '../lib/p2p.ts'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts'
import type { Outcome } from '../lib/system.ts'

interface Trial { tasks: number, detectMs: number, replacedMs: number, completedMs: number, lost: number, failed: number }

async function trial (net: P2PNet, ctx: ScenarioContext, signal: 'SIGKILL' | 'SIGSTOP'): Promise<Trial> {
  const { opts } = ctx
  const api = net.gateway.api
  const live = net.workers.filter(w => w.child.running && w.role === 'worker')
  const n = Math.max(2, Math.floor(live.length * opts.slots / 2))
  const sleepMs = opts.counts.recoverySleepMs
  const ids: string[] = []
  const outcomes = new Map<string, Promise<Outcome>>()
  for (let i = 0; i < n; i++) {
    const v = await api.submit({ type: 'sleep', payload: String(sleepMs) })
    ids.push(v.id)
    outcomes.set(v.id, api.wait(v.id).then(t => ({ ok: t.status === 'succeeded', status: t.status, at: performance.now() })))
  }
  // every task running (so some are surely in flight on the victim)
  const deadline = performance.now() + 30_000
  while (ids.some(id => api.get(id)?.status !== 'running')) {
    if (performance.now() > deadline) throw new Error('tasks did not all start running within 30 s')
    await sleep(5)
  }
  const onWorker = new Map<string, string[]>()
  for (const id of ids) {
    const worker = api.get(id)?.history.at(-1)?.worker ?? ''
    onWorker.set(worker, [...(onWorker.get(worker) ?? []), id])
  }
  const [victimId, victimTasks] = [...onWorker].sort((a, b) => b[1].length - a[1].length)[0] ?? ['', []]
  const victim = net.workers.find(w => w.peerId === victimId) as WorkerProc
  let detectedAt = Number.NaN
  const onDisconnect = (evt: CustomEvent<{ toString: () => string }>): void => {
    if (evt.detail.toString() === victimId && Number.isNaN(detectedAt)) detectedAt = performance.now()
  }
  net.gateway.libp2p?.addEventListener('peer:disconnect', onDisconnect)
  const killedAt = performance.now()
  victim.child.proc.kill(signal)
  // poll until every task of the victim runs elsewhere
  let replacedAt = Number.NaN
  const pollUntil = performance.now() + opts.counts.settleMs
  while (performance.now() < pollUntil) {
    const moved = victimTasks.every(id => {
      const v = api.get(id)
      return v != null && (v.status === 'succeeded' || (v.status === 'running' && v.history.at(-1)?.worker !== victimId))
    })
    if (moved) { replacedAt = performance.now(); break }
    await sleep(2)
  }
  const ends = await Promise.race([
    Promise.all(victimTasks.map(async id => outcomes.get(id) as Promise<Outcome>)),
    sleep(opts.counts.settleMs).then(() => undefined)
  ])
  const all = await Promise.race([Promise.all([...outcomes.values()]), sleep(opts.counts.settleMs).then(() => undefined)])
  net.gateway.libp2p?.removeEventListener('peer:disconnect', onDisconnect as never)
  if (signal === 'SIGSTOP') await victim.child.stop('SIGKILL', 1000)
  else await victim.child.exited
  const completedAt = ends == null ? Number.NaN : Math.max(...ends.map(o => o.at))
  return {
    tasks: victimTasks.length,
    detectMs: detectedAt - killedAt,
    replacedMs: replacedAt - killedAt,
    completedMs: completedAt - killedAt,
    lost: all == null ? ids.filter(id => api.get(id)?.status === 'running' || api.get(id)?.status === 'queued').length : 0,
    failed: all == null ? 0 : all.filter(o => !o.ok).length
  }
}

async function p2pRecovery (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { opts } = ctx
  // a hung worker leaves one fewer: keep at least two for the second trial
  const net = await P2PNet.start({ dir: ctx.dir, workers: Math.max(3, opts.workers), slots: opts.slots, probe: false, relayTransport: opts.relayTransport, prefetch: opts.prefetch })
  try {
    const killed = await trial(net, ctx, 'SIGKILL')
    const hung = await trial(net, ctx, 'SIGSTOP')
    return {
      figures: {
        tasks: killed.tasks,
        detect: killed.detectMs,
        replaced: killed.replacedMs,
        completed: killed.completedMs,
        overhead: killed.completedMs - opts.counts.recoverySleepMs,
        hung_replaced: hung.replacedMs,
        hung_completed: hung.completedMs,
        hung_overhead: hung.completedMs - opts.counts.recoverySleepMs,
        failed: killed.failed + hung.failed,
        lost: killed.lost + hung.lost,
        twice: net.completedTwice()
      },
      notes: { sleepMs: opts.counts.recoverySleepMs, killed, hung }
    }
  } finally {
    await net.stop()
  }
}

export const recoveryScenario: Scenario = {
  name: 'recovery',
  run: async (ctx) => {
    if (ctx.system !== 'p2p') throw new Error('recovery runs on the p2p network only')
    return p2pRecovery(ctx)
  }
}
