/**
 * A scriptable node process for the reliability scenarios: runs the same P2PNode as
 * `p2p-node run --config FILE` (same config loader, same SIGTERM semantics: drain up to
 * P2P_DRAIN_MS, stop, exit 0), plus a JSON-line control channel on stdin/stdout so a test in the
 * host namespace can drive a node inside a network namespace (submit tasks, read its connections,
 * relay reservations and counters) without HTTP into the namespace.
 *
 *   node --import tsx test/reliability/agent.ts CONFIG_FILE
 *   stdin:  {"id":1,"op":"submit","type":"echo","count":10,"payloadBytes":100}
 *   stdout: {"id":1,"ok":true,"value":...}
 *
 * Every line on stdout is a reply or {"event":"started",...}; logs go to stderr.
 */
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { loadConfigFile } from '../../src/config/index.ts'
import { TERMINAL_STATUSES, type TaskView } from '../../src/node-api.ts'
import { P2PNode } from '../../src/node.ts'

const file = process.argv[2]
if (file == null) {
  process.stderr.write('usage: agent.ts CONFIG_FILE\n')
  process.exit(2)
}
const DRAIN_MS = Number(process.env.P2P_DRAIN_MS ?? 25_000)
const config = loadConfigFile(file, { env: process.env })
const node = new P2PNode(config, { api: false })

const unhandled: string[] = []
process.on('unhandledRejection', (err) => {
  unhandled.push(String((err as Error)?.stack ?? err))
  process.stderr.write(`AGENT unhandledRejection: ${String((err as Error)?.stack ?? err)}\n`)
})

let stopping = false
const shutdown = (drainMs: number): void => {
  if (stopping) return
  stopping = true
  const t0 = Date.now()
  node.stop({ drainMs }).catch(() => {}).finally(() => {
    reply({ event: 'stopped', ms: Date.now() - t0 })
    setTimeout(() => process.exit(0), 50)
  })
}
process.on('SIGTERM', () => { shutdown(DRAIN_MS) })
process.on('SIGINT', () => { shutdown(0) })

function reply (obj: unknown): void {
  process.stdout.write(JSON.stringify(obj, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v) + '\n')
}

/** Tasks this agent submitted, with their submission time and (once ended) latency. */
const mine = new Map<string, { submittedAt: number, endedAt?: number, view?: TaskView, resultSha?: string, resultBytes?: number }>()
const streams = new Map<string, { stop: () => void, ids: string[] }>()

function payloadOf (bytes: number | undefined, text: string | undefined, i: number): string {
  if (bytes != null) return `${i}:`.padEnd(bytes, 'x')
  return text ?? `p-${i}`
}

interface SubmitExtra { selector?: string, timeoutMs?: number, maxAttempts?: number, queueTimeoutMs?: number }

function extraOf (a: Record<string, unknown>): SubmitExtra {
  return { selector: a.selector as string | undefined, timeoutMs: a.timeoutMs as number | undefined, maxAttempts: a.maxAttempts as number | undefined, queueTimeoutMs: a.queueTimeoutMs as number | undefined }
}

async function submitOne (type: string, payload: string, extra: SubmitExtra): Promise<string> {
  const t = await node.api.submit({ type, payload, ...extra })
  const rec: { submittedAt: number, endedAt?: number, view?: TaskView, resultSha?: string, resultBytes?: number } = { submittedAt: Date.now() }
  mine.set(t.id, rec)
  node.api.wait(t.id).then(v => {
    rec.endedAt = Date.now()
    rec.view = { ...v, result: undefined }
    if (v.result != null) {
      rec.resultBytes = Buffer.byteLength(v.result, v.resultEncoding === 'base64' ? 'base64' : 'utf8')
      rec.resultSha = createHash('sha256').update(v.result).digest('hex')
    }
  }, () => {})
  return t.id
}

function summary (ids?: string[]): Record<string, unknown> {
  const list = ids != null ? ids.map(id => [id, mine.get(id)] as const) : [...mine.entries()]
  const byStatus: Record<string, number> = {}
  const latencies: number[] = []
  let succeededTwice = 0
  for (const [id, rec] of list) {
    const view = node.api.get(id)
    const status = view?.status ?? 'missing'
    byStatus[status] = (byStatus[status] ?? 0) + 1
    if (rec?.endedAt != null && view?.status === 'succeeded') latencies.push(rec.endedAt - rec.submittedAt)
    if ((view?.history.filter(h => h.outcome === 'succeeded').length ?? 0) > 1) succeededTwice++
  }
  latencies.sort((a, b) => a - b)
  const q = (p: number): number | undefined => latencies.length === 0 ? undefined : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
  const ended = list.filter(([id]) => TERMINAL_STATUSES.has(node.api.get(id)?.status ?? 'queued')).length
  return {
    submitted: list.length,
    succeeded: byStatus.succeeded ?? 0,
    ended,
    // accepted (journaled, an id returned) but not ended (yet): lost if still so at the end
    notEnded: list.length - ended,
    byStatus,
    completedTwice: succeededTwice,
    lateDuplicates: node.submitter?.duplicates ?? 0,
    retried: list.filter(([id]) => (node.api.get(id)?.attempts ?? 0) > 1).length,
    p50: q(0.5),
    p95: q(0.95),
    max: latencies.at(-1)
  }
}

type Handler = (args: Record<string, unknown>) => unknown

const handlers: Record<string, Handler> = {
  info: () => {
    const libp2p = node.libp2p
    return {
      peerId: node.peerId,
      addrs: libp2p?.getMultiaddrs().map(a => a.toString()) ?? [],
      circuits: libp2p?.getMultiaddrs().map(a => a.toString()).filter(a => a.includes('/p2p-circuit')) ?? [],
      watchdog: node.relayWatchdog?.stats(),
      rejections: node.rejectionCounts,
      workersKnown: node.table.workers().map(w => ({ peerId: w.peerId, labels: w.labels, freeSlots: w.freeSlots })),
      members: node.memberIds(),
      unhandled: unhandled.length,
      rebootstraps: node.discovery?.rebootstraps ?? 0
    }
  },
  connections: () => (node.libp2p?.getConnections() ?? []).map(c => ({
    peer: c.remotePeer.toString(),
    addr: c.remoteAddr.toString(),
    direction: c.direction,
    limited: c.limits != null,
    relayed: c.remoteAddr.toString().includes('/p2p-circuit'),
    openedAt: c.timeline.open
  })),
  submit: async (a) => {
    const count = Number(a.count ?? 1)
    const ids: string[] = []
    for (let i = 0; i < count; i++) {
      ids.push(await submitOne(String(a.type), payloadOf(a.payloadBytes as number | undefined, a.payload as string | undefined, i), extraOf(a)))
    }
    return ids
  },
  /** a steady stream: `rate` tasks a second until stopped; the ids are collected under `name` */
  streamStart: (a) => {
    const name = String(a.name)
    const ids: string[] = []
    let i = 0
    const timer = setInterval(() => {
      submitOne(String(a.type), payloadOf(a.payloadBytes as number | undefined, a.payload as string | undefined, i++), extraOf(a))
        .then(id => { ids.push(id) }, () => {})
    }, Math.max(5, Math.round(1000 / Number(a.rate ?? 5))))
    streams.set(name, { stop: () => { clearInterval(timer) }, ids })
    return name
  },
  streamStop: (a) => {
    const s = streams.get(String(a.name))
    s?.stop()
    return s?.ids ?? []
  },
  /** waits until every task (or the given ones) ended, or the timeout passed; answers the summary */
  wait: async (a) => {
    const ids = (a.ids as string[] | undefined) ?? [...mine.keys()]
    const deadline = Date.now() + Number(a.timeoutMs ?? 60_000)
    while (Date.now() < deadline) {
      if (ids.every(id => TERMINAL_STATUSES.has(node.api.get(id)?.status ?? 'queued'))) break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    // let results that are ended but still being delivered as duplicates arrive
    await new Promise(resolve => setTimeout(resolve, Number(a.settleMs ?? 0)))
    return summary(ids)
  },
  summary: (a) => summary(a.ids as string[] | undefined),
  tasks: (a) => ((a.ids as string[] | undefined) ?? [...mine.keys()]).map(id => {
    const v = node.api.get(id)
    const rec = mine.get(id)
    return { id, status: v?.status, worker: v?.worker, attempts: v?.attempts, history: v?.history, resultBytes: rec?.resultBytes, resultSha: rec?.resultSha, error: v?.error }
  }),
  dial: async (a) => {
    const t0 = Date.now()
    try {
      // force: a new connection even when one to that peer exists (an existing one proves nothing about this address)
      const conn = await node.libp2p!.dial(multiaddr(String(a.addr)), { force: a.force !== false, signal: AbortSignal.timeout(Number(a.timeoutMs ?? 5000)) })
      return { ok: true, ms: Date.now() - t0, addr: conn.remoteAddr.toString(), limited: conn.limits != null }
    } catch (err) {
      return { ok: false, ms: Date.now() - t0, error: (err as Error).name + ': ' + (err as Error).message.slice(0, 200) }
    }
  },
  /** dial a peer by ID (addresses from the peer store), as the task streams do */
  dialPeer: async (a) => {
    const t0 = Date.now()
    try {
      const conn = await node.libp2p!.dial(peerIdFromString(String(a.peer)), { signal: AbortSignal.timeout(Number(a.timeoutMs ?? 10_000)) })
      return { ok: true, ms: Date.now() - t0, addr: conn.remoteAddr.toString(), limited: conn.limits != null }
    } catch (err) {
      const e = err as Error & { errors?: Error[] }
      return { ok: false, ms: Date.now() - t0, error: `${e.name}: ${e.message}`, errors: e.errors?.map(x => `${x.name}: ${x.message}`.slice(0, 200)) }
    }
  },
  peerAddrs: async (a) => {
    try {
      const p = await node.libp2p!.peerStore.get(peerIdFromString(String(a.peer)))
      return p.addresses.map(x => x.multiaddr.toString())
    } catch { return [] }
  },
  /** for experiments: turn the relay watchdog off (it cannot be turned on again) */
  watchdogOff: () => { node.relayWatchdog?.stop(); return node.relayWatchdog != null },
  stop: (a) => { shutdown(Number(a.drainMs ?? 0)); return true }
}

await node.start()
reply({ event: 'started', peerId: node.peerId, addrs: node.libp2p?.getMultiaddrs().map(a => a.toString()) })

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  let msg: { id?: number, op?: string, args?: Record<string, unknown> }
  try { msg = JSON.parse(line) as typeof msg } catch { return }
  const handler = handlers[msg.op ?? '']
  if (handler == null) { reply({ id: msg.id, ok: false, error: `unknown op ${msg.op}` }); return }
  Promise.resolve()
    .then(async () => handler(msg.args ?? {}))
    .then(value => { reply({ id: msg.id, ok: true, value }) }, (err: unknown) => { reply({ id: msg.id, ok: false, error: String((err as Error)?.message ?? err) }) })
})
// the controlling test went away: stop at once
lines.on('close', () => { shutdown(0) })
