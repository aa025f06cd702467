/**
 * The hostile-peer defences are visible in the victim's metrics (real nodes on 127.0.0.1): a
 * heartbeat flooder moves p2p_rate_limited_total{surface="gossip"} and p2p_peers_banned_total, its
 * reconnection moves p2p_connections_refused_total{reason="banned"}, and a task-stream garbage
 * sender moves p2p_peers_banned_total{reason="stream_abuse"}. Read from the registry /metrics serves.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { HeartBeat, WIRE_VERSION, frame } from '../../src/protocol/codec.ts'
import { heartbeatTopic } from '../../src/protocol/names.ts'
import type { P2PNode } from '../../src/node.ts'
import { TestNet, addrOf, until } from '../utils/nodes.ts'
import { GossipInjector, TaskInjector, signedMessage, startHostile, type Hostile } from '../reliability/hostile.ts'

const PV = 'p2p-network'

function valueIn (text: string, name: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

async function series (node: P2PNode, name: string): Promise<number | undefined> {
  return valueIn(await node.registry!.metrics(), name)
}

describe('metrics of the hostile-peer defences', { timeout: 120_000 }, () => {
  const net = new TestNet()
  const hostiles: Hostile[] = []
  let w: P2PNode

  before(async () => {
    const boot = await net.start('bootstrap', 'm-boot')
    w = await net.start('worker', 'm-worker', { 'network.bootstrap_peers': [addrOf(boot)] })
  })
  after(async () => {
    for (const h of hostiles) await h.stop().catch(() => {})
    await net.close()
  })

  it('start at 0 for every closed label value', async () => {
    for (const s of ['p2p_rate_limited_total{surface="gossip"}', 'p2p_rate_limited_total{surface="task_stream"}',
      'p2p_peers_banned_total{reason="gossip_graylisted"}', 'p2p_peers_banned_total{reason="gossip_invalid"}', 'p2p_peers_banned_total{reason="stream_abuse"}',
      'p2p_connections_refused_total{reason="banned"}', 'p2p_connections_refused_total{reason="not_allowed"}']) {
      assert.equal(await series(w, s), 0, s)
    }
  })

  it('a heartbeat flooder moves the rate-limit and ban counters; its reconnection the refusal counter', async () => {
    const h = await startHostile(PV)
    hostiles.push(h)
    const inj = await GossipInjector.open(h, addrOf(w))
    const me = h.peerId.toMultihash().bytes
    let seq = BigInt(Date.now()) * 1000n
    let sent = 0
    while (w.libp2p!.getConnections(h.peerId).length > 0 && sent < 5000) {
      const batch = await Promise.all(Array.from({ length: 5 }, async () => signedMessage(h.privateKey, heartbeatTopic(PV), HeartBeat.encode({
        version: WIRE_VERSION, network: PV, peer: me, seq: ++seq, running: 0, freeSlots: 4, queue: 0, load: 0, uptimeMs: 1000n, timestamp: BigInt(Date.now())
      }), seq)))
      if (!await inj.send(batch)) break
      sent += batch.length
      await new Promise(resolve => setImmediate(resolve))
    }
    await until('W to hang up on the flooder', () => w.libp2p!.getConnections(h.peerId).length === 0, 10_000)
    const text = await w.registry!.metrics()
    const limited = valueIn(text, 'p2p_rate_limited_total{surface="gossip"}') ?? 0
    const rejected = valueIn(text, 'p2p_gossip_messages_rejected_total{topic="heartbeat",reason="rate_limited"}') ?? 0
    assert.ok(limited >= 1, `rate limited ${limited} after ${sent} messages`)
    assert.equal(limited, rejected, 'every gossip rate-limit rejection is counted once in each')
    const banned = (await series(w, 'p2p_peers_banned_total{reason="gossip_invalid"}') ?? 0) + (await series(w, 'p2p_peers_banned_total{reason="gossip_graylisted"}') ?? 0)
    assert.equal(banned, 1)
    assert.equal(banned, (w.guard?.counts.gossip_invalid ?? 0) + (w.guard?.counts.gossip_graylisted ?? 0))

    // the banned peer comes back: the gater refuses it and counts it
    await h.libp2p.dial(peerIdFromString(w.peerId), { signal: AbortSignal.timeout(5000) }).catch(() => {})
    await until('W to count the refusal', async () => (await series(w, 'p2p_connections_refused_total{reason="banned"}') ?? 0) >= 1, 10_000)
    assert.equal(await series(w, 'p2p_connections_refused_total{reason="not_allowed"}'), 0)
  })

  it('a task-stream garbage sender moves p2p_peers_banned_total{reason="stream_abuse"}', async () => {
    const h = await startHostile(PV)
    hostiles.push(h)
    let streams = 0
    let frames = 0
    while (streams < 10 && frames < 2000) {
      let inj: TaskInjector
      try { inj = await TaskInjector.open(h, addrOf(w), PV) } catch { break }
      streams++
      while (inj.open && frames < 2000) {
        if (!await inj.raw(frame(crypto.getRandomValues(new Uint8Array(1 + (frames % 50)))).subarray())) break
        frames++
        await new Promise(resolve => setTimeout(resolve, 1))
      }
      await new Promise(resolve => setTimeout(resolve, 50))
      if (w.libp2p!.getConnections(h.peerId).length === 0) break
    }
    await until('W to ban the frame abuser', async () => (await series(w, 'p2p_peers_banned_total{reason="stream_abuse"}') ?? 0) === 1, 10_000)
    assert.ok((await series(w, 'p2p_stream_messages_rejected_total{reason="decode"}') ?? 0) >= 20)
  })
})
