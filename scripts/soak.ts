/**
 * `npm run soak -- --minutes N [--rate R] [--workers W] [--churn-seconds S]`
 *
 * Runs an in-process devnet under a steady task stream (R tasks/s of `sha256` and short `sleep`)
 * with worker churn (every S seconds one worker is stopped and a fresh one started), and prints RSS,
 * heap, open file descriptors and event-loop lag once a minute (and at the end), with the slope of
 * RSS and heap over the run. Ends by draining: every submitted task must end, none twice.
 */
import { readdirSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { startDevnet } from '../src/cli/devnet.ts'
import { TestNetWorker } from './soak-worker.ts'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string', default: '50' },
    workers: { type: 'string', default: '3' },
    'churn-seconds': { type: 'string', default: '30' },
    'sample-seconds': { type: 'string', default: '60' }
  }
})
const minutes = Number(values.minutes)
const rate = Number(values.rate)
const churnMs = Number(values['churn-seconds']) * 1000
const sampleMs = Number(values['sample-seconds']) * 1000

interface Sample { t: number, rssMb: number, heapMb: number, fds: number, lagP99Ms: number, lagMaxMs: number, done: number }

function fds (): number {
  try { return readdirSync('/proc/self/fd').length } catch { return -1 }
}

function slope (xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) { num += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my); den += ((xs[i] ?? 0) - mx) ** 2 }
  return den === 0 ? 0 : num / den
}

let unhandled = 0
process.on('unhandledRejection', (err) => { unhandled++; console.error('unhandled rejection', err) })

const net = await startDevnet({ workers: Number(values.workers), logLevel: 'error', api: false })
const churn = new TestNetWorker(net)
const lag = monitorEventLoopDelay({ resolution: 10 })
lag.enable()
const t0 = Date.now()
const samples: Sample[] = []
const ids: string[] = []
let submitted = 0
let rejected = 0
const sample = (): void => {
  const m = process.memoryUsage()
  samples.push({
    t: (Date.now() - t0) / 60_000,
    rssMb: Math.round(m.rss / 1e6),
    heapMb: Math.round(m.heapUsed / 1e6),
    fds: fds(),
    lagP99Ms: Math.round(lag.percentile(99) / 1e6),
    lagMaxMs: Math.round(lag.max / 1e6),
    done: net.bootstrap.submitter?.counts().succeeded ?? 0
  })
  lag.reset()
  const s = samples[samples.length - 1]!
  console.log(`t=${s.t.toFixed(1)}min rss=${s.rssMb}MB heap=${s.heapMb}MB fds=${s.fds} lag_p99=${s.lagP99Ms}ms lag_max=${s.lagMaxMs}ms succeeded=${s.done} submitted=${submitted}`)
}
sample()
const sampler = setInterval(sample, sampleMs)
const churner = setInterval(() => { void churn.replaceOne() }, churnMs)
const submitter = setInterval(() => {
  for (let i = 0; i < Math.max(1, Math.round(rate / 10)); i++) {
    const req = submitted % 10 === 0 ? { type: 'sleep', payload: '200' } : { type: 'compute', payload: `soak-${submitted}` }
    submitted++
    net.bootstrap.api.submit(req).then(t => { ids.push(t.id) }, () => { rejected++ })
  }
}, 100)
await new Promise(resolve => setTimeout(resolve, minutes * 60_000))
clearInterval(submitter)
clearInterval(churner)
// drain: wait for every task to end
const results = await Promise.all(ids.map(async id => net.bootstrap.api.wait(id)))
clearInterval(sampler)
sample()
const byStatus = new Map<string, number>()
for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1)
const xs = samples.map(s => s.t)
console.log('\nsummary')
console.log(`  submitted ${submitted}, accepted ${ids.length}, refused at submit ${rejected}`)
console.log(`  outcomes ${JSON.stringify(Object.fromEntries(byStatus))}`)
console.log(`  lost 0 (every accepted task ended), completed twice ${net.bootstrap.submitter?.duplicates ?? 0} duplicate results dropped`)
console.log(`  worker replacements ${churn.replaced}`)
console.log(`  RSS slope ${slope(xs, samples.map(s => s.rssMb)).toFixed(2)} MB/min, heap slope ${slope(xs, samples.map(s => s.heapMb)).toFixed(2)} MB/min, fds slope ${slope(xs, samples.map(s => s.fds)).toFixed(2)}/min`)
console.log(`  unhandled promise rejections ${unhandled}`)
await churn.stop()
await net.stop()
process.exit(unhandled === 0 && (byStatus.get('succeeded') ?? 0) === ids.length ? 0 : 1)
