/**
 * Issue 7: peer exchange keeps a node at network.target_peers connections instead of a full mesh,
 * advertisements still reach every node over the GossipSub mesh, the network holds together when
 * its bootstrap goes, and a node under the target dials more of the peers it heard of. Also the
 * heartbeat spacing that grows with the network (node.ts heartbeatSpacingMs).
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { advertiseIntervalMs, heartbeatKeepaliveMs, heartbeatNews, heartbeatSpacingMs, keepaliveDueMs, tableExpiryMs, type P2PNode } from '../../src/node.ts'
import { heartbeatTopic } from '../../src/protocol/names.ts'
import { TestNet, addrOf, connected, until } from '../utils/nodes.ts'

const TARGET = 3

function workerLinks (workers: readonly P2PNode[]): number {
  let n = 0
  for (const a of workers) for (const b of workers) if (a !== b && connected(a, b)) n++
  return n / 2
}

describe('peer exchange up to network.target_peers', { timeout: 180_000 }, () => {
  const net = new TestNet()
  after(async () => { await net.close() })

  it('8 workers with target_peers 3: no full mesh, every node knows every worker, and they hold together without the bootstrap', async () => {
    const boot = await net.start('bootstrap', 'px-boot')
    // relay transport off: with no relay to reserve on, its relay discovery dials every peer that
    // enters the peer store (libp2p's peer:discovery), a full mesh whatever target_peers says
    const peers = { 'network.bootstrap_peers': [addrOf(boot)], 'network.target_peers': TARGET, 'network.enable_relay': false }
    const workers: P2PNode[] = []
    // one after another, as a network grows: each later one hears of the earlier ones
    for (let i = 0; i < 8; i++) workers.push(await net.start('worker', `px-w${i}`, { ...peers, 'node.labels': { n: String(i) } }))
    await until('every node knows all 8 workers', () => [boot, ...workers].every(n => n.table.workers().length === 8), 60_000)
    // peer exchange dialled only up to the target (the bootstrap connection counts), so a worker's
    // own dials are at most TARGET - 1; a full mesh would be 28 worker-to-worker connections
    for (const w of workers) assert.ok(w.discovery!.exchangeDials <= TARGET, `${w.peerId} made ${w.discovery!.exchangeDials} peer-exchange dials`)
    const links = workerLinks(workers)
    assert.ok(links < 28, `full mesh: ${links} worker-to-worker connections`)
    assert.ok(links <= 8 * TARGET, `${links} worker-to-worker connections`)

    // the bootstrap goes: workers under the target dial more of the peers they heard of, and a new
    // worker that knows only w0 still reaches every other worker's table
    await boot.stop()
    await until('every worker back at the target without the bootstrap', () => workers.every(w => (w.libp2p?.getPeers().length ?? 0) >= TARGET), 30_000)
    const late = await net.start('worker', 'px-late', { 'network.bootstrap_peers': [addrOf(workers[0]!)], 'network.target_peers': TARGET, 'network.enable_relay': false })
    await until('every worker knows the late joiner', () => workers.every(w => w.table.get(late.peerId) != null), 30_000)
    // and a task from the late joiner runs on a worker it is not connected to (dialled on demand)
    const far = workers.find(w => !connected(late, w))
    assert.ok(far != null, 'the late joiner is connected to every worker: target_peers not applied')
    {
      const n = Object.entries(far.config.node.labels)[0]!
      const t = await late.api.submit({ type: 'compute', payload: 'far', selector: `${n[0]}=${n[1]}` })
      const done = await late.api.wait(t.id, { signal: AbortSignal.timeout(30_000) })
      assert.equal(done.status, 'succeeded', done.error)
      assert.equal(done.worker, far.peerId)
    }
  })

  it('heartbeat and advertisement periods grow with the network, so its total gossip stays about constant', () => {
    // small networks and production intervals: as before
    assert.equal(heartbeatKeepaliveMs(1000), 3000)
    assert.equal(heartbeatKeepaliveMs(1000, 5), 3000)
    assert.equal(heartbeatKeepaliveMs(30_000, 50), 30_000)
    assert.equal(tableExpiryMs(1000, 5), 11_000)
    assert.equal(advertiseIntervalMs(1000, 5), 10_000)
    assert.equal(heartbeatSpacingMs(1, 1000), 250)
    // 50 nodes at 1 s heartbeats: a keepalive every 15 s, news at most every 10 s, an advertisement every 20 s
    assert.equal(heartbeatKeepaliveMs(1000, 50), 15_000)
    assert.equal(tableExpiryMs(1000, 50), 47_000)
    assert.equal(heartbeatSpacingMs(50, 1000), 10_000)
    assert.equal(advertiseIntervalMs(1000, 50), 20_000)
    assert.equal(heartbeatSpacingMs(500, 30_000), 100_000) // never above the keepalive (500 nodes: 150 s)
    for (const n of [10, 25, 50, 100]) {
      // heartbeats a second from the whole network: keepalives plus news, at most
      const total = n / heartbeatKeepaliveMs(1000, n) * 1000 + n / heartbeatSpacingMs(n, 1000) * 1000
      assert.ok(total <= 9, `${n} nodes: ${total} heartbeats a second`)
    }
  })

  it('an idle node\'s keepalive comes up to 20 % early at random, but never sooner than the heartbeat spacing', () => {
    for (const hb of [1000, 30_000]) {
      for (const n of [0, 1, 4, 16, 50, 500]) {
        const latest = heartbeatKeepaliveMs(hb, n) - hb / 2
        const dues = [0, 0.25, 0.5, 0.999].map(u => keepaliveDueMs(hb, n, u))
        for (const due of dues) {
          assert.ok(due <= latest, `${n} nodes, ${hb} ms: due ${due} after ${latest}`)
          assert.ok(due >= Math.min(heartbeatSpacingMs(n, hb), latest), `${n} nodes, ${hb} ms: due ${due} before the spacing`)
        }
        assert.equal(dues[0], latest)
      }
    }
    // spread where the spacing leaves room: 16 nodes at 1 s (keepalive 4.8 s, spacing 3.2 s)
    assert.equal(keepaliveDueMs(1000, 16, 0), 4300)
    assert.ok(keepaliveDueMs(1000, 16, 0.5) < 4300)
    // 50 nodes on the shipped 30 s (keepalive 30 s, spacing 10 s): due 15 s after the last heartbeat
    // (the next 30 s tick), or as little as 10 s
    assert.equal(keepaliveDueMs(30_000, 50, 0), 15_000)
    assert.equal(keepaliveDueMs(30_000, 50, 0.999), 10_000)
  })

  it('a heartbeat is news when a worker fills up, frees, drains or a node gets a queue; not for every slot', () => {
    const at = (freeSlots: number, queued = 0, draining = false): string => heartbeatNews({ freeSlots, slots: 16, queued, draining })
    // a 50-worker burst keeps each worker's free slots moving between 16 and 9: no news
    for (let free = 9; free <= 16; free++) assert.equal(at(free), at(16))
    assert.equal(at(1), at(7))
    assert.notEqual(at(8), at(7))
    assert.notEqual(at(0), at(1))
    assert.notEqual(at(16, 0, true), at(16))
    assert.equal(at(16, 1), at(16, 500))
    assert.notEqual(at(16, 1), at(16, 0))
    // a node without slots (a gateway): its queue is news
    assert.notEqual(heartbeatNews({ freeSlots: 0, slots: 0, queued: 3, draining: false }), heartbeatNews({ freeSlots: 0, slots: 0, queued: 0, draining: false }))
  })

  it('a worker heartbeats no more often than heartbeatSpacingMs of its table size while its slots churn', async () => {

    const boot = await net.start('bootstrap', 'hb-boot')
    const w = await net.start('worker', 'hb-w', { 'network.bootstrap_peers': [addrOf(boot)], 'tasks.slots': 4 })
    await until('the bootstrap knows the worker', () => boot.table.get(w.peerId) != null, 30_000)
    // 15 more nodes in the worker's table (advertisements it would have received in a bigger network)
    for (let i = 0; i < 15; i++) {
      w.table.advertise({ peerId: `fake-${i}`, role: 'worker', capabilities: [], labels: {}, taskTypes: [], slots: 0, addrs: [], seq: BigInt(Date.now()) * 1000n })
    }
    const size = w.table.size()
    assert.ok(size >= 16)
    const spacing = heartbeatSpacingMs(size, w.config.node.heartbeatIntervalMs)
    assert.ok(spacing >= 3000)
    const seen: number[] = []
    boot.libp2p!.services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic === heartbeatTopic(boot.config.network.protocolVersion)) seen.push(Date.now())
    })
    // the worker fills up and empties all the time for 8 s (full and free are news): four short
    // tasks at once, one round after another
    const t0 = Date.now()
    while (Date.now() - t0 < 8000) {
      const round = await Promise.all(Array.from({ length: 4 }, async () => await boot.api.submit({ type: 'sleep', payload: '50' })))
      await Promise.all(round.map(async t => await boot.api.wait(t.id)))
    }
    assert.ok(seen.length >= 2, `only ${seen.length} heartbeats`)
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]! - seen[i - 1]! >= spacing - 150, `heartbeats ${seen[i]! - seen[i - 1]!} ms apart, spacing ${spacing} ms`)
    }
  })
})
