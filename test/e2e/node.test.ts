import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { capabilitiesTopic } from '../../src/protocol/names.ts'
import { TestNet, addrOf, connected, until } from '../utils/nodes.ts'

describe('the node: roles, discovery, identity, isolation', { timeout: 240_000 }, () => {
  const net = new TestNet()
  after(async () => { await net.close() })

  it('bootstrap + relay + 3 workers: every worker connects to the two others given only the bootstrap', async () => {
    const boot = await net.start('bootstrap', 'mesh-boot')
    const peers = { 'network.bootstrap_peers': [addrOf(boot)] }
    await net.start('relay', 'mesh-relay', peers)
    const workers = await Promise.all([1, 2, 3].map(async i => net.start('worker', `mesh-w${i}`, peers)))
    await until('each worker connected to both others', () =>
      workers.every(w => workers.every(o => o === w || connected(w, o))))
    // and each knows the others' capabilities and roles
    await until('capability tables filled', () => workers.every(w => w.table.workers().length === 3))
    // identify may finish a moment after the connection opens: wait for the peer table to list them
    const roles = (): string => workers[0]!.peers().map(p => p.role).sort().join(',')
    await until('the peer table lists every role', () => roles() === 'bootstrap,relay,worker,worker')
    assert.equal(roles(), 'bootstrap,relay,worker,worker')
  })

  it('a worker restarted with the same data_dir keeps its peer ID and reconnects to known peers while the bootstrap is down', async () => {
    const boot = await net.start('bootstrap', 'rs-boot')
    const peers = { 'network.bootstrap_peers': [addrOf(boot)] }
    const a = await net.start('worker', 'rs-a', peers)
    const b = await net.start('worker', 'rs-b', peers)
    await until('a and b connected and identified', () => connected(a, b) && a.memberIds().includes(b.peerId))
    const id = a.peerId
    await a.stop() // persists known peers
    await boot.stop()
    const again = await net.start('worker', 'rs-a', peers)
    assert.equal(again.peerId, id)
    await until('restarted worker reconnected to b without the bootstrap', () => connected(again, b))
  })

  it('two networks with different protocol_version sharing a bootstrap never see each other', async () => {
    const boot = await net.start('bootstrap', 'pv-boot', { 'network.protocol_version': 'net-a' })
    const peers = { 'network.bootstrap_peers': [addrOf(boot)] }
    const a1 = await net.start('worker', 'pv-a1', { ...peers, 'network.protocol_version': 'net-a' })
    const a2 = await net.start('worker', 'pv-a2', { ...peers, 'network.protocol_version': 'net-a' })
    const b1 = await net.start('worker', 'pv-b1', { ...peers, 'network.protocol_version': 'net-b' })
    await until('network a converged', () => a1.table.workers().length === 2 && a2.table.workers().length === 2)
    // give network b every chance to leak: several re-bootstrap rounds
    await new Promise(resolve => setTimeout(resolve, 3000))
    const bId = b1.peerId
    for (const n of [boot, a1, a2]) {
      assert.ok(!n.memberIds().includes(bId), `${n.role} sees the other network's peer`)
      assert.equal(n.table.get(bId), undefined)
      assert.ok(!n.peers().some(p => p.peerId === bId))
      assert.ok(!(n.libp2p!.services.pubsub.getSubscribers(capabilitiesTopic('net-a')).some(p => p.toString() === bId)))
      const dht = n.libp2p!.services.dht as unknown as { routingTable?: { find(id: unknown): Promise<unknown> } } | undefined
      if (dht?.routingTable != null) assert.equal(await dht.routingTable.find(b1.libp2p!.peerId), undefined)
    }
    assert.deepEqual(b1.memberIds(), [])
    assert.equal(b1.table.workers().length, 1) // only itself
  })

  it('a worker with no dialable address of its own is reached through the relay, and runs tasks', async () => {
    const boot = await net.start('bootstrap', 'relay-boot')
    const peers = { 'network.bootstrap_peers': [addrOf(boot)] }
    const relay = await net.start('relay', 'relay-relay', peers)
    const hidden = await net.start('worker', 'relay-hidden', { ...peers, 'node.listen_tcp': false })
    await until('hidden worker has a relay reservation', () =>
      hidden.libp2p!.getMultiaddrs().some(a => a.toString().includes(`/p2p/${relay.peerId}/p2p-circuit`)), 30_000)
    const circuit = hidden.libp2p!.getMultiaddrs().find(a => a.toString().includes('/p2p-circuit'))!
    assert.ok(!hidden.libp2p!.getMultiaddrs().some(a => !a.toString().includes('/p2p-circuit')), 'no direct address')
    // a fresh node that only has the circuit address reaches it
    const client = await net.start('bootstrap', 'relay-client', { 'network.enable_dht': false })
    const conn = await client.libp2p!.dial(multiaddr(circuit.toString()))
    assert.equal(conn.remotePeer.toString(), hidden.peerId)
    assert.match(conn.remoteAddr.toString(), /p2p-circuit/)
    // and the task protocol runs over the limited (relayed) connection
    await until('client knows the hidden worker', () => client.table.workers().length === 1, 30_000)
    const task = await client.api.submit({ type: 'compute', payload: 'hello' })
    const done = await client.api.wait(task.id)
    assert.equal(done.status, 'succeeded', done.error)
    assert.equal(done.result, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
    assert.equal(done.worker, hidden.peerId)
  })

  it('nodes with different private-network keys cannot connect; with the same key they can', async () => {
    const k1 = await net.swarmKey('k1.swarm')
    const k2 = await net.swarmKey('k2.swarm')
    const a = await net.start('bootstrap', 'psk-a', { 'network.private_key_file': k1 })
    const same = await net.start('bootstrap', 'psk-same', { 'network.private_key_file': k1 })
    const other = await net.start('bootstrap', 'psk-other', { 'network.private_key_file': k2 })
    const open = await net.start('bootstrap', 'psk-none')
    await same.libp2p!.dial(multiaddr(addrOf(a)))
    assert.ok(connected(same, a))
    await assert.rejects(other.libp2p!.dial(multiaddr(addrOf(a)), { signal: AbortSignal.timeout(10_000) }))
    await assert.rejects(open.libp2p!.dial(multiaddr(addrOf(a)), { signal: AbortSignal.timeout(10_000) }))
    assert.ok(!connected(other, a) && !connected(open, a))
  })

  it('SIGTERM ends the process with exit 0 within 10 s', async () => {
    const dir = await net.tmp()
    const file = join(dir, 'sigterm.yaml')
    writeFileSync(file, `node: { role: worker, listen_host: 127.0.0.1, listen_port: 0, data_dir: ${JSON.stringify(join(dir, 'sigterm'))} }\n` +
      'network: { enable_mdns: false }\ntasks: { handlers: { echo: { builtin: echo } } }\napi: { port: 0 }\nlog: { format: json }\n')
    const child = spawn(process.execPath, ['bin/p2p-node.js', 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    net.defer(async () => { child.kill('SIGKILL') })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    await until('node started', () => stderr.includes('"node started"'), 60_000)
    const exited = new Promise<{ code: number | null, ms: number }>(resolve => {
      const t0 = Date.now()
      child.on('exit', code => { resolve({ code, ms: Date.now() - t0 }) })
    })
    child.kill('SIGTERM')
    const { code, ms } = await exited
    assert.equal(code, 0, stderr)
    assert.ok(ms < 10_000, `took ${ms}ms`)
    assert.doesNotMatch(stderr, /\n\s+at /)
    assert.match(stderr, /"node stopped"/)
  })
})
