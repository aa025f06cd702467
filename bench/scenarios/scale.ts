/**
 * Scale: burst throughput with 4, 16 and 50 worker processes (every one with the same slots), and
 * how long the whole network takes to become schedulable at each size. Each size is warmed up first
 * with a burst of scaleWarmupPerWorker tasks per worker (its throughput is reported as warmup_W:
 * what a cold network does).
 */
import { performance } from 'node:perf_hooks'
import { burst, type LoadResult } from '../lib/load.ts'
import { P2PNet } from '../lib/p2p.ts'
import { ResourceMonitor, type ResourceReport } from '../lib/resources.ts'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts'

async function p2pScale (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { opts } = ctx
  const figures: Record<string, number> = {}
  const resources: Record<string, ResourceReport> = {}
  const notes: Record<string, unknown> = {}
  let lost = 0
  let twice = 0
  let failed = 0
  let notUp = 0
  const tally = (r: LoadResult): void => {
    lost += r.lost
    twice += r.completedTwice
    failed += r.failed + r.rejected
  }
  for (const size of opts.counts.scaleWorkers) {
    const t0 = performance.now()
    let net: P2PNet
    try {
      net = await P2PNet.start({ dir: `${ctx.dir}/w${size}`, workers: size, slots: opts.slots, probe: true, relayTransport: opts.relayTransport, prefetch: opts.prefetch }, 60_000 + size * 3000)
    } catch (err) {
      // a size whose network never becomes schedulable is a result, not the end of the scenario
      notUp++
      figures[`up_${size}`] = Number.NaN
      figures[`throughput_${size}`] = Number.NaN
      notes[`w${size}`] = (err as Error).message.split('\n')[0]
      ctx.log(`  ${size} workers: ${(err as Error).message.split('\n')[0]}`)
      continue
    }
    try {
      figures[`up_${size}`] = performance.now() - t0
      // every worker process warms up to its steady state first (why and how many: Counts.scaleWarmupPerWorker)
      const w = await burst(net, size * opts.counts.scaleWarmupPerWorker, opts.counts.settleMs)
      figures[`warmup_${size}`] = w.throughput
      if (w.lost + w.failed + w.rejected > 0) ctx.log(`  ${size} workers: warm-up lost ${w.lost}, failed ${w.failed + w.rejected}`)
      tally(w)
      const monitor = new ResourceMonitor({ self: ctx.self, workers: net.children(), profileDir: ctx.profileDir, label: `${ctx.label}-w${size}` })
      await monitor.start()
      const r = await burst(net, opts.counts.scaleBurst, opts.counts.settleMs)
      resources[`w${size}`] = await monitor.stop()
      figures[`throughput_${size}`] = r.throughput
      figures[`p50_${size}`] = r.latency.p50
      figures[`p99_${size}`] = r.latency.p99
      tally(r)
      ctx.log(`  ${size} workers: ${r.throughput.toFixed(0)} tasks/s, p99 ${r.latency.p99.toFixed(1)} ms`)
    } finally {
      await net.stop()
    }
  }
  const first = opts.counts.scaleWorkers[0] as number
  const last = opts.counts.scaleWorkers.at(-1) as number
  figures.scale_ratio = (figures[`throughput_${last}`] ?? Number.NaN) / (figures[`throughput_${first}`] ?? Number.NaN)
  figures.not_up = notUp
  figures.failed = failed
  figures.lost = lost
  figures.twice = twice
  return { figures, resources, notes }
}

export const scaleScenario: Scenario = {
  name: 'scale',
  run: async (ctx) => {
    if (ctx.system !== 'p2p') throw new Error('scale runs on the p2p network only')
    return p2pScale(ctx)
  }
}
