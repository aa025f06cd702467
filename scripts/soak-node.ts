/**
 * One node of the soak (`scripts/soak.ts` starts one process per node, so RSS, heap, fds and
 * event-loop lag are measured per node):
 *
 *   node --import tsx scripts/soak-node.ts CONFIG_FILE NAME OVERRIDES_JSON
 *
 * stdout carries JSON lines only: {"event":"started",addr}, then a {"event":"sample",...} every
 * SOAK_SAMPLE_MS, and the replies to stdin commands:
 *   {"op":"stream","rate":R}  submit R tasks/s (9 in 10 `compute`, 1 in 10 `sleep 200`) until
 *   {"op":"drain","timeoutMs":T}  stop submitting, wait until every accepted task ended, answer the outcome
 * SIGTERM: stop taking work, drain up to P2P_DRAIN_MS, stop, exit 0 (as `p2p-node run`).
 */
import { readdirSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { loadConfigFile, type ConfigOverrides } from '../src/config/index.ts'
import { TERMINAL_STATUSES } from '../src/node-api.ts'
import { P2PNode } from '../src/node.ts'

const [file, name, overridesJson] = process.argv.slice(2)
if (file == null || name == null) {
  process.stderr.write('usage: soak-node.ts CONFIG_FILE NAME [OVERRIDES_JSON]\n')
  process.exit(2)
}
const sampleMs = Number(process.env.SOAK_SAMPLE_MS ?? 60_000)
const drainMs = Number(process.env.P2P_DRAIN_MS ?? 10_000)

let unhandled = 0
process.on('unhandledRejection', (err) => {
  unhandled++
  process.stderr.write(`${name} unhandledRejection: ${String((err as Error)?.stack ?? err)}\n`)
})

const emit = (obj: Record<string, unknown>): void => { process.stdout.write(JSON.stringify({ node: name, ...obj }) + '\n') }

const config = loadConfigFile(file, { env: {}, overrides: JSON.parse(overridesJson ?? '{}') as ConfigOverrides })
const node = new P2PNode(config, { api: false })
await node.start()
emit({ event: 'started', pid: process.pid, addr: node.libp2p?.getMultiaddrs()[0]?.toString() })

const fds = (): number => { try { return readdirSync('/proc/self/fd').length } catch { return -1 } }
const lag = monitorEventLoopDelay({ resolution: 10 })
lag.enable()
const t0 = Date.now()
let cpuAt = { usage: process.cpuUsage(), t: performance.now() }
const sample = (): void => {
  const m = process.memoryUsage()
  const conns = node.libp2p?.getConnections() ?? []
  const counts = node.submitter?.counts()
  const cpu = { usage: process.cpuUsage(), t: performance.now() }
  const cpuPct = ((cpu.usage.user - cpuAt.usage.user + cpu.usage.system - cpuAt.usage.system) / 1000) / (cpu.t - cpuAt.t) * 100
  cpuAt = cpu
  emit({
    event: 'sample',
    uptimeS: Math.round((Date.now() - t0) / 1000),
    rssMiB: +(m.rss / 2 ** 20).toFixed(1),
    heapMiB: +(m.heapUsed / 2 ** 20).toFixed(1),
    externalMiB: +((m.external + m.arrayBuffers) / 2 ** 20).toFixed(1),
    fds: fds(),
    lagP99Ms: +(lag.percentile(99) / 1e6).toFixed(1),
    lagMaxMs: +(lag.max / 1e6).toFixed(1),
    cpuPct: +cpuPct.toFixed(1),
    conns: conns.length,
    streams: conns.reduce((n, c) => n + c.streams.length, 0),
    peerStore: peerStoreSize,
    workersKnown: node.table.workers().length,
    // tasks the submitter holds in memory (it keeps the last keepFinished finished ones)
    tasksInMemory: counts == null ? undefined : counts.queued + counts.running + counts.succeeded + counts.failed + counts.other,
    succeeded: byStatus.succeeded ?? 0,
    pending: pending.size,
    submitted,
    unhandled
  })
  lag.reset()
}
let peerStoreSize = 0
const peerStoreTimer = setInterval(() => {
  node.libp2p?.peerStore.all().then(p => { peerStoreSize = p.length }, () => {})
}, Math.max(1000, sampleMs / 2))
const sampler = setInterval(sample, sampleMs)

// outcomes are counted as tasks end, not looked up at the end: the submitter forgets finished tasks
// beyond its keepFinished, and a list of every id would grow this process's heap
const pending = new Set<string>()
const byStatus: Record<string, number> = {}
let accepted = 0
let completedTwice = 0
let submitted = 0
let refused = 0
let stream: NodeJS.Timeout | undefined

function track (id: string): void {
  accepted++
  pending.add(id)
  node.api.wait(id).then(view => {
    pending.delete(id)
    byStatus[view.status] = (byStatus[view.status] ?? 0) + 1
    if (view.history.filter(h => h.outcome === 'succeeded').length > 1) completedTwice++
  }, () => { /* the node is stopping: the id stays pending, reported as not ended */ })
}

let streamStartedAt = 0
function startStream (rate: number): void {
  streamStartedAt = Date.now()
  const perTick = Math.max(1, Math.round(rate / 10))
  const tickMs = rate >= 10 ? 100 : Math.round(1000 / rate)
  stream = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      const req = submitted % 10 === 0 ? { type: 'sleep', payload: '200' } : { type: 'compute', payload: `soak-${submitted}` }
      submitted++
      node.api.submit(req).then(t => { track(t.id) }, () => { refused++ })
    }
  }, tickMs)
}

async function drain (timeoutMs: number): Promise<Record<string, unknown>> {
  clearInterval(stream)
  const streamMs = Date.now() - streamStartedAt
  const deadline = Date.now() + timeoutMs
  // a few submits may still be in flight when the stream stops
  await new Promise(resolve => setTimeout(resolve, 500))
  while (Date.now() < deadline && pending.size > 0) await new Promise(resolve => setTimeout(resolve, 250))
  const notEnded = [...pending].filter(id => !TERMINAL_STATUSES.has(node.api.get(id)?.status ?? 'queued'))
  return { streamMs, submitted, accepted, refused, lost: notEnded.length, byStatus, completedTwice, duplicateResults: node.submitter?.duplicates ?? 0, unhandled }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let cmd: { op?: string, rate?: number, timeoutMs?: number }
  try { cmd = JSON.parse(line) as typeof cmd } catch { return }
  if (cmd.op === 'stream') startStream(Number(cmd.rate ?? 10))
  else if (cmd.op === 'sample') sample()
  else if (cmd.op === 'drain') {
    drain(Number(cmd.timeoutMs ?? 120_000)).then(r => { emit({ event: 'drained', ...r }) }, (err: Error) => { emit({ event: 'drained', error: err.message }) })
  }
})

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  clearInterval(stream)
  clearInterval(sampler)
  clearInterval(peerStoreTimer)
  const t = Date.now()
  node.stop({ drainMs }).catch(() => {}).finally(() => {
    emit({ event: 'stopped', ms: Date.now() - t, unhandled })
    setTimeout(() => process.exit(0), 50)
  })
})
