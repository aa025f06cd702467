/**
 * Issue 6: fuzzing every decoder and validator that untrusted bytes reach (fast-check): the four
 * gossip decoders, the gossip topic validator (through a stand-in pubsub), the task stream frame
 * decoder and the stream's framing (FrameReader, in any chunking). Inputs are random bytes and
 * mutations (bit flips, overwrites, truncation, insertion, deletion) of valid encodings.
 *
 * Two properties everywhere: no crash (nothing but a ProtocolError escapes a decoder; the validator
 * and the framing never throw), and nothing invalid accepted (whatever is accepted satisfies the
 * protocol's rules, re-checked here by an independent predicate written from messages.proto,
 * codec.ts limits and DESIGN.md section 3).
 *
 * FUZZ_RUNS (default 1500) sets the runs per property; `FUZZ_RUNS=50000` for a long session.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import fc from 'fast-check'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import {
  CapabilityAdvertisement, HeartBeat, TaskRequest, TaskResponse, StreamMessage, ProtocolError, MAX_GOSSIP_BYTES, WIRE_VERSION,
  decodeAdvertisement, decodeHeartbeat, decodeTaskRequest, decodeTaskResponse, decodeFrame, encodeFrame, frame, type StreamFrame
} from '../../src/protocol/codec.ts'
import { capabilitiesTopic, heartbeatTopic, resultsTopic, tasksTopic } from '../../src/protocol/names.ts'
import { Gossip, peerIdFromBytes } from '../../src/scheduler/gossip.ts'
import { FrameReader } from '../../src/scheduler/task-streams.ts'
import { createLogger } from '../../src/logger.ts'
import { report } from '../reliability/report.ts'

const PV = 'p2p-network'
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500)
const MAX_FRAME = 64 * 1024
const GOSSIP_MAX_AGE = 5 * 60_000

// ---- independent validity predicates (the protocol's rules, not the codec's code) -----------

const len = (s: string, max: number): boolean => s.length <= max
const envelope = (m: { version: number, network: string }): boolean => m.version === WIRE_VERSION && m.network === PV

function validAdvertisement (m: CapabilityAdvertisement): boolean {
  return envelope(m) && ['bootstrap', 'relay', 'worker'].includes(m.role) &&
    m.capabilities.length <= 64 && m.capabilities.every(c => len(c, 64)) &&
    m.labels.size <= 64 && [...m.labels].every(([k, v]) => len(k, 64) && len(v, 256)) &&
    m.taskTypes.length <= 128 && m.taskTypes.every(t => len(t, 64)) &&
    m.addrs.length <= 32 && m.addrs.every(a => len(a, 512)) && m.slots <= 100_000
}

const validHeartbeat = (m: HeartBeat): boolean => envelope(m) && Number.isFinite(m.load) && m.load >= 0

function validTaskRequest (m: TaskRequest): boolean {
  return envelope(m) && m.id !== '' && len(m.id, 64) && m.type !== '' && len(m.type, 64) && len(m.selector, 1024) &&
    m.requires.length <= 32 && m.requires.every(r => len(r, 64)) && m.attempt >= 1 && m.attempt <= m.maxAttempts && m.maxAttempts <= 100
}

const validTaskResponse = (m: TaskResponse): boolean => envelope(m) && len(m.id, 64) && len(m.status, 32)

function validFrame (f: StreamFrame): boolean {
  switch (f.kind) {
    case 'offer': return f.offer.task != null && validTaskRequest(f.offer.task)
    case 'renew': return f.renew.ids.length === f.renew.attempts.length && f.renew.ids.length <= 10_000
    default: return true
  }
}

// ---- arbitraries -----------------------------------------------------------------------------

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const shortStr = fc.string({ maxLength: 80 })
const network = fc.constantFrom(PV, PV, PV, PV, PV, PV, 'other-net', '')
const version = fc.constantFrom(WIRE_VERSION, WIRE_VERSION, WIRE_VERSION, WIRE_VERSION, WIRE_VERSION, WIRE_VERSION, 0, 2)

/** Mutations of valid bytes: flip a bit, overwrite, truncate, insert, delete, splice random bytes. */
function mutated (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const op = fc.oneof(
    fc.record({ k: fc.constant('flip' as const), i: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ k: fc.constant('set' as const), i: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ k: fc.constant('truncate' as const), i: fc.nat() }),
    fc.record({ k: fc.constant('insert' as const), i: fc.nat(), b: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ k: fc.constant('delete' as const), i: fc.nat(), n: fc.integer({ min: 1, max: 16 }) })
  )
  return fc.tuple(valid, fc.array(op, { minLength: 1, maxLength: 4 })).map(([bytes, ops]) => {
    let b = Array.from(bytes)
    for (const o of ops) {
      const i = b.length === 0 ? 0 : o.i % (b.length + 1)
      if (o.k === 'flip' && b.length > 0) { const j = i % b.length; b[j] = (b[j] as number) ^ (1 << o.bit) }
      if (o.k === 'set' && b.length > 0) b[i % b.length] = o.v
      if (o.k === 'truncate') b = b.slice(0, i)
      if (o.k === 'insert') b.splice(i, 0, ...o.b)
      if (o.k === 'delete') b.splice(i, o.n)
    }
    return Uint8Array.from(b)
  })
}

/** random bytes, mutated valid encodings, and the valid encodings themselves */
function inputs (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 2048 }), weight: 2 }, { arbitrary: mutated(valid), weight: 5 }, { arbitrary: valid, weight: 1 })
}

/** Decoding either succeeds or throws a ProtocolError; anything else is a crash. */
function decodeOrReject<T> (decode: () => T): T | undefined {
  try {
    return decode()
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw new Error(`crash: ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err })
    return undefined
  }
}

describe('fuzz: decoders, the gossip validator and the stream framing', () => {
  let peers: PeerId[] = []
  /** properties that found a crash or an invalid message accepted (each also fails its test) */
  let failedProperties = 0
  const check = (run: () => void): void => {
    try { run() } catch (err) { failedProperties++; throw err }
  }
  const stats: Record<string, { runs: number, accepted: number }> = {}
  const count = (name: string, accepted: boolean): void => {
    const s = stats[name] ??= { runs: 0, accepted: 0 }
    s.runs++
    if (accepted) s.accepted++
  }

  before(async () => {
    peers = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  })

  const peerBytes = (): fc.Arbitrary<Uint8Array> => fc.oneof({ arbitrary: fc.constantFrom(...peers.map(p => p.toMultihash().bytes)), weight: 6 }, { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 1 })
  const now = (): fc.Arbitrary<bigint> => fc.oneof({ arbitrary: fc.constant(BigInt(Date.now())), weight: 4 }, { arbitrary: fc.bigInt({ min: BigInt(Date.now() - 30 * 60_000), max: BigInt(Date.now() + 5 * 60_000) }), weight: 2 }, { arbitrary: u64, weight: 1 })

  const advertisement = (): fc.Arbitrary<Uint8Array> => fc.record({
    version, network, peer: peerBytes(), role: fc.constantFrom('bootstrap', 'relay', 'worker', 'worker', 'worker', 'admin', ''),
    capabilities: fc.array(shortStr, { maxLength: 5 }), labels: fc.array(fc.tuple(shortStr, shortStr), { maxLength: 4 }).map(e => new Map(e)),
    taskTypes: fc.array(shortStr, { maxLength: 4 }), slots: u32, addrs: fc.array(fc.string({ maxLength: 600 }), { maxLength: 3 }), seq: u64, timestamp: now()
  }).map(m => CapabilityAdvertisement.encode(m as CapabilityAdvertisement))

  const heartbeat = (): fc.Arbitrary<Uint8Array> => fc.record({
    version, network, peer: peerBytes(), seq: u64, running: u32, freeSlots: u32, queue: u32,
    load: fc.oneof(fc.double(), fc.constantFrom(0, 0.5, -1, Number.NaN, Number.POSITIVE_INFINITY)), uptimeMs: u64, timestamp: now()
  }).map(m => HeartBeat.encode(m as HeartBeat))

  const taskRequestObj = (): fc.Arbitrary<TaskRequest> => fc.record({
    version, network, id: fc.string({ minLength: 1, maxLength: 70 }), type: fc.string({ minLength: 1, maxLength: 70 }), payload: fc.uint8Array({ maxLength: 64 }),
    payloadSize: u32, requires: fc.array(shortStr, { maxLength: 4 }), selector: shortStr, timeoutMs: u32,
    attempt: fc.integer({ min: 0, max: 8 }), maxAttempts: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 200 })), submitter: peerBytes(), created: now()
  }) as fc.Arbitrary<TaskRequest>
  const taskRequest = (): fc.Arbitrary<Uint8Array> => taskRequestObj().map(m => TaskRequest.encode(m))

  const taskResponse = (): fc.Arbitrary<Uint8Array> => fc.record({
    version, network, id: fc.string({ maxLength: 70 }), attempt: u32, worker: peerBytes(), status: fc.string({ maxLength: 40 }),
    durationMs: u32, resultDigest: fc.uint8Array({ maxLength: 32 }), timestamp: now()
  }).map(m => TaskResponse.encode(m as TaskResponse))

  const streamFrame = (): fc.Arbitrary<Uint8Array> => {
    const idAttempt = fc.record({ id: shortStr, attempt: u32 })
    const single = fc.oneof(
      taskRequestObj().map(task => ({ offer: { task } })),
      idAttempt.map(accept => ({ accept })),
      fc.record({ id: shortStr, attempt: u32, reason: shortStr }).map(refuse => ({ refuse })),
      fc.record({ id: shortStr, attempt: u32, freeSlots: u32 }).map(claim => ({ claim })),
      idAttempt.map(reject => ({ reject })),
      fc.record({ ids: fc.array(shortStr, { maxLength: 5 }), attempts: fc.array(u32, { maxLength: 6 }) }).map(renew => ({ renew })),
      fc.record({ id: shortStr, attempt: u32, ok: fc.boolean(), output: fc.uint8Array({ maxLength: 64 }), error: shortStr, code: shortStr, durationMs: u32 }).map(result => ({ result })),
      fc.record({ id: shortStr, attempt: u32, duplicate: fc.boolean() }).map(ack => ({ ack })),
      idAttempt.map(cancel => ({ cancel })),
      idAttempt.map(cancelAck => ({ cancelAck }))
    )
    // sometimes two kinds at once, sometimes none: both must be refused
    return fc.tuple(version, single, fc.option(single, { freq: 8 }), fc.boolean())
      .map(([v, a, b, none]) => StreamMessage.encode({ version: v, ...(none ? {} : a), ...(b ?? {}) }))
  }

  const decoderCases: Array<[string, () => fc.Arbitrary<Uint8Array>, (b: Uint8Array) => boolean | undefined]> = [
    ['CapabilityAdvertisement', advertisement, b => { const m = decodeOrReject(() => decodeAdvertisement(b, PV)); return m == null ? undefined : b.byteLength <= MAX_GOSSIP_BYTES.capabilities && validAdvertisement(m) }],
    ['HeartBeat', heartbeat, b => { const m = decodeOrReject(() => decodeHeartbeat(b, PV)); return m == null ? undefined : b.byteLength <= MAX_GOSSIP_BYTES.heartbeat && validHeartbeat(m) }],
    ['TaskRequest', taskRequest, b => { const m = decodeOrReject(() => decodeTaskRequest(b, PV, MAX_GOSSIP_BYTES.tasks)); return m == null ? undefined : b.byteLength <= MAX_GOSSIP_BYTES.tasks && validTaskRequest(m) }],
    ['TaskResponse', taskResponse, b => { const m = decodeOrReject(() => decodeTaskResponse(b, PV)); return m == null ? undefined : b.byteLength <= MAX_GOSSIP_BYTES.results && validTaskResponse(m) }],
    ['StreamFrame', streamFrame, b => { const f = decodeOrReject(() => decodeFrame(b, PV, MAX_FRAME)); return f == null ? undefined : validFrame(f) }]
  ]

  for (const [name, arb, accepts] of decoderCases) {
    it(`${name}: random and mutated bytes never crash the decoder, and nothing invalid is accepted`, () => {
      check(() => {
        fc.assert(fc.property(inputs(arb()), bytes => {
          const verdict = accepts(bytes)
          count(name, verdict === true)
          return verdict !== false
        }), { numRuns: RUNS })
      })
    })
  }

  it('the gossip validator never throws and accepts only valid, fresh messages from their claimed sender', () => {
    const validators = new Map<string, (peer: PeerId, m: Message) => TopicValidatorResult | Promise<TopicValidatorResult>>()
    const pubsub = {
      topicValidators: validators,
      subscribe: () => {},
      unsubscribe: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      getScore: () => 0
    } as unknown as GossipSub
    const gossip = new Gossip(pubsub, createLogger({ level: 'silent', format: 'json' }), {
      network: PV,
      maxAgeMs: GOSSIP_MAX_AGE,
      observeResults: true,
      followLoad: true,
      // no budgets in the way: this is about decoding and checks
      limits: Object.fromEntries((['capabilities', 'heartbeat', 'tasks', 'results'] as const).map(k => [k, { messages: { perSecond: 1e9, burst: 1e9 }, bytes: { perSecond: 1e12, burst: 1e12 } }]))
    }, { onAdvertisement: () => {}, onHeartbeat: () => {}, onTaskRequest: () => {}, onTaskResponse: () => {}, onReject: () => {} })
    gossip.start()
    gossip.subscribeTasks(['compute'])
    // claimed: the peer the body says sent it, which must be the signer; results summaries are
    // published by the task's submitter about the worker, so there it only has to be a peer ID
    const topics: Array<[string, () => fc.Arbitrary<Uint8Array>, (b: Uint8Array) => { claimed: Uint8Array, signer: boolean, ts: bigint } | undefined]> = [
      [capabilitiesTopic(PV), advertisement, b => { const m = CapabilityAdvertisement.decode(b); return validAdvertisement(m) && b.byteLength <= MAX_GOSSIP_BYTES.capabilities ? { claimed: m.peer, signer: true, ts: m.timestamp } : undefined }],
      [heartbeatTopic(PV), heartbeat, b => { const m = HeartBeat.decode(b); return validHeartbeat(m) && b.byteLength <= MAX_GOSSIP_BYTES.heartbeat ? { claimed: m.peer, signer: true, ts: m.timestamp } : undefined }],
      [tasksTopic(PV, 'compute'), taskRequest, b => { const m = TaskRequest.decode(b); return validTaskRequest(m) && b.byteLength <= MAX_GOSSIP_BYTES.tasks ? { claimed: m.submitter, signer: true, ts: m.created } : undefined }],
      [resultsTopic(PV), taskResponse, b => { const m = TaskResponse.decode(b); return validTaskResponse(m) && b.byteLength <= MAX_GOSSIP_BYTES.results ? { claimed: m.worker, signer: false, ts: m.timestamp } : undefined }]
    ]
    for (const [topic, arb, spec] of topics) {
      const validator = validators.get(topic)
      assert.ok(validator != null, `no validator on ${topic}`)
      check(() => fc.assert(fc.property(inputs(arb()), fc.constantFrom(...peers), fc.boolean(), (data, from, signed) => {
        const message: Message = signed
          ? { type: 'signed', from, topic, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: undefined as never }
          : { type: 'unsigned', topic, data }
        let verdict: TopicValidatorResult
        try {
          verdict = validator(from, message) as TopicValidatorResult
        } catch (err) {
          throw new Error(`validator crashed: ${(err as Error).message}`, { cause: err })
        }
        const accepted = verdict === TopicValidatorResult.Accept
        count(`validator ${topic}`, accepted)
        if (!accepted) return true
        // accepted: signed, decodes, valid, claims its signer, fresh
        if (!signed) return false
        let ok: { claimed: Uint8Array, signer: boolean, ts: bigint } | undefined
        try { ok = spec(data) } catch { return false }
        if (ok == null) return false
        let claimed: string
        try { claimed = peerIdFromBytes(ok.claimed) } catch { return false }
        const age = Date.now() - Number(ok.ts)
        return (!ok.signer || claimed === from.toString()) && age <= GOSSIP_MAX_AGE + 1000 && age >= -61_000
      }), { numRuns: RUNS }))
    }
    // one more: a topic of another network is never accepted
    const v = validators.get(heartbeatTopic(PV))!
    assert.notEqual(v(peers[0]!, { type: 'signed', from: peers[0]!, topic: heartbeatTopic('other'), data: new Uint8Array(), sequenceNumber: 1n, signature: new Uint8Array(), key: undefined as never }), TopicValidatorResult.Accept)
    gossip.stop()
  })

  it('the task stream framing (FrameReader) never throws, in any chunking, and yields only valid frames', () => {
    // a stream: a sequence of length-prefixed frames, some valid, some mutated, some random, some
    // with a length over the cap; cut into random chunks
    const piece = fc.oneof(
      { arbitrary: streamFrame().map(b => frame(b).subarray()), weight: 4 },
      { arbitrary: mutated(streamFrame()).map(b => frame(b).subarray()), weight: 4 },
      { arbitrary: mutated(streamFrame().map(b => frame(b).subarray())), weight: 2 },
      { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 1 },
      { arbitrary: fc.constant(frame(new Uint8Array(MAX_FRAME + 1)).subarray()), weight: 1 }
    )
    check(() => fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 20 }), (pieces, cuts) => {
      const all = Uint8Array.from(pieces.flatMap(p => Array.from(p)))
      const reader = new FrameReader({ network: PV, maxFrameBytes: MAX_FRAME })
      let at = 0
      let fatal = false
      const chunks: Uint8Array[] = []
      for (const c of cuts) { if (at >= all.length) break; chunks.push(all.subarray(at, at + c)); at += c }
      if (at < all.length) chunks.push(all.subarray(at))
      for (const chunk of chunks) {
        for (const item of reader.push(chunk)) {
          if (fatal) return false // nothing after a fatal error
          if (item.kind === 'fatal') { fatal = true; continue }
          count('FrameReader', item.kind === 'frame')
          if (item.kind === 'frame' && !validFrame(item.frame)) return false
          // a frame the reader accepted decodes the same on its own
          if (item.kind === 'frame') assert.deepEqual(decodeFrame(encodeFrame(item.frame), PV, MAX_FRAME).kind, item.frame.kind)
        }
      }
      return true
    }), { numRuns: RUNS }))
  })

  it('reports the runs (diagnostic)', (t) => {
    report(t, 'fuzz', { runs_per_property: RUNS, failed_properties: failedProperties, ...stats })
    for (const s of Object.values(stats)) assert.ok(s.runs > 0)
  })
})
