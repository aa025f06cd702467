/**
 * The four load scenarios, the same on the p2p network and on BullMQ: burst, closed loop, open loop
 * and serial, each after a warm-up, with no-op tasks (p2p `echo` with an empty payload; BullMQ a
 * processor that returns '').
 */
import { burst, closedLoop, openLoop, serial, warmup, type LoadResult } from '../lib/load.ts'
import type { ScenarioName } from '../lib/options.ts'
import { ResourceMonitor } from '../lib/resources.ts'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts'
import type { TaskSystem } from '../lib/system.ts'

function figures (r: LoadResult): Record<string, number> {
  return {
    throughput: r.throughput,
    p50: r.latency.p50,
    p95: r.latency.p95,
    p99: r.latency.p99,
    max: r.latency.max,
    submitted: r.submitted,
    failed: r.failed + r.rejected,
    lost: r.lost,
    twice: r.completedTwice,
    ...(r.offeredRate != null ? { offered: r.offeredRate } : {})
  }
}

function loadScenario (name: ScenarioName, drive: (sys: TaskSystem, ctx: ScenarioContext) => Promise<LoadResult>): Scenario {
  return {
    name,
    run: async (ctx): Promise<ScenarioResult> => {
      const sys = await ctx.acquire()
      try {
        await warmup(sys, ctx.opts.counts.warmup)
        const monitor = new ResourceMonitor({
          self: ctx.self,
          workers: sys.children().filter(c => c.name !== 'redis-server'),
          redis: sys.children().find(c => c.name === 'redis-server'),
          profileDir: ctx.profileDir,
          label: ctx.label
        })
        await monitor.start()
        const r = await drive(sys, ctx)
        const resources = await monitor.stop()
        if (r.firstError != null) ctx.log(`  first submit error: ${r.firstError}`)
        if (Object.keys(r.statuses).length > 0) ctx.log(`  not succeeded: ${JSON.stringify(r.statuses)}`)
        return {
          figures: {
            ...figures(r),
            submitter_cpu: resources.submitter.cpuPct,
            submitter_lag: resources.submitter.lagP99Ms,
            worker_cpu: resources.workers.cpuPct,
            ...(resources.redisCpuPct != null ? { redis_cpu: resources.redisCpuPct } : {}),
            background: resources.backgroundCores
          },
          resources: { load: resources },
          notes: { statuses: r.statuses, ...(r.firstError != null ? { firstError: r.firstError } : {}) }
        }
      } finally {
        await ctx.release(sys)
      }
    }
  }
}

export const burstScenario = loadScenario('burst', async (sys, ctx) => burst(sys, ctx.opts.counts.burst, ctx.opts.counts.settleMs))
export const closedScenario = loadScenario('closed', async (sys, ctx) => closedLoop(sys, ctx.opts.counts.closedTotal, ctx.opts.counts.closedInFlight, ctx.opts.counts.settleMs))
export const openScenario = loadScenario('open', async (sys, ctx) => openLoop(sys, ctx.opts.counts.openRate, ctx.opts.counts.openMs, ctx.opts.counts.settleMs))
export const serialScenario = loadScenario('serial', async (sys, ctx) => serial(sys, ctx.opts.counts.serial, ctx.opts.counts.settleMs))
