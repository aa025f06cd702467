/**
 * The composition root. The constructor only assigns; start() builds the parts in order (identity,
 * libp2p, journal, executor, scheduler, discovery, health, API) and stop() takes them down in
 * reverse, idempotently, with a timeout on libp2p.stop().
 */
import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Registry } from 'prom-client'
import type { Config } from './config/types.ts'
import { Executor } from './executor/index.ts'
import { createLogger, type Logger } from './logger.ts'
import type { Metrics } from './metrics/index.ts'
import { NOOP_METRICS } from './metrics/noop.ts'
import { Discovery } from './network/discovery.ts'
import { DEFAULT_PING_INTERVAL_MS, HealthMonitor } from './network/health-monitor.ts'
import { defaultIdentityFile, loadIdentity, peerIdOf } from './network/identity.ts'
import { announceAddress, createP2PLibp2p, type P2PLibp2p } from './network/libp2p.ts'
import { isHealthy } from './network/peer-health.ts'
import { readSwarmKey } from './network/pnet.ts'
import { RelayWatchdog } from './network/relay-watchdog.ts'
import { PeerGuard } from './network/peer-guard.ts'
import { GOSSIP_MAX_AGE_MS } from './network/gossip-scoring.ts'
import type { CapabilityView, NetworkStats, NodeApi, NodeStatus, PeerView, Readiness, Role } from './node-api.ts'
import { WIRE_VERSION, type StreamFrame } from './protocol/codec.ts'
import { taskProtocol, capabilitiesTopic } from './protocol/names.ts'
import { CapabilityTable } from './scheduler/capability-table.ts'
import { Gossip, peerIdFromBytes } from './scheduler/gossip.ts'
import { Journal } from './scheduler/journal.ts'
import { Submitter } from './scheduler/submitter.ts'
import { TaskStreams } from './scheduler/task-streams.ts'
import { WorkerRuntime } from './scheduler/worker-runtime.ts'
import { startApiServer, type ApiServer } from './api/server.ts'
import { every, jitteredMs, type Periodic } from './periodic.ts'

export const VERSION = '0.1.0'

export interface NodeOptions {
  logger?: Logger
  /** metrics registry; default: a new one per node that keeps metrics */
  registry?: Registry
  /** start the HTTP API (default: config.api.enabled) */
  api?: boolean
  /**
   * keep metrics in a prom-client registry (default: with the HTTP API, which serves /metrics);
   * without, the node counts nothing (NOOP_METRICS) and never loads prom-client
   */
  metrics?: boolean
  /**
   * bridge libp2p's own metrics (connections, streams, gossipsub, DHT) into the registry. The
   * bridge keeps process-global state, so only a process running one node turns it on.
   */
  libp2pMetrics?: boolean
}

const AGENT_RE = /^p2p-network\/[^ ]+ \(([^;]+); (bootstrap|relay|worker)\)$/
const STOP_TIMEOUT_MS = 5_000
/**
 * Gossip costs every node every message: each one is received (from up to D mesh peers), verified
 * once and forwarded to D peers, so a network of N nodes each heartbeating every T costs every node
 * N/T messages a second, and the whole network N²/T. Heartbeats and periodic advertisements are
 * therefore spaced in proportion to the network size (the node's capability table), which keeps the
 * whole network's heartbeat traffic about constant as it grows: at most 1000/KEEPALIVE_PER_NODE_MS
 * keepalives and 1000/HEARTBEAT_SPACING_PER_NODE_MS heartbeats with news a second.
 */
export const KEEPALIVE_PER_NODE_MS = 300
export const HEARTBEAT_SPACING_PER_NODE_MS = 200
const ADVERTISE_PER_NODE_MS = 400
const MIN_HEARTBEAT_SPACING_MS = 250

/**
 * How often a node whose load has not changed heartbeats: every heartbeat_interval when that is 5 s
 * or more (production: 30 s), else every 3 intervals but at most 5 s (the devnet's 1 s: every 3 s);
 * in a network of more than a few nodes, at least KEEPALIVE_PER_NODE_MS per node (50 nodes: 15 s).
 * Changes are published soon (heartbeatSpacingMs), so this only bounds how long a silent peer stays
 * in the capability table (three keepalives).
 */
export function heartbeatKeepaliveMs (heartbeatIntervalMs: number, nodes = 0): number {
  return Math.max(heartbeatIntervalMs, Math.min(3 * heartbeatIntervalMs, 5_000), nodes * KEEPALIVE_PER_NODE_MS)
}

/** A peer is expired from the capability table after three missed keepalives. */
export function tableExpiryMs (heartbeatIntervalMs: number, nodes = 0): number {
  return Math.max(3 * heartbeatKeepaliveMs(heartbeatIntervalMs, nodes) + 2000, 5000)
}

/**
 * Heartbeats with news (a slot freed or filled) go out soon, but no sooner than this after the
 * previous one: HEARTBEAT_SPACING_PER_NODE_MS per node in the capability table (at least 250 ms,
 * at most a keepalive). At 250 ms per worker whatever the size, a burst on 16 workers cost every
 * node 64 heartbeats a second, each received and forwarded about D times, and the workers' gossip
 * took the CPU the gateway needed. Submitters do not wait for them: a result frees its slot in
 * the submitter's own estimate at once, and other submitters fall back on broadcasts and claims.
 */
export function heartbeatSpacingMs (nodes: number, heartbeatIntervalMs: number): number {
  return Math.max(MIN_HEARTBEAT_SPACING_MS, Math.min(nodes * HEARTBEAT_SPACING_PER_NODE_MS, heartbeatKeepaliveMs(heartbeatIntervalMs, nodes)))
}

/**
 * How long after its last heartbeat an idle node (nothing changed) heartbeats again: the keepalive
 * shortened at random by up to PERIOD_JITTER (`u` uniform in [0, 1); see periodic.ts), less half a
 * heartbeat interval so the periodic tick that falls just short of it does not put it off a whole
 * interval; never sooner than heartbeatSpacingMs, so no node heartbeats more often than that.
 */
export function keepaliveDueMs (heartbeatIntervalMs: number, nodes: number, u: number): number {
  const keepalive = heartbeatKeepaliveMs(heartbeatIntervalMs, nodes)
  const latest = keepalive - heartbeatIntervalMs / 2
  const early = jitteredMs(keepalive, u) - heartbeatIntervalMs / 2
  return Math.max(early, Math.min(heartbeatSpacingMs(nodes, heartbeatIntervalMs), latest))
}

/**
 * What makes a heartbeat news: the part of a node's load other submitters act on. A submitter
 * learns of the slots its own tasks free from their results; others only need to know whether a
 * worker is full, has few or many slots free, is draining, and whether a node has tasks waiting.
 * Every change of the exact counts was news before, so every task started or ended made one, and
 * a burst had every worker heartbeating at its spacing limit: each heartbeat is received, checked
 * and forwarded about D times by every node, which at 50 workers on 2 cores took CPU the gateway
 * needed (docs/benchmarks.md). The heartbeat itself still carries the exact counts.
 */
export function heartbeatNews (s: { freeSlots: number, slots: number, queued: number, draining: boolean }): string {
  const level = s.freeSlots <= 0 ? 'full' : 2 * s.freeSlots < s.slots ? 'few' : 'many'
  return `${level}/${s.draining ? 'draining' : ''}/${s.queued > 0 ? 'queued' : ''}`
}

/** Periodic advertisements: every 10 heartbeat intervals (at least 5 s), and ADVERTISE_PER_NODE_MS per node. */
export function advertiseIntervalMs (heartbeatIntervalMs: number, nodes = 0): number {
  return Math.max(5_000, heartbeatIntervalMs * 10, nodes * ADVERTISE_PER_NODE_MS)
}

/**
 * Expiry in the capability table of a node that does not follow the workers' load (a worker that
 * has submitted nothing: Gossip.followLoad): only advertisements refresh its entries, so a peer
 * is expired after three missed periodic advertisements instead of three keepalives.
 */
export function advertisedTableExpiryMs (heartbeatIntervalMs: number, nodes = 0): number {
  return 3 * advertiseIntervalMs(heartbeatIntervalMs, nodes) + 2000
}

/**
 * A prompted advertisement goes out this soon, and at most one per ADVERTISE_SPACING_MS (our
 * addresses changed) or ADVERTISE_NEWCOMER_SPACING_MS (a peer subscribed), far under the per-author
 * budget peers enforce (GOSSIP_RATE_LIMITS).
 */
const ADVERTISE_SOON_MS = 20
const ADVERTISE_SPACING_MS = 1_000
const ADVERTISE_NEWCOMER_SPACING_MS = 5_000

export class P2PNode {
  readonly config: Config
  readonly logger: Logger
  /** set by start() on a node that keeps metrics */
  registry?: Registry
  readonly api: NodeApi
  metrics?: Metrics
  libp2p?: P2PLibp2p
  peerId = ''
  apiServer?: ApiServer
  table: CapabilityTable
  submitter?: Submitter
  worker?: WorkerRuntime
  executor?: Executor
  discovery?: Discovery
  health?: HealthMonitor
  /** workers with enable_relay: re-reserves on a relay when the reservation is gone (issue 6) */
  relayWatchdog?: RelayWatchdog
  /** allow_peers and bans of misbehaving peers, as the connection gater (issue 6) */
  guard?: PeerGuard
  streams?: TaskStreams
  gossip?: Gossip
  journal?: Journal
  /** peers identified as members of this network, with their role */
  private readonly members = new Map<string, Role>()
  private readonly rejections = { gossip: 0, stream: 0 }
  private readonly timers: Periodic[] = []
  private startedAt = 0
  private advSeq = 0n
  /** time-based like advSeq, so a restarted node's heartbeats are newer than its previous life's */
  private hbSeq = BigInt(Date.now()) * 1000n
  /** what the last published heartbeat said, and when */
  private lastHeartbeat = { state: '', at: 0 }
  private promptHeartbeatTimer?: NodeJS.Timeout
  private advertiseTimer?: NodeJS.Timeout
  private advertisedOnce = false
  private lastAdvertiseAt = 0
  /** the last advertisement of any kind: the periodic one is due advertiseIntervalMs after it */
  private lastPeriodicAdvertise = Date.now()
  /** uniform in [0, 1): where in its period each periodic timer, keepalive and advertisement falls */
  private readonly random = Math.random
  /** this node's draw for the next keepalive and periodic advertisement (see jitteredMs) */
  private keepaliveU: number
  private advertiseU: number
  private draining = false
  private stopping?: Promise<void>
  private readonly withApi: boolean
  private readonly withMetrics: boolean
  private readonly libp2pMetrics: boolean

  constructor (config: Config, options: NodeOptions = {}) {
    this.config = config
    this.logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format })
    this.registry = options.registry
    this.libp2pMetrics = options.libp2pMetrics ?? false
    this.keepaliveU = this.random()
    this.advertiseU = this.random()
    // a peer is expired after three missed heartbeats; an idle one heartbeats every keepalive
    this.table = new CapabilityTable(tableExpiryMs(config.node.heartbeatIntervalMs))
    this.withApi = options.api ?? config.api.enabled
    this.withMetrics = options.metrics ?? (this.withApi || this.registry != null)
    this.api = this.createApi()
  }

  get role (): Role { return this.config.node.role }
  get isDraining (): boolean { return this.draining }
  get rejectionCounts (): { gossip: number, stream: number } { return { ...this.rejections } }

  /** Capabilities advertised: the configured ones plus every task type this node has a handler for. */
  get capabilities (): string[] {
    return [...new Set([...this.config.node.capabilities, ...Object.keys(this.config.tasks.handlers)])]
  }

  async start (): Promise<void> {
    const { config, logger } = this
    const { node, network, tasks } = config
    this.startedAt = Date.now()
    await mkdir(node.dataDir, { recursive: true })

    const privateKey = await loadIdentity(node.identityFile ?? defaultIdentityFile(node.dataDir), node.identityFile == null)
    this.peerId = peerIdOf(privateKey)
    const swarmKey = network.privateKeyFile != null ? await readSwarmKey(network.privateKeyFile) : undefined
    let registry: Registry | undefined
    if (this.withMetrics) {
      const { createMetrics, LintSafeRegistry } = await import('./metrics/index.ts')
      registry = this.registry ??= new LintSafeRegistry()
      // prom-client's process and Node.js metrics sample the event loop on a timer of their own: only
      // worth it where someone can scrape them
      this.metrics = createMetrics({ registry, api: this.api, defaultMetrics: this.withApi })
    } else {
      this.metrics = NOOP_METRICS
    }
    const metrics = this.metrics
    // the connection gater: security.allow_peers, plus peers banned for misbehaving
    const guard = new PeerGuard({
      logger,
      hangUp: async (peer) => { await this.libp2p?.hangUp(peerIdFromString(peer)) },
      metrics
    }, { allowPeers: config.security.allowPeers })
    this.guard = guard

    const libp2p = await createP2PLibp2p({
      config,
      privateKey,
      swarmKey,
      connectionGater: guard.gater(),
      // imported only when bridged: it wraps every stream to count bytes, and costs memory to load
      metrics: this.libp2pMetrics && registry != null
        ? (await import('@libp2p/prometheus-metrics')).prometheusMetrics({ registry, collectDefaultMetrics: false, preserveExistingMetrics: true })
        : undefined
    })
    this.libp2p = libp2p
    const pv = network.protocolVersion
    const isMember = (p: PeerId): boolean => this.members.has(p.toString())

    // membership: a peer that identifies as another network (or not this software) is hung up on,
    // so networks sharing a bootstrap never see each other's peers
    libp2p.addEventListener('peer:identify', (evt) => {
      const { peerId, agentVersion } = evt.detail
      const m = AGENT_RE.exec(agentVersion ?? '')
      if (m?.[1] === pv) {
        this.members.set(peerId.toString(), m[2] as Role)
        return
      }
      this.members.delete(peerId.toString())
      logger.debug('hanging up on a peer of another network', { peer: peerId.toString(), agent: agentVersion })
      libp2p.hangUp(peerId).catch(() => {})
    })
    libp2p.addEventListener('peer:disconnect', (evt) => {
      const id = evt.detail.toString()
      this.submitter?.onPeerGone(id)
    })

    this.journal = new Journal(node.dataDir)
    const hasHandlers = Object.keys(tasks.handlers).length > 0 && tasks.slots > 0
    if (hasHandlers) {
      this.executor = new Executor({ handlers: tasks.handlers, slots: tasks.slots, defaultTimeoutMs: tasks.defaultTimeoutMs })
    }

    const leaseIntervalMs = Math.max(200, Math.min(2000, Math.round(node.heartbeatIntervalMs / 2)))
    const streams = new TaskStreams({ libp2p, logger }, {
      protocol: taskProtocol(pv),
      network: pv,
      maxFrameBytes: tasks.maxPayloadBytes + 64 * 1024,
      openTimeoutMs: network.connectionTimeoutMs,
      onFrame: (from, f) => { this.onFrame(from, f) },
      onReject: (_from, reason) => {
        this.rejections.stream++
        metrics.streamRejected.inc({ reason })
      },
      onMisbehaving: (from, why) => { guard.misbehaved(from, 'stream_abuse', { why }) }
    })
    this.streams = streams
    const send = async (to: string, f: StreamFrame): Promise<void> => streams.send(to, f)

    // Who hears every worker's load (the heartbeat topic): bootstraps and relays, which carry the
    // heartbeats of the workers connected to them, a node that runs no tasks (it is there to submit),
    // and any other node once it submits (followLoad). A worker that only runs tasks publishes its
    // heartbeats to the subscribers among its peers and hears none: 50 workers that all heard
    // every heartbeat spent most of their gossip on each other's (docs/benchmarks.md).
    const followLoad = node.role !== 'worker' || this.executor == null
    this.gossip = new Gossip(libp2p.services.pubsub, logger, { network: pv, maxAgeMs: GOSSIP_MAX_AGE_MS, observeResults: config.tasks.observeResults, followLoad }, {
      onAdvertisement: (from, msg) => { this.onAdvertisement(from, msg) },
      onHeartbeat: (from, msg) => {
        this.health?.seen(from)
        if (this.table.heartbeat({ peerId: from, seq: msg.seq, running: msg.running, freeSlots: msg.freeSlots, queue: msg.queue, load: msg.load })) this.submitter?.kick()
      },
      onTaskRequest: (_from, msg) => { this.worker?.onBroadcast(msg) },
      onTaskResponse: () => { /* observers only: the submitter already has the full result */ },
      onReject: (topic, reason) => {
        this.rejections.gossip++
        metrics.gossipRejected.inc({ topic, reason })
      },
      onMessage: (topic, direction) => { metrics.gossipMessages.inc({ topic, direction }) },
      onMisbehaving: (peer, why, detail) => { guard.misbehaved(peer, why === 'graylisted' ? 'gossip_graylisted' : 'gossip_invalid', detail) }
    })

    this.submitter = new Submitter({
      table: this.table,
      journal: this.journal,
      logger,
      metrics,
      privateKey,
      send,
      broadcast: async (cap, req) => this.gossip?.publishTaskRequest(cap, req),
      publishResult: (r) => {
        // nobody observes the summaries (the default): skip the digest and the message
        if (this.gossip?.hasResultObservers() !== true) return
        void this.gossip.publishTaskResponse({
          version: WIRE_VERSION, network: pv, id: r.id, attempt: r.attempt, worker: peerIdFromString(r.worker).toMultihash().bytes,
          status: r.status, durationMs: r.durationMs, resultDigest: createHash('sha256').update(r.output).digest(), timestamp: BigInt(Date.now())
        })
      },
      rttMs: (p) => this.health?.get(p)?.rttMs,
      onTasks: () => { this.followLoad() }
    }, {
      network: pv,
      selfId: this.peerId,
      maxAttempts: tasks.maxAttempts,
      queueTimeoutMs: tasks.queueTimeoutMs,
      deadlineMs: tasks.deadlineMs,
      maxPayloadBytes: tasks.maxPayloadBytes,
      leaseIntervalMs,
      offerTimeoutMs: Math.min(network.connectionTimeoutMs, 10_000),
      noWorkerGraceMs: Math.max(5_000, 2 * node.heartbeatIntervalMs),
      weights: tasks.weights,
      keepFinished: 10_000
    })

    if (this.executor != null) {
      this.worker = new WorkerRuntime({
        executor: this.executor,
        logger,
        metrics,
        send,
        epoch: (to) => streams.epoch(to),
        onLoadChange: () => { this.promptHeartbeat() }
      }, {
        selfId: this.peerId,
        dataDir: node.dataDir,
        capabilities: this.capabilities,
        labels: node.labels,
        leaseIntervalMs,
        resultRetentionMs: 10 * 60_000,
        prefetch: tasks.prefetch
      })
    }

    this.discovery = new Discovery({ libp2p, logger }, {
      bootstrapPeers: network.bootstrapPeers,
      dnsDiscovery: network.dnsDiscovery,
      listenPort: node.listenPort === 0 ? 4001 : node.listenPort,
      dataDir: node.dataDir,
      connectionTimeoutMs: network.connectionTimeoutMs,
      rebootstrapBackoffMs: network.rebootstrapBackoffMs,
      maxConnections: node.maxConnections,
      targetPeers: network.targetPeers,
      isMember
    })
    this.health = new HealthMonitor({ libp2p, logger }, {
      // decoupled from the heartbeat: only silent peers are pinged (heartbeats prove the rest alive)
      pingIntervalMs: Math.max(DEFAULT_PING_INTERVAL_MS, node.heartbeatIntervalMs),
      timeoutMs: Math.min(network.connectionTimeoutMs, 10_000),
      isMember,
      onRtt: (ms) => { metrics.pingRtt.observe(ms / 1000) }
    })

    // order: transports up, protocols registered, then talk to the network
    await libp2p.start()
    await streams.start()
    this.gossip.start()
    if (this.worker != null) this.gossip.subscribeTasks(this.capabilities)
    this.submitter.start()
    this.worker?.start()
    this.health.start()
    await this.discovery.start()
    if (node.role === 'worker' && network.enableRelay) {
      this.relayWatchdog = new RelayWatchdog({ libp2p, logger }, {
        dialTimeoutMs: network.connectionTimeoutMs,
        knownRelays: () => this.table.all().filter(e => e.role === 'relay').map(e => ({ peerId: e.peerId, addrs: e.addrs }))
      })
      this.relayWatchdog.start()
    }

    // a newcomer subscribing to the capabilities topic learns about us at once
    libp2p.services.pubsub.addEventListener('subscription-change', (evt) => {
      if (evt.detail.subscriptions.some(s => s.subscribe && s.topic === capabilitiesTopic(pv))) this.scheduleAdvertise(ADVERTISE_NEWCOMER_SPACING_MS)
    })
    // our addresses changed (a relay reservation made, lost or made again): tell the network now,
    // not at the next periodic advertisement, or peers keep dialling a NATed worker in vain
    libp2p.addEventListener('self:peer:update', () => { this.scheduleAdvertise(ADVERTISE_SPACING_MS) })
    this.every(node.heartbeatIntervalMs, () => { void this.periodicHeartbeat() })
    this.every(1000, () => {
      const nodes = this.table.size()
      if (Date.now() - this.lastPeriodicAdvertise >= jitteredMs(advertiseIntervalMs(node.heartbeatIntervalMs, nodes), this.advertiseU)) void this.advertise()
      this.table.setExpiry(this.tableExpiry(nodes))
      for (const gone of this.table.expire()) logger.debug('peer expired from the capability table', { peer: gone })
    })
    await this.advertise()

    if (this.withApi) {
      this.apiServer = await startApiServer(this.api, {
        host: config.api.host, port: config.api.port, token: config.api.token, registry: this.registry, isDraining: () => this.draining
      })
    }
    logger.info('node started', {
      role: node.role, peer_id: this.peerId, network: pv,
      addrs: libp2p.getMultiaddrs().map(a => a.toString()), api: this.apiServer?.url
    })
  }

  private tableExpiry (nodes: number): number {
    const hb = this.config.node.heartbeatIntervalMs
    return this.gossip?.followsLoad === true ? tableExpiryMs(hb, nodes) : advertisedTableExpiryMs(hb, nodes)
  }

  /**
   * From now on hear every worker's heartbeats (this node places tasks, or an operator asked for
   * the load). The entries known so far were kept alive by advertisements alone; each gets one
   * heartbeat expiry period from now to be heard from, so none expires at the switch.
   */
  followLoad (): void {
    const gossip = this.gossip
    if (gossip == null || !gossip.followLoad()) return
    this.table.extendAll(Date.now())
    this.table.setExpiry(this.tableExpiry(this.table.size()))
    this.logger.info('following the workers\' load (subscribed to heartbeats)')
  }

  /** Graceful stop: drain running tasks (up to drainMs), then take everything down in reverse. */
  async stop (options: { drainMs?: number } = {}): Promise<void> {
    this.stopping ??= this.doStop(options.drainMs ?? 0)
    return this.stopping
  }

  private async doStop (drainMs: number): Promise<void> {
    const { logger } = this
    if (this.worker != null && drainMs > 0) {
      this.draining = true
      await this.advertise().catch(() => {})
      const drained = await this.worker.drain(Date.now() + drainMs)
      logger.info(drained ? 'drained' : 'drain deadline reached; aborting the remaining tasks', { running: this.worker.runningCount })
    }
    this.draining = true
    for (const t of this.timers) t.stop()
    clearTimeout(this.promptHeartbeatTimer)
    clearTimeout(this.advertiseTimer)
    await this.apiServer?.close().catch(() => {})
    this.worker?.stop()
    this.submitter?.stop()
    this.relayWatchdog?.stop()
    this.health?.stop()
    await this.discovery?.stop().catch(() => {})
    this.gossip?.stop()
    await this.streams?.stop().catch(() => {})
    if (this.libp2p != null) {
      const libp2p = this.libp2p
      await Promise.race([
        libp2p.stop(),
        new Promise(resolve => setTimeout(resolve, STOP_TIMEOUT_MS).unref())
      ]).catch((err: unknown) => { logger.warn('libp2p stop failed', { error: err }) })
    }
    this.journal?.close()
    logger.info('node stopped', { peer_id: this.peerId })
  }

  // ---- scheduler wiring -------------------------------------------------------------------

  private onFrame (from: string, f: StreamFrame): void {
    this.health?.seen(from)
    if (this.submitter?.onFrame(from, f) === true) return
    if (this.worker?.onFrame(from, f) === true) return
    if (f.kind === 'offer') {
      // not a worker: refuse so the submitter moves on at once
      this.streams?.send(from, { kind: 'refuse', refuse: { id: f.offer.task?.id ?? '', attempt: f.offer.task?.attempt ?? 0, reason: 'not a worker' } }).catch(() => {})
    }
  }

  private onAdvertisement (from: string, msg: import('./protocol/codec.ts').CapabilityAdvertisement): void {
    this.health?.seen(from)
    // issue 6: a worker's addresses change without anything else changing (a relay reservation
    // made after its first advertisement, or made again after a relay restart); the table reports
    // that as 'same', but the new /p2p-circuit address is the only way to reach a NATed worker
    const before = this.table.get(from)?.addrs
    const addrsChanged = before == null || before.length !== msg.addrs.length || before.some((a, i) => a !== msg.addrs[i])
    const state = this.table.advertise({
      peerId: from,
      role: msg.role as Role,
      capabilities: msg.capabilities,
      labels: Object.fromEntries(msg.labels),
      taskTypes: msg.taskTypes,
      slots: msg.slots,
      prefetch: msg.prefetch,
      addrs: msg.addrs,
      seq: msg.seq
    })
    if (state === 'new' || state === 'changed') this.submitter?.kick()
    if (state === 'new' || state === 'changed' || (state === 'same' && addrsChanged)) {
      // peer exchange: a node we heard of through gossip, dialled while we have fewer than
      // network.target_peers connections (kept as a candidate otherwise)
      void this.discovery?.learn(from, msg.addrs)
    }
  }

  private selfAddrs (): string[] {
    const libp2p = this.libp2p
    if (libp2p == null) return []
    const announce = this.config.node.announce.map(a => announceAddress(a, this.config.node.listenPort))
    const addrs = announce.length > 0
      ? [...announce, ...libp2p.getMultiaddrs().map(a => a.toString()).filter(a => a.includes('/p2p-circuit'))]
      : libp2p.getMultiaddrs().map(a => a.toString())
    return addrs.slice(0, 16)
  }

  /**
   * Advertise soon: a newcomer subscribed to the capabilities topic (a joiner whose first
   * advertisement reached nobody reaches its first peers, and the newcomer learns about us), or our
   * addresses changed. Prompt (ADVERTISE_SOON_MS, coalescing a burst of subscriptions) but at most
   * one per `spacingMs` since the last one that reached anybody. Every advertisement travels to
   * every node, so while a network of N forms (N² connections, each a newcomer at both ends) one per
   * newcomer would be N² messages a second; a newcomer learns the rest from the periodic ones.
   */
  private scheduleAdvertise (spacingMs: number): void {
    if (this.advertiseTimer != null) return
    const wait = Math.max(ADVERTISE_SOON_MS, this.lastAdvertiseAt + spacingMs - Date.now())
    this.advertiseTimer = setTimeout(() => {
      this.advertiseTimer = undefined
      void this.advertise()
    }, wait)
    this.advertiseTimer.unref()
  }

  /** Publishes our CapabilityAdvertisement (and records it in our own table: we may run our own tasks). */
  async advertise (): Promise<void> {
    if (this.libp2p == null || this.gossip == null) return
    this.advSeq = BigInt(Date.now()) * 1000n > this.advSeq ? BigInt(Date.now()) * 1000n : this.advSeq + 1n
    const slots = this.draining ? 0 : (this.executor?.slots ?? 0)
    const prefetch = slots > 0 ? this.config.tasks.prefetch : 0
    const taskTypes = this.executor?.types() ?? []
    const msg = {
      version: WIRE_VERSION,
      network: this.config.network.protocolVersion,
      peer: this.libp2p.peerId.toMultihash().bytes,
      role: this.role,
      capabilities: this.executor != null ? this.capabilities : [],
      labels: new Map(Object.entries(this.config.node.labels)),
      taskTypes,
      slots,
      prefetch,
      addrs: this.selfAddrs(),
      seq: this.advSeq,
      timestamp: BigInt(Date.now())
    }
    this.table.advertise({ peerId: this.peerId, role: this.role, capabilities: msg.capabilities, labels: this.config.node.labels, taskTypes, slots, prefetch, addrs: msg.addrs, seq: this.advSeq })
    this.selfHeartbeat()
    this.advertisedOnce = true
    this.lastPeriodicAdvertise = Date.now()
    this.advertiseU = this.random()
    // one that reaches nobody (a joiner not yet connected) does not hold back the next
    if (this.libp2p.services.pubsub.getSubscribers(capabilitiesTopic(this.config.network.protocolVersion)).length > 0) this.lastAdvertiseAt = Date.now()
    await this.gossip.publishAdvertisement(msg)
  }

  private selfHeartbeat (): { running: number, freeSlots: number } {
    const running = this.executor?.running ?? 0
    const freeSlots = this.draining ? 0 : (this.executor?.freeSlots ?? 0)
    this.hbSeq++
    this.table.heartbeat({ peerId: this.peerId, seq: this.hbSeq, running, freeSlots, queue: 0, load: running / Math.max(1, this.executor?.slots ?? 1) })
    return { running, freeSlots }
  }

  /**
   * The heartbeat timer: publish what changed at once, and an unchanged heartbeat only every
   * heartbeatKeepaliveMs. Every node receives, verifies and forwards every heartbeat, so with N
   * nodes each costs every node O(N) messages a period; idle nodes saying "still idle" every second
   * were most of a 50-node network's traffic.
   */
  private async periodicHeartbeat (): Promise<void> {
    const hb = this.config.node.heartbeatIntervalMs
    const same = this.heartbeatState() === this.lastHeartbeat.state
    if (!same) {
      // news: out as soon as the spacing allows (the same timer as prompt heartbeats)
      this.selfHeartbeat()
      this.scheduleHeartbeat()
      return
    }
    if (Date.now() - this.lastHeartbeat.at < keepaliveDueMs(hb, this.table.size(), this.keepaliveU)) {
      this.selfHeartbeat()
      return
    }
    await this.publishHeartbeat()
  }

  private heartbeatState (): string {
    // on every slot that frees or fills: no walk over the submitter's tasks (counts())
    return heartbeatNews({ freeSlots: this.draining ? 0 : (this.executor?.freeSlots ?? 0), slots: this.executor?.slots ?? 0, queued: this.submitter?.hasQueued() === true ? 1 : 0, draining: this.draining })
  }

  private async publishHeartbeat (): Promise<void> {
    if (this.libp2p == null || this.gossip == null) return
    const { running, freeSlots } = this.selfHeartbeat()
    const queue = this.submitter?.counts().queued ?? 0
    this.lastHeartbeat = { state: this.heartbeatState(), at: Date.now() }
    this.keepaliveU = this.random()
    await this.gossip.publishHeartbeat({
      version: WIRE_VERSION,
      network: this.config.network.protocolVersion,
      peer: this.libp2p.peerId.toMultihash().bytes,
      seq: this.hbSeq,
      running,
      freeSlots,
      queue,
      load: running / Math.max(1, this.executor?.slots ?? 1),
      uptimeMs: BigInt(Date.now() - this.startedAt),
      timestamp: BigInt(Date.now())
    })
  }

  /**
   * After a slot frees or fills: heartbeat soon (heartbeatSpacingMs after the last one) when that
   * changed what other submitters see (heartbeatNews).
   */
  private promptHeartbeat (): void {
    this.selfHeartbeat()
    this.submitter?.kick()
    if (this.heartbeatState() !== this.lastHeartbeat.state) this.scheduleHeartbeat()
  }

  private scheduleHeartbeat (): void {
    if (this.promptHeartbeatTimer != null) return
    const spacing = heartbeatSpacingMs(this.table.size(), this.config.node.heartbeatIntervalMs)
    const wait = Math.max(0, spacing - (Date.now() - this.lastHeartbeat.at))
    this.promptHeartbeatTimer = setTimeout(() => {
      this.promptHeartbeatTimer = undefined
      // back where the last heartbeat left it (a slot freed and filled again): nothing to tell
      if (this.heartbeatState() === this.lastHeartbeat.state) return
      void this.publishHeartbeat()
    }, wait)
    this.promptHeartbeatTimer.unref()
  }

  /** `fn` every `ms`, first at a random point of the first period (periodic.ts), until stop */
  private every (ms: number, fn: () => void): void {
    this.timers.push(every(ms, fn, this.random))
  }

  // ---- the NodeApi facade -------------------------------------------------------------------

  private createApi (): NodeApi {
    const need = <T>(v: T | undefined): T => {
      if (v == null) throw new Error('the node is not started')
      return v
    }
    return {
      status: () => this.status(),
      peers: (options) => this.peers(options),
      networkStats: () => this.networkStats(),
      capabilities: () => {
        // an operator asking what workers can do wants their load too
        this.followLoad()
        return this.capabilityViews()
      },
      submit: async (req) => need(this.submitter).submit(req),
      get: (id) => need(this.submitter).get(id),
      list: (options) => need(this.submitter).list(options),
      cancel: async (id) => need(this.submitter).cancel(id),
      wait: async (id, options) => need(this.submitter).wait(id, options),
      ledger: () => need(this.submitter).ledger(),
      readiness: () => this.readiness()
    }
  }

  status (): NodeStatus {
    const peers = this.peers()
    return {
      peerId: this.peerId,
      role: this.role,
      protocolVersion: this.config.network.protocolVersion,
      version: VERSION,
      addresses: this.libp2p?.getMultiaddrs().map(a => a.toString()) ?? [],
      uptimeMs: this.startedAt === 0 ? 0 : Date.now() - this.startedAt,
      connectedPeers: peers.filter(p => p.connected).length,
      healthyPeers: peers.filter(p => p.healthy).length,
      capabilities: this.executor != null ? this.capabilities : [],
      labels: this.config.node.labels,
      slots: this.executor?.slots ?? 0,
      running: this.executor?.running ?? 0,
      draining: this.draining,
      tasks: this.submitter?.counts() ?? { queued: 0, running: 0, succeeded: 0, failed: 0, other: 0 },
      relayReservations: (this.libp2p?.getMultiaddrs() ?? []).map(a => a.toString()).filter(a => a.includes('/p2p-circuit')),
      followsLoad: this.gossip?.followsLoad ?? false
    }
  }

  peers (options: { healthy?: boolean } = {}): PeerView[] {
    const libp2p = this.libp2p
    if (libp2p == null) return []
    const now = Date.now()
    const ids = new Set<string>([...this.members.keys(), ...(this.health?.all().keys() ?? [])])
    const out: PeerView[] = []
    for (const id of ids) {
      if (id === this.peerId) continue
      let pid: PeerId
      try { pid = peerIdFromString(id) } catch { continue }
      const conns = libp2p.getConnections(pid)
      const h = this.health?.get(id)
      const entry = this.table.get(id)
      const healthy = h != null && isHealthy(h, now)
      if (options.healthy === true && !healthy) continue
      out.push({
        peerId: id,
        role: entry?.role ?? this.members.get(id),
        addresses: conns.length > 0 ? conns.map(c => c.remoteAddr.toString()) : (entry?.addrs ?? []),
        connected: conns.length > 0,
        rttMs: h?.rttMs,
        healthy,
        lastSeen: h?.lastSeen,
        successes: h?.successes ?? 0,
        failures: h?.failures ?? 0,
        capabilities: entry?.capabilities.slice() ?? [],
        labels: { ...(entry?.labels ?? {}) },
        credits: this.submitter?.creditsOf(id) ?? 0,
        reputation: this.submitter?.reputationOf(id)
      })
    }
    return out.sort((a, b) => (a.role ?? '').localeCompare(b.role ?? '') || a.peerId.localeCompare(b.peerId))
  }

  networkStats (): NetworkStats {
    let sent = 0
    let received = 0
    // libp2p v3 exposes no global byte counters without a metrics implementation; sum what the
    // muxed connections know, which covers every byte of task and gossip traffic
    for (const c of this.libp2p?.getConnections() ?? []) {
      for (const s of c.streams) {
        const st = s as unknown as { bytesWritten?: number, bytesRead?: number }
        sent += st.bytesWritten ?? 0
        received += st.bytesRead ?? 0
      }
    }
    const peers = this.peers()
    return {
      total_peers: peers.filter(p => p.connected).length,
      healthy_peers: peers.filter(p => p.healthy).length,
      data_sent: sent,
      data_received: received,
      uptime: Math.round((Date.now() - this.startedAt) / 1000)
    }
  }

  capabilityViews (): CapabilityView[] {
    return this.table.all().map(e => ({
      peerId: e.peerId,
      role: e.role,
      capabilities: e.capabilities.slice(),
      labels: { ...e.labels },
      taskTypes: e.taskTypes.slice(),
      slots: e.slots,
      freeSlots: e.freeSlots,
      running: e.running,
      queue: e.queue,
      load: e.load,
      lastHeartbeat: e.lastHeartbeat,
      self: e.peerId === this.peerId
    }))
  }

  readiness (): Readiness {
    if (this.libp2p == null) return { ready: false, reason: 'starting' }
    if (this.draining) return { ready: false, reason: 'draining' }
    if (this.libp2p.getConnections().length === 0) return { ready: false, reason: 'not connected to any peer' }
    if (this.executor != null) {
      if (!this.advertisedOnce) return { ready: false, reason: 'not advertising yet' }
      const subscribed = this.libp2p.services.pubsub.getTopics().includes(capabilitiesTopic(this.config.network.protocolVersion))
      if (!subscribed) return { ready: false, reason: 'not subscribed to the capabilities topic' }
    }
    return { ready: true }
  }

  /** For tests: peers this node sees as members of its network. */
  memberIds (): string[] { return [...this.members.keys()] }
}

export async function createNode (config: Config, options: NodeOptions = {}): Promise<P2PNode> {
  const node = new P2PNode(config, options)
  await node.start()
  return node
}

// re-exported so tests can decode peer IDs in message bodies
export { peerIdFromBytes }
