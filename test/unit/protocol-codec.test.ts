/**
 * Wire formats at the edge: every stream frame kind round-trips; garbage, frames with several kinds,
 * oversize input, other networks and out-of-range fields are rejected with a ProtocolError carrying
 * a reason from the closed set; gossip decoders check limits and envelopes; topic names parse back.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  CapabilityAdvertisement, HeartBeat, ProtocolError, StreamMessage, TaskRequest, TaskResponse, WIRE_VERSION, MAX_GOSSIP_BYTES,
  decodeAdvertisement, decodeFrame, decodeHeartbeat, decodeTaskRequest, decodeTaskResponse, encodeFrame, frame,
  type RejectReason, type StreamFrame, type StreamKind
} from '../../src/protocol/codec.ts'
import { capabilitiesTopic, heartbeatTopic, parseTopic, resultsTopic, tasksTopic, taskProtocol } from '../../src/protocol/names.ts'

const NET = 'test-net'
const MAX = 64 * 1024
const PEER = new Uint8Array([0, 36, 8, 1, 18, 32, ...new Array<number>(32).fill(7)])

function task (extra: Partial<TaskRequest> = {}): TaskRequest {
  return {
    version: WIRE_VERSION,
    network: NET,
    id: 'task-1',
    type: 'compute',
    payload: new TextEncoder().encode('hello'),
    payloadSize: 5,
    requires: ['compute'],
    selector: 'zone=b',
    timeoutMs: 1000,
    attempt: 1,
    maxAttempts: 3,
    submitter: PEER,
    created: 1234n,
    ...extra
  }
}

/** One sample of every kind: the Record type makes a new kind fail to compile until it has a sample. */
const SAMPLES: Record<StreamKind, StreamFrame> = {
  offer: { kind: 'offer', offer: { task: task() } },
  accept: { kind: 'accept', accept: { id: 'task-1', attempt: 1 } },
  refuse: { kind: 'refuse', refuse: { id: 'task-1', attempt: 1, reason: 'no free slot' } },
  claim: { kind: 'claim', claim: { id: 'task-1', attempt: 2, freeSlots: 3 } },
  reject: { kind: 'reject', reject: { id: 'task-1', attempt: 2 } },
  renew: { kind: 'renew', renew: { ids: ['a', 'b'], attempts: [1, 2] } },
  result: { kind: 'result', result: { id: 'task-1', attempt: 1, ok: true, output: new Uint8Array([1, 2, 3]), error: '', code: '', durationMs: 12 } },
  ack: {
    kind: 'ack',
    ack: {
      id: 'task-1',
      attempt: 1,
      duplicate: false,
      receipt: { id: 'task-1', attempt: 1, worker: PEER, submitter: PEER, credits: 0.5, durationMs: 12, timestamp: 99n, signature: new Uint8Array([9, 9]), entries: [] }
    }
  },
  cancel: { kind: 'cancel', cancel: { id: 'task-1', attempt: 1 } },
  cancelAck: { kind: 'cancelAck', cancelAck: { id: 'task-1', attempt: 1 } }
}

function rejects (fn: () => unknown, reason: RejectReason, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`)
    assert.equal(err.reason, reason, err.message)
    assert.equal(err.code, 'ERR_PROTOCOL')
    if (message != null) assert.match(err.message, message)
    return true
  })
}

/** a small deterministic PRNG so a failure reproduces */
function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('stream frames', () => {
  for (const sample of Object.values(SAMPLES)) {
    it(`round-trips ${sample.kind}, flat and as a Uint8ArrayList`, () => {
      const bytes = encodeFrame(sample)
      assert.deepEqual(decodeFrame(bytes, NET, MAX), sample)
      const list = new Uint8ArrayList(bytes.subarray(0, 3), bytes.subarray(3))
      assert.deepEqual(decodeFrame(list, NET, MAX), sample)
    })
  }

  it('round-trips an ack whose receipt covers several tasks, and caps their number', () => {
    const entries = [{ id: 'task-1', attempt: 1, credits: 0.5, durationMs: 12 }, { id: 'task-2', attempt: 2, credits: 1, durationMs: 18 }]
    const receipt = { id: '', attempt: 0, worker: PEER, submitter: PEER, credits: 1.5, durationMs: 30, timestamp: 99n, signature: new Uint8Array([9, 9]), entries }
    const ack: StreamFrame = { kind: 'ack', ack: { id: 'task-2', attempt: 2, duplicate: false, receipt } }
    assert.deepEqual(decodeFrame(encodeFrame(ack), NET, MAX), ack)
    const many = Array.from({ length: 10_001 }, (_, i) => ({ id: `t${i}`, attempt: 1, credits: 0, durationMs: 0 }))
    const tooMany: StreamFrame = { kind: 'ack', ack: { id: 't0', attempt: 1, duplicate: false, receipt: { ...receipt, entries: many } } }
    rejects(() => decodeFrame(encodeFrame(tooMany), NET, 16 * 1024 * 1024), 'decode')
  })

  it('frames with a varint length prefix', () => {
    const bytes = encodeFrame(SAMPLES.cancel)
    const framed = frame(bytes).subarray()
    assert.equal(framed[0], bytes.byteLength)
    assert.deepEqual(framed.subarray(1), bytes)
    const big = new Uint8Array(300)
    const framedBig = frame(big).subarray()
    assert.deepEqual([...framedBig.subarray(0, 2)], [0xac, 0x02], '300 as a varint')
    assert.equal(framedBig.byteLength, 302)
  })

  it('rejects a frame with no kind or several kinds', () => {
    rejects(() => decodeFrame(StreamMessage.encode({ version: WIRE_VERSION }), NET, MAX), 'invalid', /0 kinds/)
    rejects(() => decodeFrame(StreamMessage.encode({ version: WIRE_VERSION, accept: { id: 'a', attempt: 1 }, cancel: { id: 'a', attempt: 1 } }), NET, MAX), 'invalid', /2 kinds/)
    const all: StreamMessage = { version: WIRE_VERSION }
    for (const s of Object.values(SAMPLES)) Object.assign(all, StreamMessage.decode(encodeFrame(s)), { version: WIRE_VERSION })
    rejects(() => decodeFrame(StreamMessage.encode(all), NET, MAX), 'invalid', /10 kinds/)
  })

  it('rejects an oversize frame before decoding it', () => {
    const big = encodeFrame({ kind: 'result', result: { ...(SAMPLES.result as { result: import('../../src/protocol/codec.ts').Result }).result, output: new Uint8Array(MAX) } })
    rejects(() => decodeFrame(big, NET, MAX), 'too_large', /exceeds/)
    assert.equal(decodeFrame(big, NET, big.byteLength).kind, 'result', 'fits a larger cap')
  })

  it('rejects another wire version', () => {
    rejects(() => decodeFrame(StreamMessage.encode({ version: 2, cancel: { id: 'a', attempt: 1 } }), NET, MAX), 'invalid', /wire version 2/)
    rejects(() => decodeFrame(StreamMessage.encode({ version: 0, cancel: { id: 'a', attempt: 1 } }), NET, MAX), 'invalid', /wire version 0/)
  })

  it('checks the task inside an offer', () => {
    const offer = (t: Partial<TaskRequest> | undefined): Uint8Array => StreamMessage.encode({ version: WIRE_VERSION, offer: { task: t === undefined ? undefined : task(t) } })
    rejects(() => decodeFrame(offer(undefined), NET, MAX), 'invalid', /offer without task/)
    rejects(() => decodeFrame(offer({ network: 'other' }), NET, MAX), 'wrong_network')
    rejects(() => decodeFrame(offer({ version: 7 }), NET, MAX), 'invalid')
    rejects(() => decodeFrame(offer({ id: '' }), NET, MAX), 'invalid')
    rejects(() => decodeFrame(offer({ type: '' }), NET, MAX), 'invalid')
    rejects(() => decodeFrame(offer({ id: 'x'.repeat(65) }), NET, MAX), 'invalid')
    rejects(() => decodeFrame(offer({ selector: 's'.repeat(1025) }), NET, MAX), 'invalid')
    rejects(() => decodeFrame(offer({ attempt: 0 }), NET, MAX), 'invalid', /attempt/)
    rejects(() => decodeFrame(offer({ attempt: 4, maxAttempts: 3 }), NET, MAX), 'invalid', /attempt/)
    rejects(() => decodeFrame(offer({ attempt: 1, maxAttempts: 101 }), NET, MAX), 'invalid', /attempt/)
    rejects(() => decodeFrame(offer({ requires: new Array<string>(33).fill('c') }), NET, MAX), 'decode')
    assert.equal(decodeFrame(offer({ requires: new Array<string>(32).fill('c') }), NET, MAX).kind, 'offer')
  })

  it('rejects a renew whose ids and attempts differ in length', () => {
    rejects(() => decodeFrame(StreamMessage.encode({ version: WIRE_VERSION, renew: { ids: ['a', 'b'], attempts: [1] } }), NET, MAX), 'invalid', /differ/)
  })

  it('rejects truncated frames', () => {
    for (const sample of Object.values(SAMPLES)) {
      const bytes = encodeFrame(sample)
      rejects(() => decodeFrame(bytes.subarray(0, bytes.byteLength - 1), NET, MAX), 'decode')
    }
  })

  it('turns any garbage into a ProtocolError, never another exception', () => {
    const random = prng(42)
    const reasons = new Map<string, number>()
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(random() * 200)
      const bytes = new Uint8Array(len)
      for (let j = 0; j < len; j++) bytes[j] = Math.floor(random() * 256)
      try {
        const f = decodeFrame(bytes, NET, MAX)
        // garbage that happens to decode must still be exactly one well-formed kind
        assert.ok(f.kind in SAMPLES)
        reasons.set('accepted', (reasons.get('accepted') ?? 0) + 1)
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `garbage #${i} threw ${String(err)}`)
        reasons.set(err.reason, (reasons.get(err.reason) ?? 0) + 1)
      }
    }
    assert.ok((reasons.get('decode') ?? 0) > 0 && (reasons.get('invalid') ?? 0) > 0, JSON.stringify([...reasons]))
  })

  it('turns garbage appended to a valid frame or fields of the wrong wire type into a ProtocolError', () => {
    const random = prng(7)
    for (const sample of Object.values(SAMPLES)) {
      const bytes = encodeFrame(sample)
      for (let i = 0; i < 200; i++) {
        const mutated = Uint8Array.from(bytes)
        mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256)
        try {
          decodeFrame(mutated, NET, MAX)
        } catch (err) {
          assert.ok(err instanceof ProtocolError, `mutated ${sample.kind} threw ${String(err)}`)
        }
      }
    }
  })
})

describe('gossip decoders', () => {
  const adv = (extra: Partial<CapabilityAdvertisement> = {}): CapabilityAdvertisement => ({
    version: WIRE_VERSION,
    network: NET,
    peer: PEER,
    role: 'worker',
    capabilities: ['compute'],
    labels: new Map([['zone', 'a']]),
    taskTypes: ['compute'],
    slots: 4,
    addrs: ['/ip4/127.0.0.1/tcp/4001'],
    seq: 5n,
    timestamp: 10n,
    prefetch: 0,
    ...extra
  })
  const beat = (extra: Partial<HeartBeat> = {}): HeartBeat => ({
    version: WIRE_VERSION, network: NET, peer: PEER, seq: 1n, running: 1, freeSlots: 3, queue: 0, load: 0.25, uptimeMs: 5n, timestamp: 10n, ...extra
  })
  const response = (extra: Partial<TaskResponse> = {}): TaskResponse => ({
    version: WIRE_VERSION, network: NET, id: 'task-1', attempt: 1, worker: PEER, status: 'succeeded', durationMs: 3, resultDigest: new Uint8Array(), timestamp: 10n, ...extra
  })

  it('round-trips every gossip message', () => {
    assert.deepEqual(decodeAdvertisement(CapabilityAdvertisement.encode(adv()), NET), adv())
    assert.deepEqual(decodeAdvertisement(CapabilityAdvertisement.encode(adv({ prefetch: 16 })), NET), adv({ prefetch: 16 }))
    assert.deepEqual(decodeHeartbeat(HeartBeat.encode(beat()), NET), beat())
    assert.deepEqual(decodeTaskRequest(TaskRequest.encode(task()), NET, MAX_GOSSIP_BYTES.tasks), task())
    assert.deepEqual(decodeTaskResponse(TaskResponse.encode(response()), NET), response())
  })

  it('rejects advertisements out of bounds', () => {
    const table: Array<[Partial<CapabilityAdvertisement>, RejectReason]> = [
      [{ network: 'other' }, 'wrong_network'],
      [{ version: 2 }, 'invalid'],
      [{ role: 'admin' }, 'invalid'],
      [{ slots: 100_001 }, 'invalid'],
      [{ prefetch: 100_001 }, 'invalid'],
      [{ capabilities: ['c'.repeat(65)] }, 'invalid'],
      [{ taskTypes: ['t'.repeat(65)] }, 'invalid'],
      [{ labels: new Map([['k'.repeat(65), 'v']]) }, 'invalid'],
      [{ labels: new Map([['k', 'v'.repeat(257)]]) }, 'invalid'],
      [{ addrs: ['/'.repeat(513)] }, 'invalid'],
      [{ capabilities: new Array<string>(65).fill('c') }, 'decode'],
      [{ addrs: new Array<string>(33).fill('/ip4/1.2.3.4/tcp/1') }, 'decode'],
      [{ capabilities: new Array<string>(200).fill('c'.repeat(100)) }, 'too_large']
    ]
    for (const [extra, reason] of table) {
      rejects(() => decodeAdvertisement(CapabilityAdvertisement.encode(adv(extra)), NET), reason)
    }
  })

  it('rejects heartbeats out of bounds', () => {
    rejects(() => decodeHeartbeat(HeartBeat.encode(beat({ load: -1 })), NET), 'invalid')
    rejects(() => decodeHeartbeat(HeartBeat.encode(beat({ load: Number.NaN })), NET), 'invalid')
    rejects(() => decodeHeartbeat(HeartBeat.encode(beat({ load: Number.POSITIVE_INFINITY })), NET), 'invalid')
    rejects(() => decodeHeartbeat(HeartBeat.encode(beat({ network: 'x' })), NET), 'wrong_network')
    rejects(() => decodeHeartbeat(new Uint8Array(MAX_GOSSIP_BYTES.heartbeat + 1), NET), 'too_large')
  })

  it('rejects task requests and responses out of bounds', () => {
    rejects(() => decodeTaskRequest(TaskRequest.encode(task({ payload: new Uint8Array(MAX_GOSSIP_BYTES.tasks) })), NET, MAX_GOSSIP_BYTES.tasks), 'too_large')
    rejects(() => decodeTaskRequest(TaskRequest.encode(task({ attempt: 0 })), NET, MAX_GOSSIP_BYTES.tasks), 'invalid')
    rejects(() => decodeTaskResponse(TaskResponse.encode(response({ status: 's'.repeat(33) })), NET), 'invalid')
    rejects(() => decodeTaskResponse(TaskResponse.encode(response({ id: 'i'.repeat(65) })), NET), 'invalid')
    rejects(() => decodeTaskResponse(TaskResponse.encode(response({ network: 'x' })), NET), 'wrong_network')
  })

  it('turns garbage into a ProtocolError in every gossip decoder', () => {
    const random = prng(1)
    const decoders: Array<(b: Uint8Array) => unknown> = [
      b => decodeAdvertisement(b, NET), b => decodeHeartbeat(b, NET), b => decodeTaskRequest(b, NET, MAX_GOSSIP_BYTES.tasks), b => decodeTaskResponse(b, NET)
    ]
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(Math.floor(random() * 120))
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256)
      for (const decode of decoders) {
        try {
          decode(bytes)
        } catch (err) {
          assert.ok(err instanceof ProtocolError, `garbage #${i} threw ${String(err)}`)
        }
      }
    }
  })
})

describe('topic and protocol names', () => {
  it('parses every topic it builds, and nothing else', () => {
    assert.deepEqual(parseTopic(capabilitiesTopic('pv')), { protocolVersion: 'pv', kind: 'capabilities' })
    assert.deepEqual(parseTopic(heartbeatTopic('pv')), { protocolVersion: 'pv', kind: 'heartbeat' })
    assert.deepEqual(parseTopic(resultsTopic('pv')), { protocolVersion: 'pv', kind: 'results' })
    assert.deepEqual(parseTopic(tasksTopic('pv', 'gpu')), { protocolVersion: 'pv', kind: 'tasks', capability: 'gpu' })
    for (const t of ['', 'pv', 'pv/tasks//1', 'pv/tasks/gpu/2', 'pv/other/1', 'pv/heartbeat/2', '/pv/heartbeat/1', 'pv/capabilities/1/x']) {
      assert.equal(parseTopic(t), undefined, t)
    }
    assert.equal(taskProtocol('pv'), '/pv/task/1.0.0')
  })
})
