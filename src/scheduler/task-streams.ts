/**
 * The direct task stream protocol /<pv>/task/1.0.0. Each node keeps one long-lived outbound stream
 * per peer for the frames it sends (opening a stream per task costs ~1 ms) and reads the frames
 * peers send on their streams. Frames to this node itself are delivered in-process, so a worker
 * that submits runs its own tasks through the same code path.
 */
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from '../logger.ts'
import type { P2PLibp2p } from '../network/libp2p.ts'
import { decodeFrame, encodeFrame, frame, ProtocolError, type RejectReason, type StreamFrame } from '../protocol/codec.ts'

export interface TaskStreamsInit {
  protocol: string
  network: string
  maxFrameBytes: number
  openTimeoutMs: number
  onFrame: (from: string, frame: StreamFrame) => void
  onReject: (from: string, reason: RejectReason) => void
}

export interface TaskStreamsComponents {
  libp2p: P2PLibp2p
  logger: Logger
}

/** Bad frames tolerated from one peer on one stream before the stream is reset. */
const MAX_BAD_FRAMES = 20
/** Bytes queued on one outbound stream before a sender waits for it to drain. */
const MAX_BUFFERED = 4 * 1024 * 1024

interface Channel {
  stream?: Stream
  opening?: Promise<Stream>
  /** serialises writes so frames keep their order */
  tail: Promise<void>
}

export class TaskStreams {
  private readonly channels = new Map<string, Channel>()
  private readonly self: string
  private stopped = false

  constructor (private readonly components: TaskStreamsComponents, private readonly init: TaskStreamsInit) {
    this.self = components.libp2p.peerId.toString()
  }

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

  /** Sends one frame; rejects when the peer cannot be reached (after one retry on a fresh stream). */
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
      ch = { tail: Promise.resolve() }
      this.channels.set(to, ch)
    }
    const channel = ch
    const write = channel.tail.then(async () => {
      for (let tryNo = 0; ; tryNo++) {
        try {
          const stream = await this.streamFor(to, channel)
          if (!stream.send(bytes) || stream.writeBufferLength > MAX_BUFFERED) {
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
    channel.tail = write.catch(() => {})
    return write
  }

  private async streamFor (to: string, ch: Channel): Promise<Stream> {
    if (ch.stream != null && ch.stream.status === 'open' && ch.stream.writeStatus === 'writable') return ch.stream
    ch.opening ??= (async () => {
      try {
        const stream = await this.components.libp2p.dialProtocol(peerIdFromString(to), this.init.protocol, {
          runOnLimitedConnection: true,
          signal: AbortSignal.timeout(this.init.openTimeoutMs)
        })
        ch.stream = stream
        // the far side never writes on our outbound stream; read to notice a reset
        stream.addEventListener('close', () => { if (ch.stream === stream) ch.stream = undefined })
        return stream
      } finally {
        ch.opening = undefined
      }
    })()
    return ch.opening
  }

  private read (stream: Stream, connection: Connection): void {
    const from = connection.remotePeer.toString()
    const decoder = new LengthPrefixedDecoder({ maxDataLength: this.init.maxFrameBytes, maxBufferSize: this.init.maxFrameBytes * 2 })
    let bad = 0
    const reject = (reason: RejectReason): void => {
      this.init.onReject(from, reason)
      if (++bad >= MAX_BAD_FRAMES) stream.abort(new Error('too many invalid frames'))
    }
    const run = async (): Promise<void> => {
      for await (const chunk of stream) {
        let frames: Generator<import('uint8arraylist').Uint8ArrayList>
        try {
          frames = decoder.decode(chunk)
          for (const bytes of frames) {
            let f: StreamFrame
            try {
              f = decodeFrame(bytes, this.init.network, this.init.maxFrameBytes)
            } catch (err) {
              reject(err instanceof ProtocolError ? err.reason : 'decode')
              continue
            }
            try {
              this.init.onFrame(from, f)
            } catch (err) {
              this.components.logger.warn('task frame handler failed', { peer: from, kind: f.kind, error: err })
            }
          }
        } catch {
          // a frame over the size cap poisons the stream's framing: count it and reset the stream
          reject('too_large')
          stream.abort(new Error('frame too large'))
          return
        }
      }
    }
    run().catch(() => { /* the peer reset or closed the stream */ })
  }

  /** For tests and shutdown: is there an open outbound stream to this peer? */
  hasStream (to: PeerId | string): boolean {
    return this.channels.get(to.toString())?.stream != null
  }
}
