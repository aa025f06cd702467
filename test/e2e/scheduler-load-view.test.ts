/**
 * Who hears every worker's load: the heartbeat topic is followed by bootstraps and relays (they
 * carry the heartbeats of the workers connected to them) and by a node once it places tasks. A
 * worker that only runs tasks publishes its heartbeats without hearing anyone else's, so a network
 * of N workers no longer pays N² for load gossip. Real nodes on 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { heartbeatTopic } from '../../src/protocol/names.ts'
import { TestNet, addrOf, until } from '../utils/nodes.ts'

const PV = 'p2p-network'

describe('the load view: who follows heartbeats', { timeout: 120_000 }, () => {
  const net = new TestNet()
  after(async () => { await net.close() })

  it('a worker hears no heartbeats until it submits; the bootstrap hears every worker\'s; a new submitter places from advertisements', async () => {
    const boot = await net.start('bootstrap', 'lv-boot')
    const peers = { 'network.bootstrap_peers': [addrOf(boot)] }
    const a = await net.start('worker', 'lv-a', { ...peers, 'node.labels': { name: 'a' } })
    const b = await net.start('worker', 'lv-b', { ...peers, 'node.labels': { name: 'b' } })
    await until('everyone knows both workers', () => [boot, a, b].every(n => n.table.get(a.peerId) != null && n.table.get(b.peerId) != null))

    // the bootstrap hears both workers' heartbeats, and more than one of b's
    await until('the bootstrap heard both workers\' heartbeats', () => boot.table.get(a.peerId)?.lastHeartbeat != null && boot.table.get(b.peerId)?.lastHeartbeat != null)
    const seq = boot.table.get(b.peerId)!.heartbeatSeq
    await until('the bootstrap heard another heartbeat of b', () => boot.table.get(b.peerId)!.heartbeatSeq > seq, 20_000)
    assert.equal(boot.status().followsLoad, true)

    // ... which the worker a did not hear: it runs tasks, it places none
    for (const w of [a, b]) {
      assert.equal(w.status().followsLoad, false)
      assert.ok(!w.libp2p!.services.pubsub.getTopics().includes(heartbeatTopic(PV)), 'not subscribed to heartbeats')
    }
    assert.equal(a.table.get(b.peerId)?.lastHeartbeat, undefined, 'a heard none of b\'s heartbeats')

    // a submits: placed on b from its advertisement alone (slots known, load not yet)
    const task = await a.api.submit({ type: 'compute', payload: 'hello', selector: 'name=b' })
    const done = await a.api.wait(task.id, { signal: AbortSignal.timeout(30_000) })
    assert.equal(done.status, 'succeeded')
    assert.equal(done.worker, b.peerId)

    // and from then on a follows the load: b's heartbeats reach it
    assert.equal(a.status().followsLoad, true)
    assert.ok(a.libp2p!.services.pubsub.getTopics().includes(heartbeatTopic(PV)))
    await until('b\'s heartbeats reach a', () => a.table.get(b.peerId)?.lastHeartbeat != null, 20_000)
    // b still follows nothing: it ran a task, it placed none
    assert.equal(b.status().followsLoad, false)
  })

  it('asking a worker for the capabilities view makes it follow the load', async () => {
    const boot = await net.start('bootstrap', 'lv2-boot')
    const peers = { 'network.bootstrap_peers': [addrOf(boot)] }
    const a = await net.start('worker', 'lv2-a', peers)
    const b = await net.start('worker', 'lv2-b', peers)
    await until('a knows b', () => a.table.get(b.peerId) != null)
    assert.equal(a.status().followsLoad, false)
    const view = a.api.capabilities().find(c => c.peerId === b.peerId)
    assert.ok(view != null)
    assert.equal(a.status().followsLoad, true)
    await until('b\'s heartbeats reach a', () => a.table.get(b.peerId)?.lastHeartbeat != null, 20_000)
  })
})
