/**
 * `npm run soak -- --minutes N [--rate R] [--workers W] [--churn-seconds S] [--sample-seconds P] [--warmup-minutes M]`
 *
 * A devnet of separate node processes (bootstrap, relay, W workers from config/local/*.yaml, on
 * 127.0.0.1) under a steady task stream: the bootstrap submits R tasks/s (9 in 10 `compute`, 1 in
 * 10 `sleep 200`). worker-1 stays up the whole run; every S seconds the oldest of the other workers
 * gets SIGTERM (drain, stop) and a fresh one with a new identity and data directory takes its place.
 * Every P seconds each node reports RSS, heap, open fds, event-loop lag (p99 and max over the
 * interval), connections, streams and peer-store size; the table is printed as it comes. At the end
 * the stream stops, every accepted task must end (lost 0, completed twice 0), and the summary gives,
 * for each node that lived through the run, the least-squares slope per hour of RSS, heap and fds
 * over the samples after the warm-up, and the event-loop lag. Exit 0 when nothing was lost or
 * completed twice and no process saw an unhandled rejection.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir, cpus } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { LOCAL_CONFIG_DIR } from '../src/cli/devnet.ts'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string', default: '10' },
    workers: { type: 'string', default: '3' },
    'churn-seconds': { type: 'string', default: '60' },
    'sample-seconds': { type: 'string', default: '30' },
    'warmup-minutes': { type: 'string' },
    'keep-logs': { type: 'boolean', default: false }
  }
})
const minutes = Number(values.minutes)
const rate = Number(values.rate)
const workerCount = Math.max(1, Number(values.workers))
const churnMs = Number(values['churn-seconds']) * 1000
const sampleMs = Number(values['sample-seconds']) * 1000
const warmupMin = values['warmup-minutes'] != null ? Number(values['warmup-minutes']) : Math.min(5, minutes / 5)

interface Sample {
  node: string, t: number, rssMiB: number, heapMiB: number, externalMiB: number, fds: number, lagP99Ms: number, lagMaxMs: number,
  cpuPct: number, conns: number, streams: number, peerStore: number, workersKnown: number, tasksInMemory?: number, succeeded: number, pending: number, submitted: number, unhandled: number
}
type Event = Record<string, unknown> & { node: string, event: string }

/** least-squares slope of y over x */
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

const dir = await mkdtemp(join(tmpdir(), 'p2p-soak-'))
const log = createWriteStream(join(dir, 'nodes.log'))
const t0 = Date.now()
const minutesNow = (): number => (Date.now() - t0) / 60_000
const samples: Sample[] = []
const loads: number[] = []
let unhandledSeen = 0

class SoakNode {
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  readonly events: Event[] = []
  private readonly waiters: Array<{ match: (e: Event) => boolean, resolve: (e: Event) => void }> = []

  constructor (readonly name: string, file: string, overrides: Record<string, unknown>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'soak-node.ts'), join(LOCAL_CONFIG_DIR, file), name, JSON.stringify(overrides)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SOAK_SAMPLE_MS: String(sampleMs), P2P_DRAIN_MS: '10000', NODE_NO_WARNINGS: '1' }
    })
    this.exited = new Promise(resolve => { this.child.on('exit', code => { resolve(code) }) })
    this.child.stderr?.on('data', (d: Buffer) => { log.write(`[${name}] ${d.toString()}`) })
    createInterface({ input: this.child.stdout! }).on('line', line => {
      let e: Event
      try { e = JSON.parse(line) as Event } catch { log.write(`[${name}] ${line}\n`); return }
      this.events.push(e)
      if (e.event === 'sample') onSample(e)
      for (const w of [...this.waiters]) {
        if (w.match(e)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(e) }
      }
    })
  }

  async next (event: string, timeoutMs = 120_000): Promise<Event> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${this.name}: no ${event} within ${timeoutMs} ms`)) }, timeoutMs)
      this.waiters.push({ match: e => e.event === event, resolve: e => { clearTimeout(timer); resolve(e) } })
    })
  }

  send (cmd: Record<string, unknown>): void { this.child.stdin?.write(JSON.stringify(cmd) + '\n') }

  async stop (): Promise<void> {
    if (this.child.exitCode == null) this.child.kill('SIGTERM')
    const killer = setTimeout(() => { this.child.kill('SIGKILL') }, 30_000)
    await this.exited
    clearTimeout(killer)
  }
}

function onSample (e: Event): void {
  const s = { ...(e as unknown as Sample), t: minutesNow() }
  samples.push(s)
  unhandledSeen = Math.max(unhandledSeen, s.unhandled)
  const extra = s.submitted > 0 ? ` submitted=${s.submitted} succeeded=${s.succeeded} pending=${s.pending} tasks_in_memory=${s.tasksInMemory}` : ''
  console.log(`t=${s.t.toFixed(1).padStart(5)}min ${s.node.padEnd(9)} rss=${s.rssMiB}MiB heap=${s.heapMiB}MiB ext=${s.externalMiB}MiB fds=${s.fds} cpu=${s.cpuPct}% lag_p99=${s.lagP99Ms}ms lag_max=${s.lagMaxMs}ms conns=${s.conns} streams=${s.streams} peerstore=${s.peerStore} workers_known=${s.workersKnown}${extra}`)
}

const commit = ((): string => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== ''
    return head + (dirty ? ' (working tree modified)' : '')
  } catch { return 'unknown' }
})()
console.log(`soak: ${minutes} min, ${rate} tasks/s, ${workerCount} workers (worker-1 stable, one other replaced every ${churnMs / 1000} s), samples every ${sampleMs / 1000} s, warm-up ${warmupMin} min`)
console.log(`commit ${commit}, node ${process.version}, ${cpus().length} cores, load average at start ${loadavg().map(l => l.toFixed(2)).join(' ')}, logs ${dir}/nodes.log`)

const base = { 'log.level': 'warn', 'api.enabled': false }
const bootstrap = new SoakNode('bootstrap', 'bootstrap.yaml', { ...base, 'node.data_dir': join(dir, 'bootstrap') })
const bootAddr = String((await bootstrap.next('started')).addr)
const withBoot = { ...base, 'network.bootstrap_peers': [bootAddr] }
const relay = new SoakNode('relay', 'relay.yaml', { ...withBoot, 'node.data_dir': join(dir, 'relay') })
let workerSeq = 0
const newWorker = (): SoakNode => {
  workerSeq++
  const name = `worker-${workerSeq}`
  return new SoakNode(name, 'worker.yaml', { ...withBoot, 'node.data_dir': join(dir, name), 'node.labels': { zone: String.fromCharCode(97 + (workerSeq % 3)) } })
}
const workers = Array.from({ length: workerCount }, newWorker)
const all = new Set<SoakNode>([bootstrap, relay, ...workers])
await Promise.all([relay, ...workers].map(async n => n.next('started')))

// wait until the bootstrap knows every worker, then start the stream
for (;;) {
  bootstrap.send({ op: 'sample' })
  const s = await bootstrap.next('sample')
  if (Number(s.workersKnown) >= workerCount) break
  await new Promise(resolve => setTimeout(resolve, 1000))
}
const tStream = minutesNow()
bootstrap.send({ op: 'stream', rate })
console.log(`network up after ${(tStream * 60).toFixed(1)} s; stream started`)

let replaced = 0
let churning = false
const shutdownMs: number[] = []
const churner = setInterval(() => {
  if (churning || workerCount < 2) return
  churning = true
  const old = workers.splice(1, 1)[0]!
  const t = Date.now()
  old.stop().then(async () => {
    shutdownMs.push(Date.now() - t)
    const fresh = newWorker()
    workers.push(fresh)
    all.add(fresh)
    await fresh.next('started')
    replaced++
  }).catch(err => { console.error('churn failed', err) }).finally(() => { churning = false })
}, churnMs)
const loadSampler = setInterval(() => { loads.push(loadavg()[0] ?? 0) }, sampleMs)

await new Promise(resolve => setTimeout(resolve, minutes * 60_000 - (Date.now() - t0)))
clearInterval(churner)
while (churning) await new Promise(resolve => setTimeout(resolve, 200))
bootstrap.send({ op: 'drain', timeoutMs: 180_000 })
const outcome = await bootstrap.next('drained', 200_000)
for (const n of all) if (n.child.exitCode == null) n.send({ op: 'sample' })
await new Promise(resolve => setTimeout(resolve, 2000))
clearInterval(loadSampler)
const tEnd = minutesNow()
await Promise.all([...all].map(async n => n.stop()))
for (const n of all) {
  const stopped = n.events.find(e => e.event === 'stopped')
  unhandledSeen = Math.max(unhandledSeen, Number(stopped?.unhandled ?? 0))
}

console.log('\nsummary')
const streamMin = Number(outcome.streamMs ?? 0) / 60_000
console.log(`  ran ${tEnd.toFixed(1)} min, stream ${streamMin.toFixed(1)} min asked ${rate}/s, achieved ${(Number(outcome.submitted) / (streamMin * 60)).toFixed(2)}/s, commit ${commit}`)
console.log(`  load average (1 min) over the run: mean ${(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length)).toFixed(2)}, max ${Math.max(0, ...loads).toFixed(2)} on ${cpus().length} cores`)
console.log(`  tasks ${JSON.stringify(outcome)}`)
console.log(`  worker replacements ${replaced}, shutdowns ${shutdownMs.length > 0 ? `${(Math.min(...shutdownMs) / 1000).toFixed(1)}–${(Math.max(...shutdownMs) / 1000).toFixed(1)} s` : '–'}`)
console.log(`  slopes: least squares over the samples after the ${warmupMin}-min warm-up, per hour`)
for (const n of all) {
  const mine = samples.filter(s => s.node === n.name)
  const after = mine.filter(s => s.t >= warmupMin)
  if (after.length < 3 || (after.at(-1)!.t - after[0]!.t) < (tEnd - warmupMin) * 0.6) continue
  const xs = after.map(s => s.t / 60)
  const first = after[0]!
  const last = after.at(-1)!
  const lag = after.map(s => s.lagP99Ms)
  const cpu = after.map(s => s.cpuPct)
  console.log(`  ${n.name.padEnd(9)} RSS ${slope(xs, after.map(s => s.rssMiB)).toFixed(1)} MiB/h (${first.rssMiB}→${last.rssMiB}), heap ${slope(xs, after.map(s => s.heapMiB)).toFixed(1)} MiB/h (${first.heapMiB}→${last.heapMiB}), ` +
    `fds ${slope(xs, after.map(s => s.fds)).toFixed(1)}/h (${first.fds}→${last.fds}), lag p99 mean ${(lag.reduce((a, b) => a + b, 0) / lag.length).toFixed(1)} ms max ${Math.max(...lag)} ms (slope ${slope(xs, lag).toFixed(1)} ms/h), lag max ${Math.max(...after.map(s => s.lagMaxMs))} ms, CPU mean ${(cpu.reduce((a, b) => a + b, 0) / cpu.length).toFixed(1)}% of a core`)
}
const churned = samples.filter(s => !['bootstrap', 'relay', 'worker-1'].includes(s.node))
if (churned.length > 0) console.log(`  replaced workers: peak RSS ${Math.max(...churned.map(s => s.rssMiB))} MiB, peak fds ${Math.max(...churned.map(s => s.fds))}`)
console.log(`  unhandled promise rejections ${unhandledSeen}`)
const ok = unhandledSeen === 0 && outcome.lost === 0 && outcome.completedTwice === 0 && outcome.error == null
if (!values['keep-logs'] && ok) await rm(dir, { recursive: true, force: true })
process.exit(ok ? 0 : 1)
