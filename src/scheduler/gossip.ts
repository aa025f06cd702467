/**
 * The GossipSub side of the scheduler: topics, validators and publishing. Validators reject what
 * does not decode, is too large, belongs to another network or claims another sender; every
 * rejection is counted by reason. Handlers receive decoded, validated messages only.
 *
 * Hostile peers (issue 6): each author has a message and a byte budget per topic kind; a message
 * over it is dropped, and rejected (a GossipSub P4 penalty) when the author itself delivered it,
 * ignored when an honest peer merely forwarded it. A message far older than the freshness window
 * is a replay and is rejected; one just outside it is ignored (a late delivery). A peer whose score
 * falls under the graylist threshold, or that delivers MAX_STRIKES rejected messages, is reported
 * through `onMisbehaving` (the node hangs up on it and refuses it for a while).
 */
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import type { Logger } from '../logger.ts'
import { GOSSIP_SCORE_THRESHOLDS, STALE_REPLAY_GRACE_MS } from '../network/gossip-scoring.ts'
import { PeerRateLimiter, type RateLimit } from '../network/rate-limit.ts'
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
  /**
   * A peer should be cut off: its GossipSub score fell under the graylist threshold, or it
   * delivered `maxStrikes` messages we rejected (invalid, replayed, or its own flood over budget).
   * The strike count is needed besides the score: gossipsub keeps accepting RPCs from a peer whose
   * score was >= 0 for up to 128 RPCs or 1 s before it looks at the score again.
   */
  onMisbehaving?: (peer: string, why: 'graylisted' | 'invalid_messages', detail: Record<string, unknown>) => void
}

export interface GossipRateLimits { messages: RateLimit, bytes: RateLimit }

/**
 * Per-author budgets by topic kind. Honest authors stay far below them: a heartbeat per
 * heartbeat_interval (at least 100 ms) plus prompt ones (at most 4/s), advertisements on change and
 * every ten heartbeats, a TaskRequest or TaskResponse per task (bursty: 300 tasks submitted at once).
 */
export const GOSSIP_RATE_LIMITS: Record<TopicKind, GossipRateLimits> = {
  capabilities: { messages: { perSecond: 5, burst: 30 }, bytes: { perSecond: 64 * 1024, burst: 256 * 1024 } },
  heartbeat: { messages: { perSecond: 20, burst: 60 }, bytes: { perSecond: 16 * 1024, burst: 64 * 1024 } },
  tasks: { messages: { perSecond: 300, burst: 2000 }, bytes: { perSecond: 8 * 1024 * 1024, burst: 32 * 1024 * 1024 } },
  results: { messages: { perSecond: 300, burst: 2000 }, bytes: { perSecond: 512 * 1024, burst: 2 * 1024 * 1024 } }
}

export interface GossipInit {
  network: string
  /** messages older than this (by their timestamp) are stale: replays */
  maxAgeMs: number
  /** per-author budgets; default GOSSIP_RATE_LIMITS */
  limits?: Partial<Record<TopicKind, GossipRateLimits>>
  /** default GOSSIP_SCORE_THRESHOLDS.graylistThreshold */
  graylistThreshold?: number
  /** rejected messages a peer may deliver (within STRIKE_WINDOW_MS) before it is cut off; default MAX_STRIKES */
  maxStrikes?: number
  /**
   * subscribe to the TaskResponse summaries (`tasks.observe_results`). Off by default: no part of
   * the scheduler needs them (the submitter holds the full result), and a summary per task that
   * every node verifies cost the workers a quarter of their CPU in the burst benchmark.
   */
  observeResults?: boolean
  /**
   * subscribe to the heartbeat topic from the start (default: false, see `followLoad()`).
   * Bootstraps and relays do: they carry the heartbeats of the workers connected to them.
   */
  followLoad?: boolean
}

/** Rejected messages one delivering peer is allowed in STRIKE_WINDOW_MS. Honest peers deliver none. */
export const MAX_STRIKES = 10
export const STRIKE_WINDOW_MS = 60_000

/** A message far older than the freshness window: nobody honest forwards it, so it is rejected. */
class ReplayError extends ProtocolError {
  constructor (message: string) {
    super('stale', message)
    this.name = 'ReplayError'
  }
}

type Decoded =
  | { kind: 'capabilities', msg: CapabilityAdvertisement }
  | { kind: 'heartbeat', msg: HeartBeat }
  | { kind: 'tasks', msg: TaskRequest }
  | { kind: 'results', msg: TaskResponse }

/** Peer ID bytes in a message body -> string; throws on garbage. */
/**
 * A peer id's string form from its multihash bytes. Every offer and receipt names its submitter
 * and every heartbeat its sender as bytes, while the base58 encoding (and the key check behind it)
 * took 10 % of a worker's CPU in a burst: the few peers a node hears from are remembered.
 */
export function peerIdFromBytes (bytes: Uint8Array): string {
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
  let id = PEER_IDS.get(key)
  if (id == null) {
    id = peerIdFromMultihash(Digest.decode(bytes)).toString()
    if (PEER_IDS.size >= 4096) PEER_IDS.clear()
    PEER_IDS.set(key, id)
  }
  return id
}

const PEER_IDS = new Map<string, string>()

export class Gossip {
  private readonly topics: Set<string>
  private readonly pv: string
  /** the heartbeat topic's name, made once: followLoad() is asked on every submission */
  private readonly heartbeatTopic: string
  private started = false
  private readonly limiters: Record<TopicKind, PeerRateLimiter>
  /** propagation sources whose score is checked soon (after a rejection) */
  private readonly suspects = new Set<string>()
  private suspectTimer?: NodeJS.Timeout
  /** rejected deliveries per propagation source, in the current window */
  private readonly strikes = new Map<string, { count: number, since: number, reported: boolean }>()
  /** counters for metrics and tests */
  readonly stats = { rateLimited: 0, replays: 0, graylisted: 0, struckOut: 0 }

  constructor (private readonly pubsub: GossipSub, private readonly logger: Logger, private readonly init: GossipInit, private readonly handlers: GossipHandlers) {
    this.pv = init.network
    this.heartbeatTopic = heartbeatTopic(this.pv)
    this.topics = new Set([capabilitiesTopic(this.pv)])
    if (init.followLoad === true) this.topics.add(this.heartbeatTopic)
    if (init.observeResults === true) this.topics.add(resultsTopic(this.pv))
    const limits = { ...GOSSIP_RATE_LIMITS, ...init.limits }
    this.limiters = {
      capabilities: new PeerRateLimiter(limits.capabilities),
      heartbeat: new PeerRateLimiter(limits.heartbeat),
      tasks: new PeerRateLimiter(limits.tasks),
      results: new PeerRateLimiter(limits.results)
    }
  }

  start (): void {
    this.started = true
    // GossipSub validates (signature and all) and caches what arrives on any topic, subscribed or
    // not: our validators, with their per-author budgets and strikes, guard the topics this node
    // does not subscribe to as well, so a flood of heartbeats at a worker that does not follow the
    // load is cut off like any other
    for (const t of this.guarded()) this.guard(t)
    for (const t of this.topics) this.pubsub.subscribe(t)
    this.pubsub.addEventListener('message', this.onMessage)
  }

  private guarded (): Set<string> {
    return new Set([capabilitiesTopic(this.pv), this.heartbeatTopic, resultsTopic(this.pv), ...this.topics])
  }

  /** Is this node subscribed to the heartbeat topic (does it hear every node's load)? */
  get followsLoad (): boolean { return this.topics.has(this.heartbeatTopic) }

  /**
   * Subscribes to the heartbeat topic; true if this call did. Only nodes that place tasks need
   * every worker's load, and a topic every node subscribes to costs every node every message
   * (received from up to D mesh peers, forwarded to D more): N² for the network. So a worker hears
   * heartbeats only once it submits, and publishes its own to the subscribers among its peers
   * (GossipSub's fanout) without subscribing.
   */
  followLoad (): boolean {
    if (this.topics.has(this.heartbeatTopic)) return false
    this.topics.add(this.heartbeatTopic)
    if (this.started) this.subscribe(this.heartbeatTopic)
    return true
  }

  stop (): void {
    this.started = false
    clearTimeout(this.suspectTimer)
    this.pubsub.removeEventListener('message', this.onMessage)
    for (const t of this.guarded()) this.pubsub.topicValidators.delete(t)
    for (const t of this.topics) {
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

  private guard (topic: string): void {
    this.pubsub.topicValidators.set(topic, (peer, message) => this.validate(message, peer.toString()))
  }

  private subscribe (topic: string): void {
    this.guard(topic)
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
      if (now - t > this.init.maxAgeMs + STALE_REPLAY_GRACE_MS || t - now > 60_000 + STALE_REPLAY_GRACE_MS) throw new ReplayError(`timestamp ${t} far outside the accepted window: a replay`)
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

  /**
   * Validates one message delivered by `source` (the propagation source, who may have forwarded
   * it for its author). Order: the author's budget (cheap), then decoding and checks.
   */
  validate (message: Message, source: string): TopicValidatorResult {
    const kind = parseTopic(message.topic)?.kind ?? 'capabilities'
    const from = message.type === 'signed' ? message.from.toString() : 'unsigned'
    if (message.type === 'signed' && !this.limiters[kind].allow(from, message.data.byteLength)) {
      this.stats.rateLimited++
      this.handlers.onReject(kind, 'rate_limited', from)
      // the author delivering its own flood is penalised; an honest forwarder is not
      if (source !== from) return TopicValidatorResult.Ignore
      this.suspect(source)
      return TopicValidatorResult.Reject
    }
    try {
      this.decode(message)
      return TopicValidatorResult.Accept
    } catch (err) {
      const reason: RejectReason = err instanceof ProtocolError ? err.reason : 'invalid'
      this.handlers.onReject(kind, reason, from)
      this.logger.debug('gossip message rejected', { topic: message.topic, reason, from, source, error: err })
      if (err instanceof ReplayError) this.stats.replays++
      // a stale message may be an honest late delivery: ignore it without penalising the
      // forwarder; a replay of a long-expired one is not
      if (reason === 'stale' && !(err instanceof ReplayError)) return TopicValidatorResult.Ignore
      this.suspect(source)
      return TopicValidatorResult.Reject
    }
  }

  /**
   * A peer's GossipSub score. `getScore` is on gossipsub's implementation, not on its exported
   * interface; without it (another pubsub) nobody is reported as graylisted.
   */
  scoreOf (peer: string): number {
    const ps = this.pubsub as GossipSub & { getScore?: (p: string) => number }
    return typeof ps.getScore === 'function' ? ps.getScore(peer) : 0
  }

  /**
   * After a rejection: count a strike against the delivering peer, and look at its score once
   * gossipsub has applied the penalty.
   */
  private suspect (peer: string): void {
    const now = Date.now()
    let st = this.strikes.get(peer)
    if (st == null || now - st.since > STRIKE_WINDOW_MS) {
      if (st == null && this.strikes.size >= 10_000) this.strikes.delete(this.strikes.keys().next().value as string)
      st = { count: 0, since: now, reported: false }
      this.strikes.set(peer, st)
    }
    st.count++
    if (st.count >= (this.init.maxStrikes ?? MAX_STRIKES) && !st.reported) {
      st.reported = true
      this.stats.struckOut++
      this.report(peer, 'invalid_messages', { strikes: st.count })
    }
    this.suspects.add(peer)
    if (this.suspectTimer != null || this.handlers.onMisbehaving == null) return
    this.suspectTimer = setTimeout(() => {
      this.suspectTimer = undefined
      const threshold = this.init.graylistThreshold ?? GOSSIP_SCORE_THRESHOLDS.graylistThreshold
      for (const p of this.suspects) {
        const score = this.scoreOf(p)
        if (score < threshold) {
          this.stats.graylisted++
          this.report(p, 'graylisted', { score })
        }
      }
      this.suspects.clear()
    }, 50)
    this.suspectTimer.unref()
  }

  private report (peer: string, why: 'graylisted' | 'invalid_messages', detail: Record<string, unknown>): void {
    try { this.handlers.onMisbehaving?.(peer, why, detail) } catch (err) { this.logger.warn('misbehaviour handler failed', { error: err }) }
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

  /**
   * Advertisements are flood-published: to every subscribed peer, not only our mesh for the topic.
   * They are small and rare, and a joiner's mesh is empty until GossipSub's next heartbeat grafts
   * it, so its first advertisements would otherwise reach only a few peers and the rest of the
   * network one gossip round (or one periodic advertisement) later.
   */
  async publishAdvertisement (msg: CapabilityAdvertisement): Promise<void> {
    await this.publish('capabilities', capabilitiesTopic(this.pv), CapabilityAdvertisement.encode(msg), { floodPublish: true })
  }

  async publishHeartbeat (msg: HeartBeat): Promise<void> {
    await this.publish('heartbeat', this.heartbeatTopic, HeartBeat.encode(msg))
  }

  async publishTaskRequest (capability: string, msg: TaskRequest): Promise<void> {
    await this.publish('tasks', tasksTopic(this.pv, capability), TaskRequest.encode(msg))
  }

  /** Is any peer we know subscribed to the TaskResponse summaries? Nothing is published otherwise. */
  hasResultObservers (): boolean {
    return this.pubsub.getSubscribers(resultsTopic(this.pv)).length > 0
  }

  /** Callers check `hasResultObservers()` first: without an observer a summary is not worth making. */
  async publishTaskResponse (msg: TaskResponse): Promise<void> {
    await this.publish('results', resultsTopic(this.pv), TaskResponse.encode(msg))
  }

  private async publish (kind: TopicKind, topic: string, data: Uint8Array, opts?: { floodPublish?: boolean }): Promise<void> {
    try {
      // the per-message options are on gossipsub's implementation, not on its exported interface
      await (this.pubsub as GossipSub & { publish: (t: string, d: Uint8Array, o?: { floodPublish?: boolean }) => Promise<unknown> }).publish(topic, data, opts)
      this.handlers.onMessage?.(kind, 'out')
    } catch (err) {
      this.logger.debug('publish failed', { topic, error: err })
    }
  }
}
