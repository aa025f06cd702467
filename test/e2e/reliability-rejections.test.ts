/**
 * Issue 6, unhandled rejections: Node exits on an unhandled promise rejection, so every aborted
 * dial and stream must be handled. A real worker process (`bin/p2p-node.js run`) is put through
 * what breaks promises: peers that reset streams mid-frame (task protocol, GossipSub, identify,
 * ping), TCP connections cut mid-handshake, a submitter killed while its tasks run (the worker then
 * re-sends results to, and dials, an address nobody listens on), offers whose sender resets before
 * the accept, and advertisements pointing at dead addresses. The process must survive all of it
 * (no `unhandledRejection`, no crash), still run tasks, and exit 0 on SIGTERM.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { CapabilityAdvertisement, WIRE_VERSION, frame, encodeFrame } from '../../src/protocol/codec.ts'
import { capabilitiesTopic, identifyPrefix, taskProtocol } from '../../src/protocol/names.ts'
import { TestNet, until } from '../utils/nodes.ts'
import { GossipInjector, MESHSUB, signedMessage, startHostile, type Hostile } from '../reliability/hostile.ts'
import { report } from '../reliability/cluster.ts'

const PV = 'p2p-network'

describe('reliability: the node process survives aborted dials and streams', { timeout: 180_000 }, () => {
  const net = new TestNet()
  let child: ChildProcess | undefined
  let stderr = ''
  const hostiles: Hostile[] = []
  after(async () => {
    if (child != null && child.exitCode == null) child.kill('SIGKILL')
    for (const h of hostiles) await h.stop().catch(() => {})
    await net.close()
  })

  it('resets mid-stream, cut handshakes, dead submitters and dead addresses: no unhandled rejection, still serving, exit 0', async (t) => {
    const dir = await net.tmp()
    const file = join(dir, 'victim.yaml')
    writeFileSync(file, JSON.stringify({
      node: { role: 'worker', listen_host: '127.0.0.1', listen_port: 0, heartbeat_interval: 1, data_dir: join(dir, 'victim') },
      network: { enable_mdns: false, connection_timeout: 5, rebootstrap_backoff: 1 },
      tasks: { slots: 4, handlers: { compute: { builtin: 'sha256' }, sleep: { builtin: 'sleep' } } },
      api: { port: 0 },
      log: { level: 'info', format: 'json' }
    }))
    const proc = spawn(process.execPath, ['bin/p2p-node.js', 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, P2P_DRAIN_MS: '3000' } })
    child = proc
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    await until('the worker process started', () => stderr.includes('"node started"'), 60_000)
    const started = JSON.parse(stderr.split('\n').find(l => l.includes('"node started"'))!) as { addrs: string[], peer_id: string }
    const addr = started.addrs.find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))!
    const port = Number(addr.split('/tcp/')[1]!.split('/')[0])
    const alive = (): boolean => proc.exitCode == null && proc.signalCode == null
    const counts: Record<string, number> = {}
    const bump = (k: string): void => { counts[k] = (counts[k] ?? 0) + 1 }

    // 1. streams reset mid-frame, on every protocol the node serves
    const h = await startHostile(PV)
    hostiles.push(h)
    for (let i = 0; i < 15; i++) {
      for (const proto of [taskProtocol(PV), MESHSUB, `${identifyPrefix(PV)}/id/1.0.0`, '/ipfs/ping/1.0.0']) {
        try {
          const s = await h.libp2p.dialProtocol(multiaddr(addr), proto, { signal: AbortSignal.timeout(5000) })
          // half a frame: a length prefix promising 1000 bytes, then 10 of them
          s.send(Uint8Array.from([0xe8, 0x07, ...new Uint8Array(10)]))
          s.abort(new Error('reset mid-frame'))
          bump(`reset ${proto}`)
        } catch { bump(`refused ${proto}`) }
      }
    }
    // a whole connection dropped while streams are open
    for (let i = 0; i < 5; i++) {
      const s = await h.libp2p.dialProtocol(multiaddr(addr), taskProtocol(PV))
      s.send(frame(encodeFrame({ kind: 'accept', accept: { id: 'x', attempt: 1 } })))
      await h.libp2p.hangUp(multiaddr(addr))
      bump('hang up with open streams')
    }

    // 2. TCP connections cut during the handshake, or answered with garbage
    for (let i = 0; i < 20; i++) {
      await new Promise<void>(resolve => {
        const sock = connect({ host: '127.0.0.1', port }, () => {
          if (i % 2 === 0) sock.write('/multistream/1.0.0\n garbage \x00\x01\x02')
          if (i % 3 === 0) sock.resetAndDestroy(); else sock.destroy()
          resolve()
        })
        sock.on('error', () => { resolve() })
      })
      bump('tcp cut')
    }

    // 3. a submitter killed while its tasks run on the worker: the worker's accepts, renewals and
    //    results go to a dead address, dialled again and again
    const sub = await net.start('bootstrap', 'rej-sub', { 'network.bootstrap_peers': [addr], 'network.enable_dht': false })
    await until('the submitter knows the worker', () => sub.table.workers().some(w => w.peerId === started.peer_id), 30_000)
    for (let i = 0; i < 6; i++) await sub.api.submit({ type: 'sleep', payload: '1500' })
    await until('tasks running on the worker', () => sub.api.list({ status: 'running' }).length >= 2, 20_000)
    await sub.stop() // its port closes: every later dial from the worker to it fails
    bump('submitter killed with running tasks')

    // 4. offers whose sender resets before the accept comes back
    const h2 = await startHostile(PV)
    hostiles.push(h2)
    for (let i = 0; i < 10; i++) {
      const s = await h2.libp2p.dialProtocol(multiaddr(addr), taskProtocol(PV))
      const task = {
        version: WIRE_VERSION, network: PV, id: `offer-${i}`, type: 'sleep', payload: new TextEncoder().encode('200'), payloadSize: 3,
        requires: ['sleep'], selector: '', timeoutMs: 5000, attempt: 1, maxAttempts: 1, submitter: h2.peerId.toMultihash().bytes, created: BigInt(Date.now())
      }
      s.send(frame(encodeFrame({ kind: 'offer', offer: { task } })))
      s.abort(new Error('gone'))
      bump('offer then reset')
    }
    await h2.stop() // the worker's accepts and results now go nowhere

    // 5. advertisements pointing at dead addresses: the worker's peer exchange dials them
    const h3 = await startHostile(PV)
    hostiles.push(h3)
    const inj = await GossipInjector.open(h3, addr)
    for (let i = 0; i < 5; i++) {
      const ghost = await startHostile(PV)
      const ghostId = ghost.peerId
      await ghost.stop()
      // advertised by the ghost's own key: signed and claims its signer, so it passes validation
      const ad = CapabilityAdvertisement.encode({
        version: WIRE_VERSION, network: PV, peer: ghostId.toMultihash().bytes, role: 'worker', capabilities: ['compute'], labels: new Map(),
        taskTypes: ['compute'], slots: 4, addrs: [`/ip4/127.0.0.1/tcp/${1 + i}/p2p/${ghostId.toString()}`, `/ip4/127.0.0.2/tcp/4001/p2p/${ghostId.toString()}`],
        seq: 1n, timestamp: BigInt(Date.now())
      })
      await inj.send([await signedMessage(ghost.privateKey, capabilitiesTopic(PV), ad, BigInt(i + 1))], [{ subscribe: true, topic: capabilitiesTopic(PV) }])
      bump('advertisement of a dead address')
    }

    // let the worker chew on all of it: result re-sends every lease interval, failed dials, timeouts
    await new Promise(resolve => setTimeout(resolve, 8000))
    assert.ok(alive(), `the worker process died:\n${stderr.slice(-3000)}`)

    // still serving: a fresh submitter runs tasks on it
    const sub2 = await net.start('bootstrap', 'rej-sub2', { 'network.bootstrap_peers': [addr], 'network.enable_dht': false })
    await until('the new submitter knows the worker', () => sub2.table.workers().some(w => w.peerId === started.peer_id), 30_000)
    const tasks = await Promise.all(Array.from({ length: 5 }, async (_v, i) => sub2.api.submit({ type: 'compute', payload: `after-${i}` })))
    const done = await Promise.all(tasks.map(async x => sub2.api.wait(x.id)))
    for (const d of done) assert.equal(d.status, 'succeeded', d.error)
    assert.ok(alive())

    const exited = new Promise<number | null>(resolve => proc.once('exit', code => { resolve(code) }))
    proc.kill('SIGTERM')
    const code = await exited
    const unhandled = /unhandledRejection|Unhandled promise|UnhandledPromiseRejection/i.test(stderr)
    report(t, 'unhandled-rejections', { injected: counts, process_survived: true, tasks_after: done.filter(d => d.status === 'succeeded').length, exit_code: code, unhandled_rejection_in_log: unhandled })
    assert.equal(code, 0, stderr.slice(-3000))
    assert.equal(unhandled, false, stderr.slice(-3000))
  })
})
