/**
 * Startup: W worker processes started one at a time against a running gateway, each timed from
 * spawn to (a) its connection at the gateway, (b) its first appearance in the gateway's capability
 * table (schedulable: a task can be placed on it), (c) the result of a task submitted at spawn with
 * a selector only it matches; a bootstrap process timed to its "node started" line; then, after an
 * idle period, RSS (/proc/<pid>/status VmRSS) and CPU of each role. With --baseline bullmq the same
 * for one idle BullMQ worker (spawn to ready, RSS).
 *
 * The idle RSS figures are read 10-15 s after a worker started, which can be just before V8's
 * memory reducer first compacts the heap after start-up (about 16 s after start in a `--trace-gc`
 * of a p2p worker, when the young generation grown during start-up is given back). The notes also
 * hold each process's RSS at least SETTLED_MS after its start (`...RssSettled`), on both sides.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { BullmqSystem } from '../lib/bullmq.ts'
import { P2PNet } from '../lib/p2p.ts'
import type { Child } from '../lib/procs.ts'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts'
import { quantile } from '../lib/stats.ts'

const median = (xs: number[]): number => quantile(xs, 0.5)

/** the settled RSS sample is taken this long after the last process started (notes only) */
const SETTLED_MS = 30_000

/**
 * RSS (MiB) of each child SETTLED_MS after the last of them started (notes only); none in short
 * runs (--quick), whose idle period is far below it.
 */
async function settledRss (children: readonly Child[], idleMs: number): Promise<number[]> {
  if (idleMs < 5000 || children.length === 0) return []
  const wait = Math.max(...children.map(c => c.spawnedAt)) + SETTLED_MS - performance.now()
  if (wait > 0) await sleep(wait)
  return children.map(c => c.rssKiB() / 1024)
}

async function p2pStartup (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { opts } = ctx
  // with --profile the first worker runs under --cpu-prof from its first instruction (module loading included)
  const net = await P2PNet.startGatewayOnly({ dir: ctx.dir, workers: 0, slots: opts.slots, probe: false, relayTransport: opts.relayTransport, prefetch: opts.prefetch, ...(ctx.profileDir != null ? { cpuProfDir: ctx.profileDir } : {}) })
  try {
    const started: number[] = []
    const connected: number[] = []
    const schedulable: number[] = []
    const firstTask: number[] = []
    for (let i = 0; i < (opts.counts.startupWorkers ?? opts.workers); i++) {
      const w = await net.spawnWorker({ probe: false })
      const t0 = w.child.spawnedAt
      // a task only this worker can run, submitted before it exists: placed as soon as it is known
      const submitted = net.submit({ type: 'echo', payload: '', selector: `bench=${w.label}` })
      const line = w.child.waitForLine(/"node started"/, 60_000)
      await net.waitSchedulable([w.peerId], 60_000)
      started.push((await line).at - t0)
      connected.push((net.connectedAt.get(w.peerId) ?? Number.NaN) - t0)
      schedulable.push((net.schedulableAt.get(w.peerId) ?? Number.NaN) - t0)
      const outcome = await (await submitted).done
      firstTask.push(outcome.ok ? outcome.at - t0 : Number.NaN)
      if (!outcome.ok) ctx.log(`  first task for ${w.label} ended ${outcome.status}`)
    }
    const boot = await net.spawnWorker({ probe: false, role: 'bootstrap' })
    const bootLine = await boot.child.waitForLine(/"node started"/, 60_000)
    const bootStarted = bootLine.at - boot.child.spawnedAt

    // idle: RSS and CPU of every role once the mesh has settled
    await sleep(opts.counts.idleMs)
    const workers = net.workers.filter(w => w.role === 'worker')
    const cpu0 = workers.map(w => w.child.cpuMs())
    const bootCpu0 = boot.child.cpuMs()
    const t0 = performance.now()
    await sleep(Math.min(5000, opts.counts.idleMs))
    const idleWall = performance.now() - t0
    const workerRss = workers.map(w => w.child.rssKiB() / 1024)
    const workerIdleCpu = workers.map((w, i) => 100 * (w.child.cpuMs() - (cpu0[i] ?? Number.NaN)) / idleWall)
    const bootstrapRss = boot.child.rssKiB() / 1024
    // read before the settle wait: CPU over the idle window, not over the window and the wait
    const bootstrapIdleCpu = 100 * (boot.child.cpuMs() - bootCpu0) / idleWall
    const [bootstrapRssSettled = Number.NaN, ...workerRssSettled] = await settledRss([boot.child, ...workers.map(w => w.child)], opts.counts.idleMs)
    return {
      figures: {
        started: median(started),
        connected: median(connected),
        connected_max: Math.max(...connected),
        schedulable: median(schedulable),
        schedulable_max: Math.max(...schedulable),
        first_task: median(firstTask),
        bootstrap_started: bootStarted,
        worker_rss: median(workerRss),
        bootstrap_rss: bootstrapRss,
        worker_idle_cpu: median(workerIdleCpu),
        bootstrap_idle_cpu: bootstrapIdleCpu,
        lost: firstTask.filter(v => Number.isNaN(v)).length,
        twice: net.completedTwice()
      },
      notes: { started, connected, schedulable, firstTask, workerRss, workerIdleCpu, workerRssSettled, bootstrapRssSettled }
    }
  } finally {
    await net.stop()
  }
}

async function bullmqStartup (ctx: ScenarioContext): Promise<ScenarioResult> {
  const sys = await BullmqSystem.start({ dir: ctx.dir, workers: 0, concurrency: ctx.opts.slots, probe: false })
  try {
    const started: number[] = []
    for (let i = 0; i < (ctx.opts.counts.startupWorkers ?? ctx.opts.workers); i++) {
      const w = sys.spawnWorker({ probe: false })
      started.push((await w.waitForLine(/worker ready/, 30_000)).at - w.spawnedAt)
    }
    await sleep(ctx.opts.counts.idleMs)
    const cpu0 = sys.workers.map(w => w.cpuMs())
    const t0 = performance.now()
    await sleep(Math.min(5000, ctx.opts.counts.idleMs))
    const idleWall = performance.now() - t0
    const rss = sys.workers.map(w => w.rssKiB() / 1024)
    const idleCpu = sys.workers.map((w, i) => 100 * (w.cpuMs() - (cpu0[i] ?? Number.NaN)) / idleWall)
    const rssSettled = await settledRss(sys.workers, ctx.opts.counts.idleMs)
    return {
      figures: {
        started: median(started),
        schedulable: median(started),
        worker_rss: median(rss),
        worker_idle_cpu: median(idleCpu),
        redis_rss: sys.redis.child.rssKiB() / 1024
      },
      notes: { started, rss, rssSettled }
    }
  } finally {
    await sys.stop()
  }
}

export const startupScenario: Scenario = {
  name: 'startup',
  run: async (ctx) => ctx.system === 'p2p' ? p2pStartup(ctx) : bullmqStartup(ctx)
}
