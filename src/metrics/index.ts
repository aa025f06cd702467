/**
 * Every metric of the node, from one factory on the project's own prom-client Registry. Callers
 * hold `metrics?: Metrics` and write `metrics?.tasksSubmitted.inc({ type })`. Label values come from
 * the closed sets exported here; the open ones (task type, capability) are capped so a submitter
 * inventing types cannot grow the series without bound.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { NodeApi, Role, TaskStatus } from '../node-api.ts'
import type { Metric } from 'prom-client'

export const GOSSIP_TOPICS = ['capabilities', 'heartbeat', 'tasks', 'results'] as const
export type GossipTopic = typeof GOSSIP_TOPICS[number]
export type Direction = 'in' | 'out'
export const GOSSIP_REJECT_REASONS = ['decode', 'too_large', 'wrong_network', 'wrong_sender', 'stale', 'rate_limited', 'invalid'] as const
export type GossipRejectReason = typeof GOSSIP_REJECT_REASONS[number]
export const STREAM_REJECT_REASONS = ['decode', 'too_large', 'wrong_network', 'wrong_sender', 'stale', 'rate_limited', 'invalid', 'unknown_task', 'unauthorized'] as const
export type StreamRejectReason = typeof STREAM_REJECT_REASONS[number]
/** the statuses a task ends with */
export type FinishedStatus = Exclude<TaskStatus, 'queued' | 'running'>
export type PeerRoleLabel = Role | 'unknown'
/** why the peer guard banned a peer (its MisbehaviourKind) */
export const BAN_REASONS = ['gossip_graylisted', 'gossip_invalid', 'stream_abuse'] as const
export type BanReason = typeof BAN_REASONS[number]
/** why the connection gater refused a peer */
export const REFUSE_REASONS = ['banned', 'not_allowed'] as const
export type RefuseReason = typeof REFUSE_REASONS[number]
/** where a per-peer rate limit dropped a message or frame */
export const RATE_LIMITED_SURFACES = ['gossip', 'task_stream'] as const
export type RateLimitedSurface = typeof RATE_LIMITED_SURFACES[number]

/** 1 ms to 5 min: a no-op task on a LAN to a long command handler */
export const TASK_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
export const PING_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
/** distinct values kept for an open label (task type, capability); later ones are counted as "other" */
export const MAX_OPEN_LABEL_VALUES = 64

export interface LabelledCounter<L> { inc(labels: L, value?: number): void }
export interface LabelledGauge<L> {
  set(labels: L, value: number): void
  inc(labels: L, value?: number): void
  dec(labels: L, value?: number): void
}
export interface LabelledHistogram<L> {
  observe(labels: L, seconds: number): void
  /** returns a function that observes and returns the seconds since the call */
  startTimer(labels: L): () => number
}
export interface PlainCounter { inc(value?: number): void }
export interface PlainGauge { set(value: number): void, inc(value?: number): void, dec(value?: number): void }
export interface PlainHistogram { observe(seconds: number): void, startTimer(): () => number }

/**
 * What the node counts, as its components see it. `createMetrics` backs it with prom-client for a
 * node that serves /metrics; a node that serves nothing gets NOOP_METRICS (./noop.ts) and never
 * loads prom-client.
 */
export interface Metrics {
  /** computed on scrape from api.peers() when an api is given */
  peersConnected: LabelledGauge<{ role: PeerRoleLabel }>
  /** computed on scrape from api.peers() when an api is given */
  peersHealthy: PlainGauge
  gossipMessages: LabelledCounter<{ topic: GossipTopic, direction: Direction }>
  /** a rejection for `rate_limited` also counts in rateLimited{surface: gossip} */
  gossipRejected: LabelledCounter<{ topic: GossipTopic, reason: GossipRejectReason }>
  /** a rejection for `rate_limited` also counts in rateLimited{surface: task_stream} */
  streamRejected: LabelledCounter<{ reason: StreamRejectReason }>
  /** messages and frames dropped by the per-peer rate limits */
  rateLimited: LabelledCounter<{ surface: RateLimitedSurface }>
  /** peers the peer guard disconnected and banned */
  peersBanned: LabelledCounter<{ reason: BanReason }>
  /** connections (inbound or outbound) the connection gater refused */
  connectionsRefused: LabelledCounter<{ reason: RefuseReason }>
  tasksSubmitted: LabelledCounter<{ type: string }>
  tasksFinished: LabelledCounter<{ type: string, status: FinishedStatus }>
  /** submit to end, on the submitter */
  taskLatency: LabelledHistogram<{ type: string }>
  /** run time on the worker */
  taskExecution: LabelledHistogram<{ type: string }>
  taskAttempts: LabelledCounter<{ type: string }>
  taskRetries: LabelledCounter<{ type: string }>
  taskDuplicates: PlainCounter
  /** set by the scheduler */
  tasksQueued: LabelledGauge<{ capability: string }>
  /** computed on scrape from api.status() when an api is given */
  tasksRunning: PlainGauge
  /** computed on scrape from api.status() when an api is given */
  slotsFree: PlainGauge
  pingRtt: PlainHistogram
  creditsIssued: PlainCounter
  creditsEarned: PlainCounter
  /** computed on scrape from api.readiness() when an api is given */
  nodeHealthy: PlainGauge
  /** computed on scrape from api.status() when an api is given */
  nodeInfo: LabelledGauge<{ role: Role, version: string, protocol_version: string }>
}

/** name and type of every metric this factory registers (default process_/nodejs_ metrics aside) */
export const METRIC_TYPES = {
  p2p_peers_connected: 'gauge',
  p2p_peers_healthy: 'gauge',
  p2p_gossip_messages_total: 'counter',
  p2p_gossip_messages_rejected_total: 'counter',
  p2p_stream_messages_rejected_total: 'counter',
  p2p_rate_limited_total: 'counter',
  p2p_peers_banned_total: 'counter',
  p2p_connections_refused_total: 'counter',
  p2p_tasks_submitted_total: 'counter',
  p2p_tasks_finished_total: 'counter',
  p2p_task_latency_seconds: 'histogram',
  p2p_task_execution_seconds: 'histogram',
  p2p_task_attempts_total: 'counter',
  p2p_task_retries_total: 'counter',
  p2p_task_duplicate_results_total: 'counter',
  p2p_tasks_queued: 'gauge',
  p2p_worker_tasks_running: 'gauge',
  p2p_worker_slots_free: 'gauge',
  p2p_ping_rtt_seconds: 'histogram',
  p2p_credits_issued_total: 'counter',
  p2p_credits_earned_total: 'counter',
  p2p_node_healthy: 'gauge',
  p2p_node_info: 'gauge'
} as const satisfies Record<string, 'counter' | 'gauge' | 'histogram'>
export type MetricName = keyof typeof METRIC_TYPES
export const METRIC_NAMES = Object.keys(METRIC_TYPES) as MetricName[]

/**
 * A Registry that leaves out every non-counter named `*_total`, which promtool's lint rejects
 * ("non-counter metrics should not have _total suffix"): prom-client's default
 * `nodejs_active_{handles,requests,resources}_total` gauges and, when libp2p's metrics share the
 * registry, `libp2p_tcp_inbound_connections_total` and `libp2p_kad_dht_routing_table_kad_bucket_total`.
 * Such a metric still works for whoever holds it; it is only not exported.
 */
export class LintSafeRegistry extends Registry {
  /** names left out so far */
  readonly dropped: string[] = []

  override registerMetric<T extends string> (metric: Metric<T>): void {
    // by class name too: a second copy of prom-client (in a dependency) has its own Counter class
    const isCounter = metric instanceof Counter || metric.constructor.name === 'Counter'
    const name = String((metric as { name?: unknown }).name)
    if (!isCounter && name.endsWith('_total')) {
      this.dropped.push(name)
      return
    }
    super.registerMetric(metric)
  }
}

/** how often prom-client's nodejs_eventloop_lag_* metrics sample the event loop */
export const EVENT_LOOP_SAMPLE_MS = 100

export interface MetricsInit {
  /** default: a new {@link LintSafeRegistry}; a plain Registry exports what promtool's lint rejects */
  registry?: Registry
  /** the node, for the metrics computed on scrape */
  api?: NodeApi
  /** register prom-client's process_ and nodejs_ metrics; default true */
  defaultMetrics?: boolean
}

/** Metrics kept in a prom-client registry, which /metrics serves. */
export interface PromMetrics extends Metrics {
  registry: Registry
}

export function createMetrics (init: MetricsInit = {}): PromMetrics {
  const registry = init.registry ?? new LintSafeRegistry()
  const registers = [registry]
  const api = init.api
  const typeLabel = openLabel()
  const capabilityLabel = openLabel()

  if (init.defaultMetrics !== false) {
    // the event-loop lag histogram samples on a timer: 10 ms (prom-client's default) wakes an idle
    // node 100 times a second, most of its idle CPU once dozens share a machine
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
    // a plain Registry took them in: take them out again
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name)
    }
  }

  const peersConnected = new Gauge<'role'>({
    name: 'p2p_peers_connected',
    help: 'Connected peers by the role they advertise',
    labelNames: ['role'],
    registers,
    collect: api === undefined
      ? undefined
      : function () {
        const counts: Record<PeerRoleLabel, number> = { bootstrap: 0, relay: 0, worker: 0, unknown: 0 }
        for (const peer of safe(() => api.peers()) ?? []) {
          if (peer.connected) counts[peer.role ?? 'unknown']++
        }
        for (const [role, count] of Object.entries(counts)) this.set({ role }, count)
      }
  })
  const peersHealthy = new Gauge({
    name: 'p2p_peers_healthy',
    help: 'Known peers that pass the health check',
    registers,
    collect: api === undefined
      ? undefined
      : function () {
        const peers = safe(() => api.peers())
        if (peers !== undefined) this.set(peers.filter(p => p.healthy).length)
      }
  })
  const tasksRunning = new Gauge({
    name: 'p2p_worker_tasks_running',
    help: 'Tasks this worker is running now',
    registers,
    collect: api === undefined
      ? undefined
      : function () {
        const status = safe(() => api.status())
        if (status !== undefined) this.set(status.running)
      }
  })
  const slotsFree = new Gauge({
    name: 'p2p_worker_slots_free',
    help: 'Task slots of this worker that are free now',
    registers,
    collect: api === undefined
      ? undefined
      : function () {
        const status = safe(() => api.status())
        if (status !== undefined) this.set(Math.max(0, status.slots - status.running))
      }
  })
  const nodeHealthy = new Gauge({
    name: 'p2p_node_healthy',
    help: '1 when the node is ready (connected to the network and not draining), else 0',
    registers,
    collect: api === undefined
      ? undefined
      : function () {
        const readiness = safe(() => api.readiness())
        if (readiness !== undefined) this.set(readiness.ready ? 1 : 0)
      }
  })
  const nodeInfo = new Gauge<'role' | 'version' | 'protocol_version'>({
    name: 'p2p_node_info',
    help: 'Always 1; the labels describe the node',
    labelNames: ['role', 'version', 'protocol_version'],
    registers,
    collect: api === undefined
      ? undefined
      : function () {
        const status = safe(() => api.status())
        if (status === undefined) return
        this.reset()
        this.set({ role: status.role, version: status.version, protocol_version: status.protocolVersion }, 1)
      }
  })

  const tasksSubmitted = new Counter<'type'>({ name: 'p2p_tasks_submitted_total', help: 'Tasks submitted on this node', labelNames: ['type'], registers })
  const tasksFinished = new Counter<'type' | 'status'>({ name: 'p2p_tasks_finished_total', help: 'Tasks submitted on this node that ended, by final status', labelNames: ['type', 'status'], registers })
  const taskLatency = new Histogram<'type'>({ name: 'p2p_task_latency_seconds', help: 'Time from submission to the end of a task, on the submitter', labelNames: ['type'], buckets: TASK_SECONDS_BUCKETS, registers })
  const taskExecution = new Histogram<'type'>({ name: 'p2p_task_execution_seconds', help: 'Run time of one attempt on the worker', labelNames: ['type'], buckets: TASK_SECONDS_BUCKETS, registers })
  const taskAttempts = new Counter<'type'>({ name: 'p2p_task_attempts_total', help: 'Attempts granted to workers', labelNames: ['type'], registers })
  const taskRetries = new Counter<'type'>({ name: 'p2p_task_retries_total', help: 'Attempts that were retries of an earlier failed or lost attempt', labelNames: ['type'], registers })
  // the hostile-peer defences; every closed label value starts at 0 so rate() and alerts see it
  const gossipRejected = new Counter<'topic' | 'reason'>({ name: 'p2p_gossip_messages_rejected_total', help: 'GossipSub messages rejected by the validators, by reason', labelNames: ['topic', 'reason'], registers })
  const streamRejected = new Counter<'reason'>({ name: 'p2p_stream_messages_rejected_total', help: 'Task stream messages rejected, by reason', labelNames: ['reason'], registers })
  const rateLimited = new Counter<'surface'>({ name: 'p2p_rate_limited_total', help: 'Gossip messages and task stream frames dropped by the per-peer rate limits, by surface', labelNames: ['surface'], registers })
  const peersBanned = new Counter<'reason'>({ name: 'p2p_peers_banned_total', help: 'Peers disconnected and refused for a while for misbehaving, by reason', labelNames: ['reason'], registers })
  const connectionsRefused = new Counter<'reason'>({ name: 'p2p_connections_refused_total', help: 'Connections the connection gater refused (a banned peer, or one not in security.allow_peers)', labelNames: ['reason'], registers })
  for (const surface of RATE_LIMITED_SURFACES) rateLimited.inc({ surface }, 0)
  for (const reason of BAN_REASONS) peersBanned.inc({ reason }, 0)
  for (const reason of REFUSE_REASONS) connectionsRefused.inc({ reason }, 0)
  const tasksQueued = new Gauge<'capability'>({ name: 'p2p_tasks_queued', help: 'Tasks waiting for a worker, by required capability', labelNames: ['capability'], registers })

  return {
    registry,
    peersConnected,
    peersHealthy,
    gossipMessages: new Counter<'topic' | 'direction'>({ name: 'p2p_gossip_messages_total', help: 'GossipSub messages by topic and direction', labelNames: ['topic', 'direction'], registers }),
    gossipRejected: {
      inc: (l, v) => {
        gossipRejected.inc(l, v)
        if (l.reason === 'rate_limited') rateLimited.inc({ surface: 'gossip' }, v)
      }
    },
    streamRejected: {
      inc: (l, v) => {
        streamRejected.inc(l, v)
        if (l.reason === 'rate_limited') rateLimited.inc({ surface: 'task_stream' }, v)
      }
    },
    rateLimited,
    peersBanned,
    connectionsRefused,
    tasksSubmitted: { inc: (l, v) => { tasksSubmitted.inc({ type: typeLabel(l.type) }, v) } },
    tasksFinished: { inc: (l, v) => { tasksFinished.inc({ type: typeLabel(l.type), status: l.status }, v) } },
    taskLatency: boundedHistogram(taskLatency, typeLabel),
    taskExecution: boundedHistogram(taskExecution, typeLabel),
    taskAttempts: { inc: (l, v) => { taskAttempts.inc({ type: typeLabel(l.type) }, v) } },
    taskRetries: { inc: (l, v) => { taskRetries.inc({ type: typeLabel(l.type) }, v) } },
    taskDuplicates: new Counter({ name: 'p2p_task_duplicate_results_total', help: 'Results that arrived for a task already completed, dropped', registers }),
    tasksQueued: {
      set: (l, v) => { tasksQueued.set({ capability: capabilityLabel(l.capability) }, v) },
      inc: (l, v) => { tasksQueued.inc({ capability: capabilityLabel(l.capability) }, v) },
      dec: (l, v) => { tasksQueued.dec({ capability: capabilityLabel(l.capability) }, v) }
    },
    tasksRunning,
    slotsFree,
    pingRtt: new Histogram({ name: 'p2p_ping_rtt_seconds', help: 'Round-trip time of pings to peers', buckets: PING_SECONDS_BUCKETS, registers }),
    creditsIssued: new Counter({ name: 'p2p_credits_issued_total', help: 'Credits this node granted to workers for completed tasks', registers }),
    creditsEarned: new Counter({ name: 'p2p_credits_earned_total', help: 'Credits this worker earned, from receipts signed by submitters', registers }),
    nodeHealthy,
    nodeInfo
  }
}

function boundedHistogram (histogram: Histogram<'type'>, label: (value: string) => string): LabelledHistogram<{ type: string }> {
  return {
    observe: (l, seconds) => { histogram.observe({ type: label(l.type) }, seconds) },
    startTimer: (l) => histogram.startTimer({ type: label(l.type) })
  }
}

/** keeps the first MAX_OPEN_LABEL_VALUES distinct values of an open label; later ones become "other" */
function openLabel (): (value: string) => string {
  const seen = new Set<string>()
  return (value) => {
    if (seen.has(value)) return value
    if (seen.size >= MAX_OPEN_LABEL_VALUES) return 'other'
    seen.add(value)
    return value
  }
}

/** a scrape must not fail because the node is stopping: keep the last value instead */
function safe<T> (read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}
