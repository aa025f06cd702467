/**
 * A rogue member of the network (a plain libp2p node with the right agent, driven by hand) sends
 * malformed, oversized, other-network, stale and claims-another-sender messages on every gossip
 * topic, wrongly signed and forged-author messages under the gossip layer, and garbage and hostile
 * frames on the task stream, while honest tasks run. Honest tasks keep completing, every rejection
 * our validators see is counted, and nothing crashes.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { RPC } from '@libp2p/gossipsub/message'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { Uint8ArrayList } from 'uint8arraylist'
import { LOCAL_CONFIG_DIR, startDevnet, waitForMesh, type Devnet } from '../../src/cli/devnet.ts'
import { loadConfigFile } from '../../src/config/index.ts'
import { createP2PLibp2p, type P2PLibp2p } from '../../src/network/libp2p.ts'
import type { P2PNode } from '../../src/node.ts'
import {
  CapabilityAdvertisement, HeartBeat, StreamMessage, TaskRequest, TaskResponse, WIRE_VERSION, MAX_GOSSIP_BYTES, encodeFrame, frame
} from '../../src/protocol/codec.ts'
import { capabilitiesTopic, heartbeatTopic, resultsTopic, taskProtocol, tasksTopic, type TopicKind } from '../../src/protocol/names.ts'
import { waitFor, withTimeout } from '../utils/wait.ts'

const PV = 'p2p-network'
const MESHSUB = '/meshsub/1.1.0'
const SIGN_PREFIX = new TextEncoder().encode('libp2p-pubsub:')

let seqno = BigInt(Date.now()) * 1_000_000n
function nextSeqno (): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, ++seqno, false)
  return out
}

const bytesOf = (peer: string): Uint8Array<ArrayBuffer> => Uint8Array.from(peerIdFromString(peer).toMultihash().bytes)

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/** A gossipsub message as it travels, signed by `key` (or with a broken signature / forged author). */
async function rawMessage (key: PrivateKey, topic: string, data: Uint8Array, how: 'signed' | 'bad-signature' | 'forged-from' | 'unsigned' = 'signed', forgedFrom?: Uint8Array): Promise<RPC.Message> {
  const own = peerIdFromPrivateKey(key).toMultihash().bytes
  if (how === 'unsigned') return { topic, data }
  const msg: RPC.Message = { from: how === 'forged-from' ? forgedFrom : own, data, seqno: nextSeqno(), topic }
  const signature = await key.sign(concat(SIGN_PREFIX, RPC.Message.encode(msg)))
  const sig = Uint8Array.from(signature)
  if (how === 'bad-signature') sig[0] = (sig[0] ?? 0) ^ 0xff
  return { ...msg, signature: sig, key: publicKeyToProtobuf(key.publicKey) }
}

/**
 * Connects the rogue to the victim again if the victim hung up on it (defences against hostile
 * peers may); false when the victim will not have it.
 */
async function reach (rogue: P2PLibp2p, victim: P2PNode): Promise<boolean> {
  if (rogue.getConnections(peerIdFromString(victim.peerId)).length > 0) return true
  const addr = victim.libp2p?.getMultiaddrs()[0]
  if (addr == null) return false
  try {
    await rogue.dial(addr, { signal: AbortSignal.timeout(10_000) })
    return true
  } catch {
    return false
  }
}

/** The rogue's hand-made gossip: RPC frames on its own meshsub stream to one victim; false if it cannot reach it. */
async function sendRpc (rogue: P2PLibp2p, victim: P2PNode, messages: RPC.Message[]): Promise<boolean> {
  if (!await reach(rogue, victim)) return false
  let stream
  try {
    stream = await rogue.dialProtocol(peerIdFromString(victim.peerId), MESHSUB, { signal: AbortSignal.timeout(10_000) })
  } catch {
    return false
  }
  // a few messages per RPC, as gossipsub sends them; each RPC stays under the 1 MiB inbound limit
  for (let i = 0; i < messages.length; i += 4) {
    const rpc = RPC.encode({ subscriptions: [], messages: messages.slice(i, i + 4) })
    if (!stream.send(frame(rpc))) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
  }
  // leave the stream open: gossipsub reads it until we go, and closing races the last frame
  return true
}

/** Raw bytes on a fresh task stream to one victim; false if it cannot reach it. */
async function sendTaskStream (rogue: P2PLibp2p, victim: P2PNode, chunks: Array<Uint8Array | Uint8ArrayList>): Promise<boolean> {
  if (!await reach(rogue, victim)) return false
  let stream
  try {
    stream = await rogue.dialProtocol(peerIdFromString(victim.peerId), taskProtocol(PV), { signal: AbortSignal.timeout(10_000) })
  } catch {
    return false
  }
  try {
    for (const c of chunks) {
      if (stream.status !== 'open' || stream.writeStatus !== 'writable') break // the victim reset it: fine
      if (!stream.send(c)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
    }
  } catch {
    // the victim may reset the stream mid-write, which is what it should do with garbage
  }
  return true
}

describe('a rogue node does not disturb honest tasks', { timeout: 240_000 }, () => {
  let devnet: Devnet | undefined
  let rogue: P2PLibp2p | undefined
  let key: PrivateKey | undefined
  let dir = ''

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2p-scheduler-rogue-'))
    // heartbeats every 2 s: leases of 3.5 s, which renewals on an overloaded machine still make;
    // every node observes the result summaries, so the rogue's TaskResponses reach validators
    devnet = await startDevnet({ workers: 2, api: false, overrides: { 'node.heartbeat_interval': '2s', 'tasks.observe_results': true } })
    await waitForMesh(devnet, 60_000)
    key = await generateKeyPair('Ed25519')
    // the rogue passes the membership check: it runs this software's libp2p composition and agent
    const config = loadConfigFile(join(LOCAL_CONFIG_DIR, 'bootstrap.yaml'), {
      env: {},
      overrides: { 'node.data_dir': join(dir, 'rogue'), 'network.enable_dht': false }
    })
    rogue = await createP2PLibp2p({ config, privateKey: key })
    await rogue.start()
    for (const n of devnet.all) {
      const addr = n.libp2p?.getMultiaddrs()[0]
      assert.ok(addr != null)
      await rogue.dial(addr, { signal: AbortSignal.timeout(10_000) })
    }
    const rogueId = rogue.peerId.toString()
    await waitFor(() => devnet!.all.every(n => n.memberIds().includes(rogueId)), { timeoutMs: 30_000, what: 'every node to accept the rogue as a member' })
  })

  after(async () => {
    await rogue?.stop()
    await devnet?.stop()
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('rejects and counts bad gossip and bad frames while honest tasks complete', async () => {
    assert.ok(devnet != null && rogue != null && key != null)
    const { bootstrap, workers, all } = devnet
    const [wa, wb] = workers as [P2PNode, P2PNode]
    const before = new Map(all.map(n => [n.peerId, n.rejectionCounts]))

    // honest load: quick tasks and a few that run through the whole attack
    const honest = await Promise.all([
      ...Array.from({ length: 40 }, async (_, i) => bootstrap.api.submit({ type: 'compute', payload: `honest-${i}` })),
      ...Array.from({ length: 4 }, async () => bootstrap.api.submit({ type: 'sleep', payload: '3000' }))
    ])
    const sleeping = honest.slice(40)
    await waitFor(() => sleeping.every(t => bootstrap.api.get(t.id)?.status === 'running'), { timeoutMs: 30_000, what: 'the sleep tasks to run' })

    // ---- gossip: our validators must reject and count each of these ----
    const victimId = bytesOf(wa.peerId)
    const own = bytesOf(rogue.peerId.toString())
    const now = BigInt(Date.now())
    const stale = now - 3_600_000n
    const adv = (peer: Uint8Array<ArrayBuffer>, extra: Partial<CapabilityAdvertisement> = {}): Uint8Array => CapabilityAdvertisement.encode({
      version: WIRE_VERSION, network: PV, peer, role: 'worker', capabilities: ['compute'], labels: new Map(), taskTypes: ['compute'], slots: 1000, addrs: [], seq: now * 1000n, timestamp: now, ...extra
    })
    const beat = (peer: Uint8Array<ArrayBuffer>, extra: Partial<HeartBeat> = {}): Uint8Array => HeartBeat.encode({
      version: WIRE_VERSION, network: PV, peer, seq: 1n << 60n, running: 0, freeSlots: 0, queue: 0, load: 0, uptimeMs: 1n, timestamp: now, ...extra
    })
    const request = (submitter: Uint8Array<ArrayBuffer>, extra: Partial<TaskRequest> = {}): Uint8Array => TaskRequest.encode({
      version: WIRE_VERSION, network: PV, id: honest[0]!.id, type: 'compute', payload: new Uint8Array(), payloadSize: 0, requires: ['compute'], selector: '', timeoutMs: 1000, attempt: 1, maxAttempts: 3, submitter, created: now, ...extra
    })
    const response = (worker: Uint8Array<ArrayBuffer>, extra: Partial<TaskResponse> = {}): Uint8Array => TaskResponse.encode({
      version: WIRE_VERSION, network: PV, id: honest[0]!.id, attempt: 1, worker, status: 'succeeded', durationMs: 1, resultDigest: new Uint8Array(), timestamp: now, ...extra
    })
    const bad: Record<TopicKind, { topic: string, payloads: Uint8Array[] }> = {
      capabilities: {
        topic: capabilitiesTopic(PV),
        payloads: [randomBytes(300), new Uint8Array(MAX_GOSSIP_BYTES.capabilities + 1024).fill(0x0a), adv(victimId), adv(own, { network: 'other' }), adv(own, { timestamp: stale }), adv(own, { role: 'admin' })]
      },
      heartbeat: {
        topic: heartbeatTopic(PV),
        // a forged "worker a is full" heartbeat would starve it if it were believed
        payloads: [randomBytes(120), new Uint8Array(MAX_GOSSIP_BYTES.heartbeat + 512).fill(0x0a), beat(victimId), beat(own, { network: 'other' }), beat(own, { timestamp: stale }), beat(own, { load: -1 })]
      },
      tasks: {
        topic: tasksTopic(PV, 'compute'),
        payloads: [randomBytes(200), new Uint8Array(MAX_GOSSIP_BYTES.tasks + 1024).fill(0x0a), request(bytesOf(bootstrap.peerId)), request(own, { network: 'other' }), request(own, { created: stale }), request(own, { attempt: 0 })]
      },
      results: {
        topic: resultsTopic(PV),
        payloads: [randomBytes(150), new Uint8Array(MAX_GOSSIP_BYTES.results + 512).fill(0x0a), response(Uint8Array.from([1, 2, 3])), response(own, { network: 'other' }), response(own, { timestamp: stale }), response(own, { status: 's'.repeat(40) })]
      }
    }
    // under the gossip layer: gossipsub itself drops these before our validators see them
    const underneath = async (topic: string): Promise<RPC.Message[]> => [
      await rawMessage(key!, topic, beat(own), 'bad-signature'),
      await rawMessage(key!, topic, beat(victimId), 'forged-from', victimId),
      await rawMessage(key!, topic, beat(own), 'unsigned')
    ]

    // ---- the task stream: garbage, broken framing, hostile but well-formed frames ----
    const running = sleeping.map(t => bootstrap.api.get(t.id)!)
    const garbageFrames = Array.from({ length: 25 }, () => frame(randomBytes(1 + Math.floor(Math.random() * 200))))
    const malformed = [
      frame(StreamMessage.encode({ version: WIRE_VERSION, accept: { id: 'x', attempt: 1 }, cancel: { id: 'x', attempt: 1 } })),
      frame(StreamMessage.encode({ version: 9, cancel: { id: 'x', attempt: 1 } })),
      frame(StreamMessage.encode({ version: WIRE_VERSION, renew: { ids: ['a', 'b'], attempts: [1] } })),
      frame(encodeFrame({ kind: 'offer', offer: { task: TaskRequest.decode(request(own, { network: 'other' })) } })),
      frame(new Uint8Array(0))
    ]
    // a length prefix of 1 GiB (varint 0x80 0x80 0x80 0x80 0x04), far over the frame cap
    const oversize = new Uint8ArrayList(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x04]), randomBytes(64))
    const hostileToSubmitter = [
      // results, accepts and renewals for attempts that are not the rogue's
      ...running.map(t => frame(encodeFrame({ kind: 'result', result: { id: t.id, attempt: 1, ok: true, output: new TextEncoder().encode('forged'), error: '', code: '', durationMs: 4_000_000_000 } }))),
      ...running.map(t => frame(encodeFrame({ kind: 'accept', accept: { id: t.id, attempt: 1 } }))),
      frame(encodeFrame({ kind: 'renew', renew: { ids: Array.from({ length: 5000 }, (_, i) => `made-up-${i}`), attempts: new Array<number>(5000).fill(1) } })),
      frame(encodeFrame({ kind: 'cancelAck', cancelAck: { id: running[0]!.id, attempt: 1 } }))
    ]
    const hostileToWorkers = [
      // cancels and rejects of attempts the bootstrap placed there, and an offer in another's name
      ...running.map(t => frame(encodeFrame({ kind: 'cancel', cancel: { id: t.id, attempt: 1 } }))),
      ...running.map(t => frame(encodeFrame({ kind: 'reject', reject: { id: t.id, attempt: 1 } }))),
      frame(encodeFrame({ kind: 'offer', offer: { task: TaskRequest.decode(request(bytesOf(bootstrap.peerId), { payload: new TextEncoder().encode('x') })) } })),
      frame(encodeFrame({ kind: 'ack', ack: { id: running[0]!.id, attempt: 1, duplicate: false } }))
    ]
    // the task stream first: defences against hostile peers may hang up on the rogue once its
    // gossip has been judged, and then it could not try the rest
    const streamed = new Set<string>()
    for (const victim of [bootstrap, wa, wb]) {
      if (await sendTaskStream(rogue, victim, garbageFrames)) streamed.add(victim.peerId)
      await sendTaskStream(rogue, victim, malformed)
      await sendTaskStream(rogue, victim, [oversize])
      await sendTaskStream(rogue, victim, victim === bootstrap ? hostileToSubmitter : hostileToWorkers)
      // an endless varint: never a frame, must not take the node down
      await sendTaskStream(rogue, victim, [new Uint8Array(64).fill(0xff)])
    }
    assert.ok(streamed.size > 0, 'the rogue could open a task stream to some victim')

    const expected = new Map<string, number>()
    const gossiped = new Set<string>()
    for (const victim of all) {
      const subscribed = victim.libp2p!.services.pubsub.getTopics()
      const messages: RPC.Message[] = []
      let counted = 0
      for (const { topic, payloads } of Object.values(bad)) {
        if (!subscribed.includes(topic)) continue
        for (const p of payloads) messages.push(await rawMessage(key, topic, p))
        counted += payloads.length
        messages.push(...await underneath(topic))
      }
      expected.set(victim.peerId, counted)
      if (await sendRpc(rogue, victim, messages)) gossiped.add(victim.peerId)
    }
    assert.ok(gossiped.size > 0, 'the rogue could gossip to some victim')

    // ---- honest tasks complete, rejections are counted, nobody crashed ----
    const done = await withTimeout(Promise.all(honest.map(async t => bootstrap.api.wait(t.id))), 120_000, 'the honest tasks')
    for (const t of done) {
      assert.equal(t.status, 'succeeded', `${t.type}: ${t.status} ${t.error ?? ''}`)
      assert.ok(workers.some(w => w.peerId === t.worker), 'ran on an honest worker')
      assert.notEqual(t.result, 'forged')
    }
    for (const t of done) {
      // one completion; an extra attempt only from a lease run out on an overloaded machine (the
      // worker side of forged cancels and rejects is pinned in test/unit/scheduler-protocol.test.ts)
      assert.equal(t.history.filter(h => h.outcome === 'succeeded').length, 1)
      for (const h of t.history.slice(0, -1)) assert.match(`${h.outcome ?? ''} ${h.error ?? ''}`, /^lost lease expired/, JSON.stringify(t.history))
    }
    assert.equal(bootstrap.submitter?.duplicates, 0, 'forged results are not duplicates of real attempts')
    assert.ok(bootstrap.api.ledger().every(e => e.worker !== rogue!.peerId.toString()), 'the rogue earned nothing')

    for (const victim of all) {
      const was = before.get(victim.peerId)!
      const want = expected.get(victim.peerId) ?? 0
      assert.ok(want >= 18, `${victim.role} is subscribed to the topics it should be (${want})`)
      if (!gossiped.has(victim.peerId)) continue
      // every message of the first RPC is judged; defences may graylist the rogue after that and
      // drop the rest unread
      await waitFor(() => victim.rejectionCounts.gossip - was.gossip >= 4, {
        timeoutMs: 30_000,
        what: `${victim.role} to count rejected gossip messages`,
        describe: () => victim.rejectionCounts.gossip - was.gossip
      })
    }
    for (const victim of [bootstrap, wa, wb]) {
      if (!streamed.has(victim.peerId)) continue
      const was = before.get(victim.peerId)!
      // 20 garbage frames reset the first stream (and the malformed and oversize ones count too
      // unless the victim hung up on the rogue by then)
      await waitFor(() => victim.rejectionCounts.stream - was.stream >= 20, {
        timeoutMs: 30_000,
        what: `${victim.role} to count its rejected frames`,
        describe: () => victim.rejectionCounts.stream - was.stream
      })
    }
    // the forged heartbeat did not mark worker a full, the forged advertisement did not make a worker
    assert.ok((bootstrap.table.get(wa.peerId)?.slots ?? 0) === 4)
    assert.equal(bootstrap.table.get(rogue.peerId.toString())?.slots ?? 0, 0)
    for (const n of all) assert.equal(n.libp2p?.status, 'started')

    // and the network still serves new work afterwards
    const after = await Promise.all(Array.from({ length: 8 }, async (_, i) => bootstrap.api.submit({ type: 'compute', payload: `after-${i}` })))
    const afterDone = await withTimeout(Promise.all(after.map(async t => bootstrap.api.wait(t.id))), 60_000, 'tasks after the attack')
    assert.ok(afterDone.every(t => t.status === 'succeeded'))

    // the submitters' own result summaries were accepted everywhere: nothing but the rogue's
    // messages was rejected (rejected and ignored messages are not forwarded, so each counts once)
    for (const victim of all) {
      const delta = victim.rejectionCounts.gossip - before.get(victim.peerId)!.gossip
      assert.ok(delta <= (expected.get(victim.peerId) ?? 0), `${victim.role} rejected honest gossip: ${delta} rejections for ${expected.get(victim.peerId)} bad messages`)
    }
  })
})
