/**
 * Capability-advertisement propagation in networks of 10, 25 and 50 nodes, all processes: the
 * gateway (in the bench process) and N-2 workers (bench/node-proc.ts: the real P2PNode reporting
 * table changes over IPC) form the network; once every node knows every worker, a new worker joins
 * and the scenario times, from its first advertisement (the end of its start()), its appearance in
 * the capability table of each of the N-1 other nodes. Repeated with a fresh joiner per probe.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { P2PNet, type WorkerProc } from '../lib/p2p.ts'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts'
import { quantile } from '../lib/stats.ts'
import type { NodeProcMessage } from '../node-proc.ts'

const wallOf = (perfNow: number): number => performance.timeOrigin + perfNow

class Observer {
  /** per observing node: peer -> wall time first seen */
  readonly seen = new Map<string, Map<string, number>>()
  readonly started = new Map<string, { at: number, advertisedAt: number }>()
  private readonly watchers = new Set<() => void>()

  attach (w: WorkerProc): void {
    this.seen.set(w.peerId, new Map())
    w.child.proc.on('message', (m: NodeProcMessage) => {
      if (m.ev === 'seen') this.seen.get(w.peerId)?.set(m.peer, m.at)
      else if (m.ev === 'started') this.started.set(w.peerId, { at: m.at, advertisedAt: m.advertisedAt })
      for (const fn of this.watchers) fn()
    })
  }

  async until (cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return true
    return new Promise(resolve => {
      const check = (): void => { if (cond()) { done(); resolve(true) } }
      const timer = setTimeout(() => { done(); resolve(false) }, timeoutMs)
      const done = (): void => { clearTimeout(timer); this.watchers.delete(check) }
      this.watchers.add(check)
    })
  }

  notify (): void { for (const fn of this.watchers) fn() }
}

async function measureSize (ctx: ScenarioContext, size: number): Promise<{ samples: number[], fromSpawn: number[], toAll: number[], missing: number }> {
  const { opts } = ctx
  const net = await P2PNet.startGatewayOnly({ dir: `${ctx.dir}/n${size}`, workers: 0, slots: opts.slots, probe: false, relayTransport: opts.relayTransport, prefetch: opts.prefetch })
  const obs = new Observer()
  const gatewaySeen = new Map<string, number>()
  obs.seen.set(net.gateway.peerId, gatewaySeen)
  const poll = setInterval(() => {
    for (const [peer, at] of net.schedulableAt) if (!gatewaySeen.has(peer)) { gatewaySeen.set(peer, wallOf(at)); obs.notify() }
  }, 1)
  try {
    const members: WorkerProc[] = []
    for (let i = 0; i < size - 2; i++) {
      const w = await net.spawnWorker({ script: 'node-proc', probe: false })
      obs.attach(w)
      members.push(w)
    }
    // the mesh has settled when every node has every worker in its table
    const ids = members.map(m => m.peerId)
    const settled = await obs.until(() => [...obs.seen].every(([self, seen]) => ids.every(p => p === self || seen.has(p))), 60_000 + size * 3000)
    if (!settled) {
      ctx.log(`  ${size} nodes: the mesh did not settle; measuring anyway`)
      // which nodes lack which workers, and whether they are still running
      for (const [self, seen] of obs.seen) {
        const lacking = ids.filter(p => p !== self && !seen.has(p)).length
        if (lacking === 0) continue
        const m = members.find(x => x.peerId === self)
        ctx.log(`    ${m?.label ?? 'gateway'} knows ${ids.length - 1 - lacking + (m == null ? 1 : 0)} of the workers${m == null ? '' : m.child.running ? '' : ` (exited ${m.child.exitCode}): ${m.child.lastLines(5)}`}`)
      }
    }
    const samples: number[] = []
    const fromSpawn: number[] = []
    const toAll: number[] = []
    let missing = 0
    for (let p = 0; p < opts.counts.propagationProbes; p++) {
      const spawnWall = wallOf(performance.now())
      const joiner = await net.spawnWorker({ script: 'node-proc', probe: false })
      obs.attach(joiner)
      const others = [...obs.seen.keys()].filter(k => k !== joiner.peerId && (k === net.gateway.peerId || members.some(m => m.peerId === k)))
      await obs.until(() => obs.started.has(joiner.peerId), 60_000)
      await obs.until(() => others.every(o => obs.seen.get(o)?.has(joiner.peerId) === true), 30_000)
      const adv = obs.started.get(joiner.peerId)?.advertisedAt ?? Number.NaN
      const times = others.map(o => obs.seen.get(o)?.get(joiner.peerId)).filter((t): t is number => t != null)
      missing += others.length - times.length
      for (const t of times) { samples.push(t - adv); fromSpawn.push(t - spawnWall) }
      toAll.push(times.length === others.length ? Math.max(...times) - adv : Number.NaN)
      ctx.log(`  ${size} nodes, joiner ${p + 1}: seen by ${times.length}/${others.length}, p50 ${quantile(times.map(t => t - adv), 0.5).toFixed(0)} ms, all ${(Math.max(...times) - adv).toFixed(0)} ms after its first advertisement`)
      await joiner.child.stop('SIGTERM', 5000)
      obs.seen.delete(joiner.peerId)
      await sleep(200)
    }
    return { samples, fromSpawn, toAll, missing }
  } finally {
    clearInterval(poll)
    await net.stop()
  }
}

async function p2pPropagation (ctx: ScenarioContext): Promise<ScenarioResult> {
  const figures: Record<string, number> = {}
  const notes: Record<string, unknown> = {}
  let missing = 0
  for (const size of ctx.opts.counts.propagationSizes) {
    const r = await measureSize(ctx, size)
    figures[`p50_${size}`] = quantile(r.samples, 0.5)
    figures[`p99_${size}`] = quantile(r.samples, 0.99)
    figures[`all_${size}`] = quantile(r.toAll, 0.5)
    figures[`spawn_p50_${size}`] = quantile(r.fromSpawn, 0.5)
    missing += r.missing
    notes[`n${size}`] = r
  }
  figures.missing = missing
  return { figures, notes }
}

export const propagationScenario: Scenario = {
  name: 'propagation',
  run: async (ctx) => {
    if (ctx.system !== 'p2p') throw new Error('propagation runs on the p2p network only')
    return p2pPropagation(ctx)
  }
}
