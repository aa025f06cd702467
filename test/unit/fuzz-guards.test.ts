/**
 * Issue 6: the pure parts of the hostile-peer and relay guards, property-tested where there is a
 * property (fast-check): rate limits never let more through than burst + rate x time; peer bans
 * expire and stay bounded; the announce filter keeps exactly announced and circuit addresses;
 * gossipsub accepts the score parameters; the relay watchdog escalates redial -> reidentify ->
 * reconnect and counts a recovery.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { createPeerScoreParams, createPeerScoreThresholds, validatePeerScoreParams, validatePeerScoreThresholds } from '@libp2p/gossipsub/score'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { PeerRateLimiter, TokenBucket } from '../../src/network/rate-limit.ts'
import { PeerGuard } from '../../src/network/peer-guard.ts'
import { announcedOrCircuit } from '../../src/network/libp2p.ts'
import { GOSSIP_SCORE_THRESHOLDS, gossipScoreParams, topicScoreParams } from '../../src/network/gossip-scoring.ts'
import { RelayWatchdog } from '../../src/network/relay-watchdog.ts'
import type { P2PLibp2p } from '../../src/network/libp2p.ts'
import { createLogger } from '../../src/logger.ts'

const logger = createLogger({ level: 'silent', format: 'json' })

describe('rate limits', () => {
  it('a token bucket never lets through more than burst + rate x elapsed', () => {
    fc.assert(fc.property(
      fc.record({ perSecond: fc.integer({ min: 1, max: 1000 }), burst: fc.integer({ min: 1, max: 5000 }) }),
      fc.array(fc.record({ dt: fc.integer({ min: 0, max: 2000 }), n: fc.integer({ min: 1, max: 50 }) }), { maxLength: 200 }),
      (limit, steps) => {
        const bucket = new TokenBucket(limit, 0)
        let now = 0
        let taken = 0
        for (const s of steps) {
          now += s.dt
          if (bucket.take(s.n, now)) taken += s.n
        }
        return taken <= limit.burst + limit.perSecond * now / 1000 + 1e-9
      }))
  })

  it('a peer limiter counts messages and bytes per peer, drops what does not fit, and stays bounded', () => {
    const lim = new PeerRateLimiter({ messages: { perSecond: 10, burst: 5 }, bytes: { perSecond: 1000, burst: 1000 } }, 3)
    const t = 1_000_000
    assert.equal([1, 2, 3, 4, 5, 6].filter(() => lim.allow('a', 10, t)).length, 5)
    assert.equal(lim.allow('b', 2000, t), false, 'a message over the byte burst never fits')
    assert.equal(lim.allow('b', 600, t), true)
    assert.equal(lim.allow('b', 600, t), false, 'bytes')
    assert.equal(lim.allow('b', 10, t), true, 'a dropped message takes nothing')
    assert.equal(lim.allow('a', 10, t + 200), true, 'refilled')
    lim.allow('c', 1, t)
    lim.allow('d', 1, t)
    assert.equal(lim.size, 3)
    assert.ok(lim.dropped >= 3)
  })
})

describe('peer guard', () => {
  it('bans a misbehaving peer once, hangs up on it, refuses it in the gater until the ban expires; allow_peers still applies', async () => {
    const ids = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const [a, b, c] = ids as [typeof ids[0], typeof ids[0], typeof ids[0]]
    const hungUp: string[] = []
    const guard = new PeerGuard({ logger, hangUp: async (p) => { hungUp.push(p) } }, { banMs: 50, allowPeers: [a.toString(), b.toString()] })
    const gater = guard.gater()
    assert.equal(await gater.denyInboundEncryptedConnection?.(a, undefined as never), false)
    assert.equal(await gater.denyInboundEncryptedConnection?.(c, undefined as never), true, 'not on allow_peers')
    guard.misbehaved(a.toString(), 'gossip_invalid')
    guard.misbehaved(a.toString(), 'gossip_invalid')
    assert.deepEqual(hungUp, [a.toString()])
    assert.equal(guard.counts.gossip_invalid, 1)
    assert.equal(await gater.denyDialPeer?.(a), true)
    assert.equal(await gater.denyDialPeer?.(b), false)
    await new Promise(resolve => setTimeout(resolve, 80))
    assert.equal(await gater.denyDialPeer?.(a), false, 'the ban expired')
  })

  it('keeps at most maxBans bans', () => {
    const guard = new PeerGuard({ logger, hangUp: async () => {} }, { maxBans: 10 })
    for (let i = 0; i < 100; i++) guard.misbehaved(`peer-${i}`, 'stream_abuse')
    assert.equal([...Array(100).keys()].filter(i => guard.isBanned(`peer-${i}`)).length, 10)
    assert.ok(guard.isBanned('peer-99'))
  })
})

describe('announce filter', () => {
  it('keeps the announced addresses (with or without our /p2p suffix) and relay circuits, nothing else', () => {
    const self = '12D3KooWEXMAr5LHAdxQ3SozG8ZtUbUUd8ZC1eF4g4tyqFnPVYgm'
    const filter = announcedOrCircuit(['/ip4/10.0.0.5/tcp/4001', '/dns4/p2p-bootstrap.example/tcp/4001'])
    const out = filter([
      `/ip4/10.0.0.5/tcp/4001/p2p/${self}`,
      `/ip4/127.0.0.1/tcp/4001/p2p/${self}`,
      `/ip4/172.17.0.3/tcp/4001/p2p/${self}`,
      `/dns4/p2p-bootstrap.example/tcp/4001/p2p/${self}`,
      `/ip4/10.251.0.3/tcp/4001/p2p/12D3KooWGpxVQb6QLq6W8zGQ5Q97asVRwV1jE3TaZ7wTdqmEg4Nd/p2p-circuit/p2p/${self}`
    ].map(a => multiaddr(a))).map(a => a.toString())
    assert.deepEqual(out, [
      `/ip4/10.0.0.5/tcp/4001/p2p/${self}`,
      `/dns4/p2p-bootstrap.example/tcp/4001/p2p/${self}`,
      `/ip4/10.251.0.3/tcp/4001/p2p/12D3KooWGpxVQb6QLq6W8zGQ5Q97asVRwV1jE3TaZ7wTdqmEg4Nd/p2p-circuit/p2p/${self}`
    ])
  })
})

describe('gossip scoring parameters', () => {
  it('are accepted by gossipsub and graylist after about ten invalid messages on one topic', () => {
    const params = createPeerScoreParams(gossipScoreParams('p2p-network', ['compute', 'echo']))
    validatePeerScoreParams(params)
    validatePeerScoreThresholds(createPeerScoreThresholds(GOSSIP_SCORE_THRESHOLDS))
    assert.deepEqual(Object.keys(params.topics).sort(), [
      'p2p-network/capabilities/1', 'p2p-network/heartbeat/1', 'p2p-network/results/1', 'p2p-network/tasks/compute/1', 'p2p-network/tasks/echo/1'
    ])
    const t = topicScoreParams()
    // P4 alone, with the positive part at its cap: invalid messages needed to reach the graylist
    const needed = Math.ceil(Math.sqrt((params.topicScoreCap - GOSSIP_SCORE_THRESHOLDS.graylistThreshold) / -(t.invalidMessageDeliveriesWeight * t.topicWeight)))
    assert.ok(needed >= 5 && needed <= 12, `${needed}`)
    assert.equal(t.meshMessageDeliveriesWeight, 0, 'P3 would punish honest peers in quiet topics')
    assert.equal(params.IPColocationFactorWeight, 0, 'NAT and test hosts put many honest peers on one address')
  })
})

describe('relay watchdog', () => {
  it('escalates redial -> reidentify -> reconnect while no circuit address comes, and counts the recovery', async () => {
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const calls: string[] = []
    let addrs = [multiaddr('/ip4/10.0.0.2/tcp/4001')]
    let connected = true
    let protocols = [RELAY_V2_HOP_CODEC, '/ipfs/ping/1.0.0']
    const conn = { limits: undefined, remoteAddr: multiaddr('/ip4/10.0.0.3/tcp/4001'), status: 'open' }
    const fake = {
      peerId: self,
      getMultiaddrs: () => addrs,
      getConnections: (p?: typeof relay) => (connected && (p == null || p.equals(relay))) ? [conn] : [],
      peerStore: {
        all: async (q: { filters: Array<(p: { protocols: string[] }) => boolean> }) => q.filters.every(f => f({ protocols })) ? [{ id: relay, protocols }] : [],
        get: async () => ({ id: relay, protocols }),
        patch: async (_id: unknown, data: { protocols: string[] }) => { protocols = data.protocols; calls.push(`patch:${protocols.includes(RELAY_V2_HOP_CODEC) ? 'hop' : 'no-hop'}`) },
        merge: async () => {}
      },
      dial: async () => { calls.push('dial'); connected = true },
      hangUp: async () => { calls.push('hangUp'); connected = false },
      services: { identify: { identify: async () => { calls.push('identify'); protocols = [RELAY_V2_HOP_CODEC] } } }
    } as unknown as P2PLibp2p
    const wd = new RelayWatchdog({ libp2p: fake, logger }, { graceMs: 0 })
    const tick = async (): Promise<void> => { wd.check(); await new Promise(resolve => setTimeout(resolve, 5)) }
    // first a reservation exists, then it is lost
    addrs = [multiaddr(`/ip4/10.0.0.3/tcp/4001/p2p/${relay.toString()}/p2p-circuit`)]
    await tick()
    addrs = []
    for (let i = 0; i < 3; i++) await tick()
    assert.deepEqual(calls, ['dial', 'patch:no-hop', 'identify', 'hangUp', 'dial'])
    assert.deepEqual(wd.stats().repairs, { redial: 1, reidentify: 1, reconnect: 1 })
    assert.equal(wd.stats().lost, 1)
    addrs = [multiaddr(`/ip4/10.0.0.3/tcp/4001/p2p/${relay.toString()}/p2p-circuit`)]
    await tick()
    assert.equal(wd.stats().regained, 1)
    assert.ok(wd.stats().lastRecoveryMs != null)
    wd.stop()
  })

  it('does nothing while no relay is known', async () => {
    const calls: string[] = []
    const fake = {
      peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')),
      getMultiaddrs: () => [],
      getConnections: () => [],
      peerStore: { all: async () => [] },
      dial: async () => { calls.push('dial') }
    } as unknown as P2PLibp2p
    const wd = new RelayWatchdog({ libp2p: fake, logger }, { graceMs: 0 })
    for (let i = 0; i < 3; i++) { wd.check(); await new Promise(resolve => setTimeout(resolve, 5)) }
    assert.deepEqual(calls, [])
    wd.stop()
  })
})
