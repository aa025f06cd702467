/**
 * Issue 6, unhandled rejections, the dialling side: reliability-rejections.test.ts aborts what
 * others open *to* the node; this aborts what the node opens itself. A real worker process
 * (`bin/p2p-node.js run`; Node exits on an unhandled rejection) dials, through its bootstrap list,
 * its re-bootstrap loop and peer exchange of advertisements, only "tarpits" on 127.0.0.1: one
 * resets every connection at once, one answers the multistream header and then resets mid-handshake,
 * one accepts and never answers (the dial is aborted by its timeout, and the last ones by SIGTERM).
 * The process must log no unhandled rejection, run tasks for a submitter afterwards, and exit 0.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { CapabilityAdvertisement, WIRE_VERSION } from '../../src/protocol/codec.ts'
import { capabilitiesTopic } from '../../src/protocol/names.ts'
import { TestNet, until } from '../utils/nodes.ts'
import { GossipInjector, signedMessage, startHostile, type Hostile } from '../reliability/hostile.ts'

const PV = 'p2p-network'
type Mode = 'reset' | 'mid_handshake' | 'stall'

interface Tarpit { mode: Mode, port: number, accepted: number, server: Server, sockets: Set<Socket> }

async function tarpit (mode: Mode): Promise<Tarpit> {
  const sockets = new Set<Socket>()
  const t: Tarpit = { mode, port: 0, accepted: 0, sockets, server: createServer() }
  t.server.on('connection', (sock) => {
    t.accepted++
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => {})
    if (mode === 'reset') sock.resetAndDestroy()
    else if (mode === 'mid_handshake') {
      sock.write('\x13/multistream/1.0.0\n')
      setTimeout(() => sock.resetAndDestroy(), 50)
    }
    // stall: keep the socket open and say nothing
  })
  await new Promise<void>(resolve => t.server.listen(0, '127.0.0.1', resolve))
  t.port = (t.server.address() as { port: number }).port
  return t
}

describe('reliability: the node process survives its own aborted dials', { timeout: 180_000 }, () => {
  const net = new TestNet()
  let child: ChildProcess | undefined
  const hostiles: Hostile[] = []
  const pits: Tarpit[] = []
  after(async () => {
    if (child != null && child.exitCode == null) child.kill('SIGKILL')
    for (const h of hostiles) await h.stop().catch(() => {})
    for (const p of pits) {
      for (const s of p.sockets) s.destroy()
      await new Promise(resolve => p.server.close(resolve))
    }
    await net.close()
  })

  it('dials reset at once, reset mid-handshake, timed out and cut by SIGTERM: no unhandled rejection, still serving, exit 0', async () => {
    for (const mode of ['reset', 'mid_handshake', 'stall'] as const) pits.push(await tarpit(mode))
    const dir = await net.tmp()
    const file = join(dir, 'dialler.yaml')
    writeFileSync(file, JSON.stringify({
      node: { role: 'worker', listen_host: '127.0.0.1', listen_port: 0, heartbeat_interval: 1, data_dir: join(dir, 'dialler') },
      // only tarpits to bootstrap from: every start-up and re-bootstrap dial is aborted
      network: { enable_mdns: false, connection_timeout: 2, rebootstrap_backoff: 1, bootstrap_peers: pits.map(p => `/ip4/127.0.0.1/tcp/${p.port}`) },
      tasks: { slots: 4, handlers: { compute: { builtin: 'sha256' } } },
      api: { port: 0 },
      log: { level: 'info', format: 'json' }
    }))
    let stderr = ''
    const proc = spawn(process.execPath, ['bin/p2p-node.js', 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, P2P_DRAIN_MS: '2000' } })
    child = proc
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const alive = (): boolean => proc.exitCode == null && proc.signalCode == null
    await until('the worker process started', () => stderr.includes('"node started"') || !alive(), 60_000)
    assert.ok(alive(), stderr.slice(-3000))
    const started = JSON.parse(stderr.split('\n').find(l => l.includes('"node started"'))!) as { addrs: string[], peer_id: string }
    const addr = started.addrs.find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))!
    await until('every tarpit dialled by the bootstrap loop', () => pits.every(p => p.accepted >= 1), 30_000)

    // peer exchange: advertisements of peers whose every address is a tarpit
    const h = await startHostile(PV)
    hostiles.push(h)
    const inj = await GossipInjector.open(h, addr)
    const before = pits.map(p => p.accepted)
    for (let i = 0; i < 6; i++) {
      const ghost = await startHostile(PV)
      await ghost.stop()
      const pit = pits[i % pits.length]!
      const ad = CapabilityAdvertisement.encode({
        version: WIRE_VERSION, network: PV, peer: ghost.peerId.toMultihash().bytes, role: 'worker', capabilities: ['compute'], labels: new Map(),
        taskTypes: ['compute'], slots: 4, addrs: [`/ip4/127.0.0.1/tcp/${pit.port}/p2p/${ghost.peerId.toString()}`], seq: 1n, timestamp: BigInt(Date.now())
      })
      await inj.send([await signedMessage(ghost.privateKey, capabilitiesTopic(PV), ad, BigInt(i + 1))], [{ subscribe: true, topic: capabilitiesTopic(PV) }])
    }
    await until('the advertised tarpits dialled', () => pits.every((p, i) => p.accepted > before[i]!), 30_000)
    // let the stalled dials time out and the re-bootstrap loop go round again
    await new Promise(resolve => setTimeout(resolve, 4000))
    assert.ok(alive(), `the worker process died:\n${stderr.slice(-3000)}`)

    // still serving
    const sub = await net.start('bootstrap', 'dial-sub', { 'network.bootstrap_peers': [addr], 'network.enable_dht': false })
    await until('the submitter knows the worker', () => sub.table.workers().some(w => w.peerId === started.peer_id), 30_000)
    const tasks = await Promise.all(Array.from({ length: 5 }, async (_v, i) => sub.api.submit({ type: 'compute', payload: `after-${i}` })))
    const done = await Promise.all(tasks.map(async x => sub.api.wait(x.id)))
    for (const d of done) assert.equal(d.status, 'succeeded', d.error)

    // SIGTERM while dials to the stalling tarpit may still be pending: they are aborted by the stop
    const stalled = pits.find(p => p.mode === 'stall')!
    assert.ok(stalled.sockets.size + stalled.accepted > 0)
    const exited = new Promise<number | null>(resolve => proc.once('exit', code => { resolve(code) }))
    proc.kill('SIGTERM')
    const code = await exited
    const unhandled = /unhandledRejection|Unhandled promise|UnhandledPromiseRejection/i.test(stderr)
    process.stdout.write(`# RELIABILITY aborted-dials ${JSON.stringify({ dials_accepted_by_tarpit: Object.fromEntries(pits.map(p => [p.mode, p.accepted])), tasks_after: done.length, exit_code: code, unhandled_rejection_in_log: unhandled })}\n`)
    assert.equal(code, 0, stderr.slice(-3000))
    assert.equal(unhandled, false, stderr.slice(-3000))
  })
})
