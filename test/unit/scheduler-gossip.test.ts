/**
 * The gossip validators, table-driven over a hand-made pubsub: which messages are accepted, ignored
 * or rejected, and that every rejection is counted with its reason. One table row per topic kind
 * and failure, so a new kind does not compile until it has rows.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { silentLogger } from '../../src/logger.ts'
import { CapabilityAdvertisement, HeartBeat, TaskRequest, TaskResponse, WIRE_VERSION, type RejectReason } from '../../src/protocol/codec.ts'
import { capabilitiesTopic, heartbeatTopic, resultsTopic, tasksTopic, type TopicKind } from '../../src/protocol/names.ts'
import { Gossip, peerIdFromBytes } from '../../src/scheduler/gossip.ts'

const PV = 'test-net'
type Validator = (peer: PeerId, message: Message) => TopicValidatorResult

function fakePubsub (): { pubsub: GossipSub, validators: Map<string, Validator>, subscribed: Set<string> } {
  const validators = new Map<string, Validator>()
  const subscribed = new Set<string>()
  const pubsub = {
    topicValidators: validators,
    subscribe: (t: string) => { subscribed.add(t) },
    unsubscribe: (t: string) => { subscribed.delete(t) },
    addEventListener: () => {},
    removeEventListener: () => {},
    publish: async () => ({ recipients: [] })
  }
  return { pubsub: pubsub as unknown as GossipSub, validators, subscribed }
}

const bytes = (p: PeerId): Uint8Array<ArrayBuffer> => Uint8Array.from(p.toMultihash().bytes)

describe('gossip validators', async () => {
  const signer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const now = BigInt(Date.now())
  const me = bytes(signer)
  const them = bytes(other)

  const adv = (extra: Partial<CapabilityAdvertisement> = {}): Uint8Array => CapabilityAdvertisement.encode({
    version: WIRE_VERSION, network: PV, peer: me, role: 'worker', capabilities: ['compute'], labels: new Map(), taskTypes: ['compute'], slots: 4, addrs: [], seq: 1n, timestamp: now, ...extra
  })
  const beat = (extra: Partial<HeartBeat> = {}): Uint8Array => HeartBeat.encode({
    version: WIRE_VERSION, network: PV, peer: me, seq: 1n, running: 0, freeSlots: 4, queue: 0, load: 0, uptimeMs: 1n, timestamp: now, ...extra
  })
  const request = (extra: Partial<TaskRequest> = {}): Uint8Array => TaskRequest.encode({
    version: WIRE_VERSION, network: PV, id: 't', type: 'compute', payload: new Uint8Array(), payloadSize: 0, requires: ['compute'], selector: '', timeoutMs: 1, attempt: 1, maxAttempts: 3, submitter: me, created: now, ...extra
  })
  const response = (extra: Partial<TaskResponse> = {}): Uint8Array => TaskResponse.encode({
    version: WIRE_VERSION, network: PV, id: 't', attempt: 1, worker: them, status: 'succeeded', durationMs: 1, resultDigest: new Uint8Array(), timestamp: now, ...extra
  })

  type Row = [name: string, data: Uint8Array, want: RejectReason | 'accept' | 'replay']
  // just outside the 5 minute window: a late delivery; far outside: a replay
  const stale = now - 5n * 60_000n - 5_000n
  const replayed = now - 60n * 60_000n
  const rows: Record<TopicKind, { topic: string, rows: Row[] }> = {
    capabilities: {
      topic: capabilitiesTopic(PV),
      rows: [
        ['valid', adv(), 'accept'],
        ['claims another peer', adv({ peer: them }), 'wrong_sender'],
        ['garbage peer id', adv({ peer: new Uint8Array([1, 2, 3]) }), 'invalid'],
        ['other network', adv({ network: 'x' }), 'wrong_network'],
        ['stale', adv({ timestamp: stale }), 'stale'],
        ['replayed', adv({ timestamp: replayed }), 'replay'],
        ['from the future', adv({ timestamp: now + 70_000n }), 'stale'],
        ['garbage', new Uint8Array([0xff, 0xff, 0xff]), 'decode'],
        ['too large', new Uint8Array(17 * 1024), 'too_large']
      ]
    },
    heartbeat: {
      topic: heartbeatTopic(PV),
      rows: [
        ['valid', beat(), 'accept'],
        ['claims another peer', beat({ peer: them }), 'wrong_sender'],
        ['negative load', beat({ load: -1 }), 'invalid'],
        ['stale', beat({ timestamp: stale }), 'stale'],
        ['too large', new Uint8Array(2048), 'too_large']
      ]
    },
    tasks: {
      topic: tasksTopic(PV, 'compute'),
      rows: [
        ['valid', request(), 'accept'],
        ['claims another submitter', request({ submitter: them }), 'wrong_sender'],
        ['attempt out of range', request({ attempt: 9 }), 'invalid'],
        ['other network', request({ network: 'x' }), 'wrong_network']
      ]
    },
    results: {
      topic: resultsTopic(PV),
      rows: [
        // the submitter publishes the summary of a task another peer ran: that is not a lie
        ['a submitter\'s summary about its worker', response(), 'accept'],
        ['a worker\'s own summary', response({ worker: me }), 'accept'],
        ['garbage worker id', response({ worker: new Uint8Array([9]) }), 'invalid'],
        ['stale', response({ timestamp: stale }), 'stale'],
        ['too large', new Uint8Array(3000), 'too_large']
      ]
    }
  }

  const rejected: Array<{ topic: TopicKind, reason: RejectReason }> = []
  const { pubsub, validators, subscribed } = fakePubsub()
  const gossip = new Gossip(pubsub, silentLogger, { network: PV, maxAgeMs: 5 * 60_000, observeResults: true, followLoad: true }, {
    onAdvertisement: () => {},
    onHeartbeat: () => {},
    onTaskRequest: () => {},
    onTaskResponse: () => {},
    onReject: (topic, reason) => { rejected.push({ topic, reason }) }
  })
  gossip.start()
  gossip.subscribeTasks(['compute'])

  it('subscribes to its topics and the task topics of its capabilities only', () => {
    assert.deepEqual([...subscribed].sort(), [capabilitiesTopic(PV), heartbeatTopic(PV), resultsTopic(PV), tasksTopic(PV, 'compute')].sort())
  })

  it('subscribes to neither the result summaries nor the heartbeats unless asked, and to the heartbeats once it follows load', () => {
    const other = fakePubsub()
    const g = new Gossip(other.pubsub, silentLogger, { network: PV, maxAgeMs: 5 * 60_000 }, {
      onAdvertisement: () => {}, onHeartbeat: () => {}, onTaskRequest: () => {}, onTaskResponse: () => {}, onReject: () => {}
    })
    assert.equal(g.followLoad(), true)
    assert.equal(other.subscribed.size, 0, 'not started: nothing subscribed yet')
    g.start()
    assert.deepEqual([...other.subscribed].sort(), [capabilitiesTopic(PV), heartbeatTopic(PV)].sort(), 'asked before start: subscribed at start')
    g.stop()
    const third = fakePubsub()
    const h = new Gossip(third.pubsub, silentLogger, { network: PV, maxAgeMs: 5 * 60_000 }, {
      onAdvertisement: () => {}, onHeartbeat: () => {}, onTaskRequest: () => {}, onTaskResponse: () => {}, onReject: () => {}
    })
    h.start()
    assert.deepEqual([...third.subscribed], [capabilitiesTopic(PV)])
    assert.equal(h.followsLoad, false)
    // not subscribed, still guarded: GossipSub validates what arrives on any topic, and a flood on
    // one this node does not follow must meet the same budgets and strikes
    assert.ok(third.validators.has(heartbeatTopic(PV)) && third.validators.has(resultsTopic(PV)), 'unsubscribed topics are validated too')
    assert.equal(h.followLoad(), true)
    assert.equal(h.followLoad(), false, 'once')
    assert.equal(h.followsLoad, true)
    assert.deepEqual([...third.subscribed].sort(), [capabilitiesTopic(PV), heartbeatTopic(PV)].sort())
    h.stop()
    assert.equal(third.validators.size, 0, 'stop removes every validator')
  })

  for (const [kind, { topic, rows: table }] of Object.entries(rows) as Array<[TopicKind, { topic: string, rows: Row[] }]>) {
    for (const [name, data, want] of table) {
      it(`${kind}: ${name} -> ${want}`, () => {
        const validate = validators.get(topic)
        assert.ok(validate != null)
        const before = rejected.length
        const message = { type: 'signed', from: signer, topic, data, sequenceNumber: 1n, signature: new Uint8Array(), key: undefined } as unknown as Message
        const got = validate(signer, message)
        if (want === 'accept') {
          assert.equal(got, TopicValidatorResult.Accept)
          assert.equal(rejected.length, before)
        } else {
          // a stale message may be an honest late delivery: ignored, not held against the forwarder
          assert.equal(got, want === 'stale' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject)
          assert.deepEqual(rejected.slice(before), [{ topic: kind, reason: want === 'replay' ? 'stale' : want }])
        }
      })
    }
  }

  it('rejects unsigned messages', () => {
    const validate = validators.get(heartbeatTopic(PV))!
    const got = validate(signer, { type: 'unsigned', topic: heartbeatTopic(PV), data: beat() } as unknown as Message)
    assert.equal(got, TopicValidatorResult.Reject)
    assert.deepEqual(rejected.at(-1), { topic: 'heartbeat', reason: 'wrong_sender' })
  })

  it('stops cleanly', () => {
    gossip.stop()
    assert.equal(validators.size, 0)
    assert.equal(subscribed.size, 0)
  })
})

describe('peer ids from bytes', () => {
  it('gives each peer its own id, the same on every call, and still rejects bytes that are no peer id', async () => {
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const aBytes = a.toMultihash().bytes
    // a copy inside a larger buffer (as decoded from a frame) maps to the same id
    const framed = new Uint8Array(aBytes.byteLength + 8)
    framed.set(aBytes, 4)
    assert.equal(peerIdFromBytes(aBytes), a.toString())
    assert.equal(peerIdFromBytes(framed.subarray(4, 4 + aBytes.byteLength)), a.toString())
    assert.equal(peerIdFromBytes(b.toMultihash().bytes), b.toString())
    assert.throws(() => peerIdFromBytes(Uint8Array.of(1, 2, 3)))
    assert.throws(() => peerIdFromBytes(Uint8Array.of(1, 2, 3)), 'not remembered as valid')
  })
})

