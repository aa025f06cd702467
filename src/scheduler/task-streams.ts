/**
 * The direct task stream protocol /<pv>/task/1.0.0. Each node keeps one long-lived outbound stream
 * per peer for the frames it sends (opening a stream per task costs ~1 ms) and reads the frames
 * peers send on their streams. Frames to this node itself are delivered in-process, so a worker
 * that submits runs its own tasks through the same code path.
 *
 * Hostile peers (issue 6): frames are size-capped (maxFrameBytes) and each peer has a frame and a
 * byte budget over all its streams; frames over it are dropped and counted as bad. A stream with
 * too many bad frames is reset, and a peer whose streams keep being reset is reported through
 * `onMisbehaving` (the node hangs up on it and refuses it for a while).
 */
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Logger } from '../logger.ts'
import type { P2PLibp2p } from '../network/libp2p.ts'
import { PeerRateLimiter, type RateLimit } from '../network/rate-limit.ts'
import { atTurnEnd } from '../network/turn.ts'
import { decodeFrame, encodeFrame, frame, ProtocolError, type RejectReason, type StreamFrame } from '../protocol/codec.ts'

export interface TaskStreamsInit {
  protocol: string
  network: string
  maxFrameBytes: number
  openTimeoutMs: number
  onFrame: (from: string, frame: StreamFrame) => void
  onReject: (from: string, reason: RejectReason) => void
  /** a peer keeps sending invalid or over-limit frames (its streams were reset MAX_RESETS times) */
  onMisbehaving?: (from: string, reason: string) => void
  /** per-peer budgets; default STREAM_RATE_LIMITS (bytes: at least four maximal frames at once) */
  limits?: { frames?: RateLimit, bytes?: RateLimit }
}

/**
 * Per-peer inbound budgets. An honest submitter offers a burst of hundreds of tasks at once and a
 * worker returns results up to max_payload; both fit with room to spare.
 */
export const STREAM_RATE_LIMITS = {
  frames: { perSecond: 2000, burst: 10_000 },
  bytes: { perSecond: 64 * 1024 * 1024, burst: 128 * 1024 * 1024 }
} as const satisfies Record<string, RateLimit>

/** Streams of one peer reset for bad frames before the peer is reported as misbehaving. */
export const MAX_RESETS = 3

export interface TaskStreamsComponents {
  libp2p: P2PLibp2p
  logger: Logger
}

/** Bad frames tolerated from one peer on one stream before the stream is reset. */
const MAX_BAD_FRAMES = 20
/** Bytes queued on one outbound stream before a sender waits for it to drain. */
const MAX_BUFFERED = 4 * 1024 * 1024

interface Waiter { resolve: () => void, reject: (err: Error) => void }

interface Channel {
  stream?: Stream
  /** bumped whenever the outbound stream opens or closes (TaskStreams.epoch) */
  epoch: number
  opening?: Promise<Stream>
  /** serialises writes so frames keep their order */
  tail: Promise<void>
  /** frames queued in this turn of the event loop, written together as one batch */
  batch?: { frames: Uint8ArrayList, waiters: Waiter[] }
}

export class TaskStreams {
  private readonly channels = new Map<string, Channel>()
  private readonly self: string
  private readonly limiter: PeerRateLimiter
  /** streams reset for bad frames, per peer */
  private readonly resets = new Map<string, number>()
  private stopped = false

  constructor (private readonly components: TaskStreamsComponents, private readonly init: TaskStreamsInit) {
    this.self = components.libp2p.peerId.toString()
    this.limiter = new PeerRateLimiter({
      messages: init.limits?.frames ?? STREAM_RATE_LIMITS.frames,
      bytes: init.limits?.bytes ?? { perSecond: STREAM_RATE_LIMITS.bytes.perSecond, burst: Math.max(STREAM_RATE_LIMITS.bytes.burst, 4 * init.maxFrameBytes) }
    })
  }

  /** frames dropped for being over a peer's budget */
  get rateLimited (): number { return this.limiter.dropped }

  async start (): Promise<void> {
    await this.components.libp2p.handle(this.init.protocol, (stream, connection) => { this.read(stream, connection) }, {
      // NATed workers are reached through relays: the protocol must run on limited connections
      runOnLimitedConnection: true,
      maxInboundStreams: 64,
      maxOutboundStreams: 64
    })
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.components.libp2p.unhandle(this.init.protocol).catch(() => {})
    for (const ch of this.channels.values()) ch.stream?.abort(new Error('stopping'))
    this.channels.clear()
  }

  /**
   * Sends one frame; rejects when the peer cannot be reached (after one retry on a fresh stream).
   * Frames to one peer queued in the same turn of the event loop (a placement pass offering many
   * tasks, the acks of a batch of results) are written as one batch: one Yamux frame and one
   * Noise message instead of one each, which is most of the cost of a small frame.
   */
  async send (to: string, f: StreamFrame): Promise<void> {
    if (this.stopped) throw new Error('task streams stopped')
    if (to === this.self) {
      // in-process delivery, asynchronously like the network would
      queueMicrotask(() => { this.init.onFrame(this.self, f) })
      return
    }
    const bytes = frame(encodeFrame(f))
    let ch = this.channels.get(to)
    if (ch == null) {
      ch = { tail: Promise.resolve(), epoch: 0 }
      this.channels.set(to, ch)
    }
    const channel = ch
    return await new Promise<void>((resolve, reject) => {
      if (channel.batch == null) {
        const batch = { frames: new Uint8ArrayList(), waiters: [] as Waiter[] }
        channel.batch = batch
        atTurnEnd(() => {
          if (channel.batch === batch) channel.batch = undefined
          this.write(to, channel, batch)
        })
      }
      channel.batch.frames.append(bytes)
      channel.batch.waiters.push({ resolve, reject })
    })
  }

  private write (to: string, channel: Channel, batch: { frames: Uint8ArrayList, waiters: Waiter[] }): void {
    const write = channel.tail.then(async () => {
      for (let tryNo = 0; ; tryNo++) {
        try {
          if (this.stopped) throw new Error('task streams stopped')
          const stream = await this.streamFor(to, channel)
          if (!stream.send(batch.frames) || stream.writeBufferLength > MAX_BUFFERED) {
            await stream.onDrain({ signal: AbortSignal.timeout(this.init.openTimeoutMs * 4) })
          }
          return
        } catch (err) {
          channel.stream?.abort(err as Error)
          channel.stream = undefined
          if (tryNo >= 1 || this.stopped) throw err
        }
      }
    })
    channel.tail = write.then(() => {
      for (const w of batch.waiters) w.resolve()
    }, (err: Error) => {
      for (const w of batch.waiters) w.reject(err)
    })
  }

  private async streamFor (to: string, ch: Channel): Promise<Stream> {
    if (ch.stream != null && ch.stream.status === 'open' && ch.stream.writeStatus === 'writable') return ch.stream
    ch.opening ??= (async () => {
      try {
        const peer = peerIdFromString(to)
        const signal = AbortSignal.timeout(this.init.openTimeoutMs)
        // libp2p's dial never reuses a limited (relayed) connection: dialProtocol to a peer we reach
        // only through a relay would dial again (every direct address first, seconds each) and
        // open a second circuit. Open the stream on a connection we already have, direct ones first.
        const existing = this.components.libp2p.getConnections(peer)
          .filter(c => c.status === 'open')
          .sort((a, b) => Number(a.limits != null) - Number(b.limits != null))[0]
        const dial = async (): Promise<Stream> => await this.components.libp2p.dialProtocol(peer, this.init.protocol, { runOnLimitedConnection: true, signal })
        // a connection that is going away refuses the stream: then dial as before
        const stream = existing != null
          ? await existing.newStream(this.init.protocol, { runOnLimitedConnection: true, signal }).catch(async () => await dial())
          : await dial()
        ch.stream = stream
        ch.epoch++
        // the far side never writes on our outbound stream; read to notice a reset
        stream.addEventListener('close', () => {
          ch.epoch++
          if (ch.stream === stream) ch.stream = undefined
        })
        return stream
      } finally {
        ch.opening = undefined
      }
    })()
    return ch.opening
  }

  private read (stream: Stream, connection: Connection): void {
    const from = connection.remotePeer.toString()
    const reader = new FrameReader({ network: this.init.network, maxFrameBytes: this.init.maxFrameBytes })
    let bad = 0
    const resetFor = (why: string): void => {
      stream.abort(new Error(why))
      const resets = (this.resets.get(from) ?? 0) + 1
      this.resets.set(from, resets)
      if (this.resets.size > 10_000) this.resets.delete(this.resets.keys().next().value as string)
      if (resets >= MAX_RESETS) {
        this.resets.delete(from)
        this.init.onMisbehaving?.(from, why)
      }
    }
    const reject = (reason: RejectReason): boolean => {
      this.init.onReject(from, reason)
      if (++bad >= MAX_BAD_FRAMES) { resetFor('too many invalid frames'); return false }
      return true
    }
    const run = async (): Promise<void> => {
      for await (const chunk of stream) {
        for (const item of reader.push(chunk)) {
          if (item.kind === 'fatal') {
            // a frame over the size cap poisons the stream's framing: count it and reset the stream
            this.init.onReject(from, item.reason)
            resetFor('frame too large')
            return
          }
          if (!this.limiter.allow(from, item.bytes)) {
            if (!reject('rate_limited')) return
            continue
          }
          if (item.kind === 'reject') {
            if (!reject(item.reason)) return
            continue
          }
          try {
            this.init.onFrame(from, item.frame)
          } catch (err) {
            this.components.logger.warn('task frame handler failed', { peer: from, kind: item.frame.kind, error: err })
          }
        }
      }
    }
    run().catch(() => { /* the peer reset or closed the stream */ })
  }

  /**
   * Changes whenever the outbound stream to `to` opens or closes. A frame whose send resolved in
   * an epoch that is still current went out on a stream that is still open: it is on its way or
   * was read, and sending it again only adds to a busy peer's backlog.
   */
  epoch (to: string): number {
    return this.channels.get(to)?.epoch ?? 0
  }

  /** For tests and shutdown: is there an open outbound stream to this peer? */
  hasStream (to: PeerId | string): boolean {
    return this.channels.get(to.toString())?.stream != null
  }
}

export type FrameItem =
  | { kind: 'frame', frame: StreamFrame, bytes: number }
  | { kind: 'reject', reason: RejectReason, bytes: number }
  | { kind: 'fatal', reason: RejectReason }

/**
 * The inbound side of the framing, without I/O: bytes in (in any chunking), decoded frames and
 * rejections out. A length prefix over the cap is fatal (the stream's framing cannot be trusted
 * after it); a frame that does not decode or fails its checks is rejected and reading goes on.
 */
export class FrameReader {
  private readonly decoder: LengthPrefixedDecoder
  private dead = false

  constructor (private readonly init: { network: string, maxFrameBytes: number }) {
    this.decoder = new LengthPrefixedDecoder({ maxDataLength: init.maxFrameBytes, maxBufferSize: init.maxFrameBytes * 2 })
  }

  * push (chunk: Uint8Array | Uint8ArrayList): Generator<FrameItem> {
    if (this.dead) return
    let frames: Generator<Uint8ArrayList>
    try {
      frames = this.decoder.decode(chunk)
      for (const bytes of frames) {
        try {
          yield { kind: 'frame', frame: decodeFrame(bytes, this.init.network, this.init.maxFrameBytes), bytes: bytes.byteLength }
        } catch (err) {
          yield { kind: 'reject', reason: err instanceof ProtocolError ? err.reason : 'decode', bytes: bytes.byteLength }
        }
      }
    } catch {
      this.dead = true
      yield { kind: 'fatal', reason: 'too_large' }
    }
  }
}
