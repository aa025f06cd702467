/**
 * Hostile peers for the issue-6 tests: a bare libp2p node (TCP, Noise, Yamux, identify) that
 * identifies as a member of the network but speaks GossipSub and the task protocol by hand, so it
 * can send what an honest node never would: floods of validly signed messages, garbage, oversized
 * messages, replays of other peers' old messages, forged task results.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { RPC } from '@libp2p/gossipsub/message'
import type { PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { encodeFrame, frame, type StreamFrame } from '../../src/protocol/codec.ts'
import { identifyPrefix, taskProtocol } from '../../src/protocol/names.ts'

const SIGN_PREFIX = new TextEncoder().encode('libp2p-pubsub:')
export const MESHSUB = '/meshsub/1.1.0'

export interface Hostile {
  libp2p: Libp2p
  peerId: PeerId
  privateKey: PrivateKey
  stop: () => Promise<void>
}

/** A bare node that identifies as `p2p-network/0.1.0 (<pv>; worker)`, so members do not hang up on it. */
export async function startHostile (pv: string): Promise<Hostile> {
  const privateKey = await generateKeyPair('Ed25519')
  const libp2p = await createLibp2p({
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    nodeInfo: { name: 'p2p-network', version: '0.1.0', userAgent: `p2p-network/0.1.0 (${pv}; worker)` },
    connectionManager: { inboundConnectionThreshold: 1000 },
    services: { identify: identify({ protocolPrefix: identifyPrefix(pv) }) }
  })
  await libp2p.start()
  return { libp2p, peerId: peerIdFromPrivateKey(privateKey), privateKey, stop: async () => { await libp2p.stop() } }
}

/** A GossipSub message signed by `key` (StrictSign), as gossipsub's own publish builds it. */
export async function signedMessage (key: PrivateKey, topic: string, data: Uint8Array, seqno: bigint): Promise<RPC.Message> {
  const seq = new Uint8Array(8)
  new DataView(seq.buffer).setBigUint64(0, seqno, false)
  const from = peerIdFromPrivateKey(key).toMultihash().bytes
  const unsigned: RPC.Message = { from, data, seqno: seq, topic }
  const toSign = new Uint8Array([...SIGN_PREFIX, ...RPC.Message.encode(unsigned)])
  return { ...unsigned, signature: await key.sign(toSign), key: publicKeyToProtobuf(key.publicKey) }
}

/** Writes raw GossipSub RPCs on one stream to a victim. */
export class GossipInjector {
  private constructor (private readonly stream: Stream) {}

  static async open (hostile: Hostile, victimAddr: string): Promise<GossipInjector> {
    const stream = await hostile.libp2p.dialProtocol(multiaddr(victimAddr), MESHSUB, { signal: AbortSignal.timeout(10_000) })
    return new GossipInjector(stream)
  }

  get open (): boolean { return this.stream.status === 'open' && this.stream.writeStatus === 'writable' }

  /** One RPC carrying `messages`; resolves false when the stream is gone. */
  async send (messages: RPC.Message[], subscriptions: RPC.SubOpts[] = []): Promise<boolean> {
    if (!this.open) return false
    try {
      const bytes = RPC.encode({ subscriptions, messages })
      if (!this.stream.send(frame(bytes))) await this.stream.onDrain({ signal: AbortSignal.timeout(5000) })
      return true
    } catch {
      return false
    }
  }

  async sendRaw (bytes: Uint8Array): Promise<boolean> {
    if (!this.open) return false
    try {
      if (!this.stream.send(frame(bytes))) await this.stream.onDrain({ signal: AbortSignal.timeout(5000) })
      return true
    } catch {
      return false
    }
  }
}

/** Writes raw task-stream frames (or raw bytes) to a victim on /<pv>/task/1.0.0. */
export class TaskInjector {
  private constructor (private readonly stream: Stream) {}

  static async open (hostile: Hostile, victimAddr: string, pv: string): Promise<TaskInjector> {
    const stream = await hostile.libp2p.dialProtocol(multiaddr(victimAddr), taskProtocol(pv), { signal: AbortSignal.timeout(10_000) })
    return new TaskInjector(stream)
  }

  get open (): boolean { return this.stream.status === 'open' && this.stream.writeStatus === 'writable' }

  async frame (f: StreamFrame): Promise<boolean> { return await this.raw(frame(encodeFrame(f)).subarray()) }

  async raw (bytes: Uint8Array): Promise<boolean> {
    if (!this.open) return false
    try {
      if (!this.stream.send(bytes)) await this.stream.onDrain({ signal: AbortSignal.timeout(5000) })
      return true
    } catch {
      return false
    }
  }

  abort (): void { this.stream.abort(new Error('hostile reset')) }
}

/** Quantiles of a list of milliseconds. */
export function quantiles (ms: number[]): { n: number, p50?: number, p95?: number, max?: number } {
  const s = [...ms].sort((a, b) => a - b)
  const q = (p: number): number | undefined => s.length === 0 ? undefined : s[Math.min(s.length - 1, Math.floor(p * s.length))]
  return { n: s.length, p50: q(0.5), p95: q(0.95), max: s.at(-1) }
}
