/**
 * The GossipSub side of the scheduler: topics, validators and publishing. Validators reject what
 * does not decode, is too large, belongs to another network or claims another sender; every
 * rejection is counted by reason. Handlers receive decoded, validated messages only.
 */
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import type { Logger } from '../logger.ts'
import {
  CapabilityAdvertisement, HeartBeat, TaskRequest, TaskResponse, ProtocolError,
  decodeAdvertisement, decodeHeartbeat, decodeTaskRequest, decodeTaskResponse, MAX_GOSSIP_BYTES, type RejectReason
} from '../protocol/codec.ts'
import { capabilitiesTopic, heartbeatTopic, parseTopic, resultsTopic, tasksTopic, type TopicKind } from '../protocol/names.ts'

export interface GossipHandlers {
  onAdvertisement: (from: string, msg: CapabilityAdvertisement) => void
  onHeartbeat: (from: string, msg: HeartBeat) => void
  onTaskRequest: (from: string, msg: TaskRequest) => void
  onTaskResponse: (from: string, msg: TaskResponse) => void
  onReject: (topic: TopicKind, reason: RejectReason, from: string) => void
  onMessage?: (topic: TopicKind, direction: 'in' | 'out') => void
}

export interface GossipInit {
  network: string
  /** messages older than this (by their timestamp) are stale: replays */
  maxAgeMs: number
}

type Decoded =
  | { kind: 'capabilities', msg: CapabilityAdvertisement }
  | { kind: 'heartbeat', msg: HeartBeat }
  | { kind: 'tasks', msg: TaskRequest }
  | { kind: 'results', msg: TaskResponse }

/** Peer ID bytes in a message body -> string; throws on garbage. */
export function peerIdFromBytes (bytes: Uint8Array): string {
  return peerIdFromMultihash(Digest.decode(bytes)).toString()
}

export class Gossip {
  private readonly topics: Set<string>
  private readonly pv: string

  constructor (private readonly pubsub: GossipSub, private readonly logger: Logger, private readonly init: GossipInit, private readonly handlers: GossipHandlers) {
    this.pv = init.network
    this.topics = new Set([capabilitiesTopic(this.pv), heartbeatTopic(this.pv), resultsTopic(this.pv)])
  }

  start (): void {
    for (const t of this.topics) this.subscribe(t)
    this.pubsub.addEventListener('message', this.onMessage)
  }

  stop (): void {
    this.pubsub.removeEventListener('message', this.onMessage)
    for (const t of this.topics) {
      this.pubsub.topicValidators.delete(t)
      try { this.pubsub.unsubscribe(t) } catch { /* already stopped */ }
    }
  }

  /** Workers subscribe to the task topics of their capabilities only, so tasks never flood the mesh. */
  subscribeTasks (capabilities: readonly string[]): void {
    for (const c of capabilities) {
      const t = tasksTopic(this.pv, c)
      if (!this.topics.has(t)) {
        this.topics.add(t)
        this.subscribe(t)
      }
    }
  }

  private subscribe (topic: string): void {
    this.pubsub.topicValidators.set(topic, (_peer, message) => this.validate(message))
    this.pubsub.subscribe(topic)
  }

  /** Decodes and checks one message; the single place that maps errors to accept/ignore/reject. */
  private decode (message: Message): Decoded {
    const parsed = parseTopic(message.topic)
    if (parsed == null || parsed.protocolVersion !== this.pv) throw new ProtocolError('wrong_network', `topic ${message.topic}`)
    if (message.type !== 'signed') throw new ProtocolError('wrong_sender', 'unsigned message')
    const sender = message.from.toString()
    const now = Date.now()
    const fresh = (ts: bigint): void => {
      const t = Number(ts)
      if (now - t > this.init.maxAgeMs || t - now > 60_000) throw new ProtocolError('stale', `timestamp ${t} outside the accepted window`)
    }
    const claim = (bytes: Uint8Array): void => {
      let id: string
      try { id = peerIdFromBytes(bytes) } catch { throw new ProtocolError('invalid', 'bad peer id bytes') }
      if (id !== sender) throw new ProtocolError('wrong_sender', `claims ${id} but signed by ${sender}`)
    }
    switch (parsed.kind) {
      case 'capabilities': {
        const msg = decodeAdvertisement(message.data, this.pv)
        claim(msg.peer)
        fresh(msg.timestamp)
        return { kind: 'capabilities', msg }
      }
      case 'heartbeat': {
        const msg = decodeHeartbeat(message.data, this.pv)
        claim(msg.peer)
        fresh(msg.timestamp)
        return { kind: 'heartbeat', msg }
      }
      case 'tasks': {
        const msg = decodeTaskRequest(message.data, this.pv, MAX_GOSSIP_BYTES.tasks)
        claim(msg.submitter)
        fresh(msg.created)
        return { kind: 'tasks', msg }
      }
      case 'results': {
        const msg = decodeTaskResponse(message.data, this.pv)
        // the task's submitter publishes the summary about the worker that ran it: the worker
        // field names another peer by design, so it must be a peer ID, not the signer
        try { peerIdFromBytes(msg.worker) } catch { throw new ProtocolError('invalid', 'bad worker peer id bytes') }
        fresh(msg.timestamp)
        return { kind: 'results', msg }
      }
    }
  }

  private validate (message: Message): TopicValidatorResult {
    try {
      this.decode(message)
      return TopicValidatorResult.Accept
    } catch (err) {
      const reason: RejectReason = err instanceof ProtocolError ? err.reason : 'invalid'
      const kind = parseTopic(message.topic)?.kind ?? 'capabilities'
      const from = message.type === 'signed' ? message.from.toString() : 'unsigned'
      this.handlers.onReject(kind, reason, from)
      this.logger.debug('gossip message rejected', { topic: message.topic, reason, from, error: err })
      // a stale message may be an honest late delivery: ignore it without penalising the forwarder
      return reason === 'stale' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
    }
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const message = evt.detail
    if (!this.topics.has(message.topic) || message.type !== 'signed') return
    let decoded: Decoded
    try {
      decoded = this.decode(message)
    } catch {
      return // counted by the validator
    }
    const from = message.from.toString()
    this.handlers.onMessage?.(decoded.kind, 'in')
    try {
      switch (decoded.kind) {
        case 'capabilities': this.handlers.onAdvertisement(from, decoded.msg); break
        case 'heartbeat': this.handlers.onHeartbeat(from, decoded.msg); break
        case 'tasks': this.handlers.onTaskRequest(from, decoded.msg); break
        case 'results': this.handlers.onTaskResponse(from, decoded.msg); break
      }
    } catch (err) {
      this.logger.warn('gossip handler failed', { topic: message.topic, error: err })
    }
  }

  async publishAdvertisement (msg: CapabilityAdvertisement): Promise<void> {
    await this.publish('capabilities', capabilitiesTopic(this.pv), CapabilityAdvertisement.encode(msg))
  }

  async publishHeartbeat (msg: HeartBeat): Promise<void> {
    await this.publish('heartbeat', heartbeatTopic(this.pv), HeartBeat.encode(msg))
  }

  async publishTaskRequest (capability: string, msg: TaskRequest): Promise<void> {
    await this.publish('tasks', tasksTopic(this.pv, capability), TaskRequest.encode(msg))
  }

  async publishTaskResponse (msg: TaskResponse): Promise<void> {
    await this.publish('results', resultsTopic(this.pv), TaskResponse.encode(msg))
  }

  private async publish (kind: TopicKind, topic: string, data: Uint8Array): Promise<void> {
    try {
      await this.pubsub.publish(topic, data)
      this.handlers.onMessage?.(kind, 'out')
    } catch (err) {
      this.logger.debug('publish failed', { topic, error: err })
    }
  }
}
