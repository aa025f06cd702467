import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { Registry } from 'prom-client'
import { LintSafeRegistry, MAX_OPEN_LABEL_VALUES, METRIC_NAMES, METRIC_TYPES, createMetrics } from '../../src/metrics/index.ts'
import { FakeNodeApi } from '../utils/fake-node-api.ts'
import { PeerGuard } from '../../src/network/peer-guard.ts'
import { createLogger } from '../../src/logger.ts'

/** `# TYPE name type` lines of a text exposition */
function types (text: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) found.set(match[1]!, match[2]!)
  return found
}

function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

void describe('metrics', () => {
  void it('registers every metric in METRIC_NAMES with its type', async () => {
    const { registry } = createMetrics({ defaultMetrics: false })
    const found = types(await registry.metrics())
    for (const name of METRIC_NAMES) assert.equal(found.get(name), METRIC_TYPES[name], name)
    assert.deepEqual([...found.keys()].sort(), [...METRIC_NAMES].sort())
  })

  void it('follows the Prometheus naming rules promtool checks', async () => {
    const { registry } = createMetrics({ api: new FakeNodeApi() })
    const text = await registry.metrics()
    for (const [name, type] of types(text)) {
      assert.match(name, /^[a-z_][a-z0-9_]*$/, name)
      if (type === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} ends in _total`)
      else assert.ok(!name.endsWith('_total'), `${type} ${name} must not end in _total`)
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), `${name} has help`)
    }
    for (const name of METRIC_NAMES) {
      if (METRIC_TYPES[name] === 'histogram') assert.ok(name.endsWith('_seconds'), name)
    }
  })

  void it('keeps the default process_ and nodejs_ metrics but not the *_total gauges promtool rejects', async () => {
    const { registry } = createMetrics({})
    const found = types(await registry.metrics())
    assert.equal(found.get('process_cpu_seconds_total'), 'counter')
    assert.equal(found.get('nodejs_heap_size_used_bytes'), 'gauge')
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      assert.equal(found.has(name), false, name)
    }
  })

  void it('passes promtool check metrics when promtool is installed', async (t) => {
    const probe = spawnSync('promtool', ['--version'])
    if (probe.error !== undefined) {
      t.skip('promtool is not installed (apt-get install prometheus); the e2e test checks it against a real node')
      return
    }
    const metrics = createMetrics({ api: new FakeNodeApi() })
    metrics.tasksFinished.inc({ type: 'compute', status: 'succeeded' })
    metrics.taskLatency.observe({ type: 'compute' }, 0.02)
    const check = spawnSync('promtool', ['check', 'metrics'], { input: await metrics.registry.metrics() })
    assert.equal(check.status, 0, `${check.stdout.toString()}${check.stderr.toString()}`)
  })

  void it('computes peers, slots, health and info on scrape from the api', async () => {
    const fake = new FakeNodeApi()
    const { registry } = createMetrics({ api: fake, defaultMetrics: false })
    let text = await registry.metrics()
    assert.equal(sample(text, 'p2p_peers_connected{role="worker"}'), 1)
    assert.equal(sample(text, 'p2p_peers_connected{role="bootstrap"}'), 1)
    assert.equal(sample(text, 'p2p_peers_connected{role="relay"}'), 0)
    assert.equal(sample(text, 'p2p_peers_healthy'), 2)
    assert.equal(sample(text, 'p2p_worker_tasks_running'), 1)
    assert.equal(sample(text, 'p2p_worker_slots_free'), 1)
    assert.equal(sample(text, 'p2p_node_healthy'), 1)
    assert.equal(sample(text, 'p2p_node_info{role="bootstrap",version="0.1.0",protocol_version="p2p-network"}'), 1)

    fake.peerList[1]!.healthy = false
    fake.peerList[1]!.connected = false
    fake.readinessValue = { ready: false, reason: 'no peers' }
    text = await registry.metrics()
    assert.equal(sample(text, 'p2p_peers_connected{role="worker"}'), 0)
    assert.equal(sample(text, 'p2p_peers_healthy'), 1)
    assert.equal(sample(text, 'p2p_node_healthy'), 0)
  })

  void it('a failing api does not fail the scrape', async () => {
    const fake = new FakeNodeApi()
    const { registry } = createMetrics({ api: fake, defaultMetrics: false })
    fake.peers = () => { throw new Error('stopping') }
    fake.status = () => { throw new Error('stopping') }
    const text = await registry.metrics()
    assert.match(text, /# TYPE p2p_peers_healthy gauge/)
  })

  void it('counts with typed labels and histograms in seconds', async () => {
    const metrics = createMetrics({ defaultMetrics: false })
    metrics.gossipMessages.inc({ topic: 'tasks', direction: 'in' })
    metrics.gossipMessages.inc({ topic: 'tasks', direction: 'in' }, 2)
    metrics.gossipRejected.inc({ topic: 'heartbeat', reason: 'wrong_sender' })
    metrics.streamRejected.inc({ reason: 'too_large' })
    metrics.tasksSubmitted.inc({ type: 'compute' })
    metrics.tasksFinished.inc({ type: 'compute', status: 'succeeded' })
    metrics.taskLatency.observe({ type: 'compute' }, 0.003)
    const end = metrics.taskExecution.startTimer({ type: 'compute' })
    assert.ok(end() >= 0)
    metrics.taskAttempts.inc({ type: 'compute' })
    metrics.taskRetries.inc({ type: 'compute' })
    metrics.taskDuplicates.inc()
    metrics.tasksQueued.set({ capability: 'gpu' }, 3)
    metrics.pingRtt.observe(0.0012)
    metrics.creditsIssued.inc(1.5)
    metrics.creditsEarned.inc(2)
    metrics.tasksRunning.set(2)
    const text = await metrics.registry.metrics()
    assert.equal(sample(text, 'p2p_gossip_messages_total{topic="tasks",direction="in"}'), 3)
    assert.equal(sample(text, 'p2p_gossip_messages_rejected_total{topic="heartbeat",reason="wrong_sender"}'), 1)
    assert.equal(sample(text, 'p2p_stream_messages_rejected_total{reason="too_large"}'), 1)
    assert.equal(sample(text, 'p2p_tasks_finished_total{type="compute",status="succeeded"}'), 1)
    assert.equal(sample(text, 'p2p_task_latency_seconds_bucket{le="0.005",type="compute"}'), 1)
    assert.equal(sample(text, 'p2p_task_latency_seconds_bucket{le="0.001",type="compute"}'), 0)
    assert.equal(sample(text, 'p2p_task_latency_seconds_bucket{le="300",type="compute"}'), 1)
    assert.equal(sample(text, 'p2p_task_execution_seconds_count{type="compute"}'), 1)
    assert.equal(sample(text, 'p2p_task_duplicate_results_total'), 1)
    assert.equal(sample(text, 'p2p_tasks_queued{capability="gpu"}'), 3)
    assert.equal(sample(text, 'p2p_ping_rtt_seconds_count'), 1)
    assert.equal(sample(text, 'p2p_credits_issued_total'), 1.5)
    assert.equal(sample(text, 'p2p_credits_earned_total'), 2)
    assert.equal(sample(text, 'p2p_worker_tasks_running'), 2)
  })

  void it('counts rate-limited gossip and stream rejections by surface as well', async () => {
    const metrics = createMetrics({ defaultMetrics: false })
    let text = await metrics.registry.metrics()
    assert.equal(sample(text, 'p2p_rate_limited_total{surface="gossip"}'), 0)
    assert.equal(sample(text, 'p2p_rate_limited_total{surface="task_stream"}'), 0)
    metrics.gossipRejected.inc({ topic: 'heartbeat', reason: 'rate_limited' })
    metrics.gossipRejected.inc({ topic: 'capabilities', reason: 'rate_limited' }, 2)
    metrics.gossipRejected.inc({ topic: 'heartbeat', reason: 'decode' })
    metrics.streamRejected.inc({ reason: 'rate_limited' })
    metrics.streamRejected.inc({ reason: 'too_large' })
    text = await metrics.registry.metrics()
    assert.equal(sample(text, 'p2p_rate_limited_total{surface="gossip"}'), 3)
    assert.equal(sample(text, 'p2p_rate_limited_total{surface="task_stream"}'), 1)
    assert.equal(sample(text, 'p2p_gossip_messages_rejected_total{topic="heartbeat",reason="rate_limited"}'), 1)
    assert.equal(sample(text, 'p2p_gossip_messages_rejected_total{topic="capabilities",reason="rate_limited"}'), 2)
    assert.equal(sample(text, 'p2p_stream_messages_rejected_total{reason="rate_limited"}'), 1)
  })

  void it('counts the peer guard\'s bans by reason and its gater\'s refusals', async () => {
    const metrics = createMetrics({ defaultMetrics: false })
    const hungUp: string[] = []
    const peerA = '12D3KooWGRUVh4RMCtJ9RHiQ7WBdnpvWrm6ijeB1UKHRV5nbqgfo'
    const peerB = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
    const guard = new PeerGuard({ logger: createLogger({ level: 'silent', format: 'json' }), hangUp: async (p) => { hungUp.push(p) }, metrics })
    guard.misbehaved(peerA, 'stream_abuse')
    guard.misbehaved(peerA, 'gossip_invalid') // already banned: not a second ban
    guard.misbehaved(peerB, 'gossip_graylisted')
    const gater = guard.gater()
    assert.equal(await gater.denyInboundEncryptedConnection?.(peerIdFromString(peerA), undefined as never), true)
    assert.equal(await gater.denyDialPeer?.(peerIdFromString(peerB)), true)
    let text = await metrics.registry.metrics()
    assert.equal(sample(text, 'p2p_peers_banned_total{reason="stream_abuse"}'), 1)
    assert.equal(sample(text, 'p2p_peers_banned_total{reason="gossip_invalid"}'), 0)
    assert.equal(sample(text, 'p2p_peers_banned_total{reason="gossip_graylisted"}'), 1)
    assert.equal(sample(text, 'p2p_connections_refused_total{reason="banned"}'), 2)
    assert.equal(sample(text, 'p2p_connections_refused_total{reason="not_allowed"}'), 0)
    assert.deepEqual(hungUp, [peerA, peerB])

    const allowOnly = new PeerGuard({ logger: createLogger({ level: 'silent', format: 'json' }), hangUp: async () => {}, metrics }, { allowPeers: [peerA] })
    assert.equal(await allowOnly.gater().denyDialPeer?.(peerIdFromString(peerB)), true)
    assert.equal(await allowOnly.gater().denyDialPeer?.(peerIdFromString(peerA)), false)
    text = await metrics.registry.metrics()
    assert.equal(sample(text, 'p2p_connections_refused_total{reason="not_allowed"}'), 1)
  })

  void it('caps the distinct task types so invented types cannot grow the series', async () => {
    const metrics = createMetrics({ defaultMetrics: false })
    for (let i = 0; i < MAX_OPEN_LABEL_VALUES + 10; i++) metrics.tasksSubmitted.inc({ type: `type-${i}` })
    const text = await metrics.registry.metrics()
    const series = text.split('\n').filter(l => l.startsWith('p2p_tasks_submitted_total{'))
    assert.equal(series.length, MAX_OPEN_LABEL_VALUES + 1)
    assert.equal(sample(text, 'p2p_tasks_submitted_total{type="other"}'), 10)
  })

  void it('uses the registry it is given, and two factories do not collide', async () => {
    const registry = new Registry()
    const a = createMetrics({ registry, defaultMetrics: false })
    const b = createMetrics({ defaultMetrics: false })
    assert.equal(a.registry, registry)
    a.taskDuplicates.inc()
    assert.equal(sample(await b.registry.metrics(), 'p2p_task_duplicate_results_total'), 0)
    assert.equal(sample(await registry.metrics(), 'p2p_task_duplicate_results_total'), 1)
  })
})

void describe('LintSafeRegistry', () => {
  void it('leaves out non-counters named *_total, also from a plain Registry given to createMetrics', async () => {
    const safe = new LintSafeRegistry()
    createMetrics({ registry: safe })
    assert.deepEqual(safe.dropped.sort(), ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    const plain = new Registry()
    createMetrics({ registry: plain })
    const found = types(await plain.metrics())
    assert.equal(found.has('nodejs_active_handles_total'), false)
    assert.equal(found.get('nodejs_active_handles'), 'gauge')
  })
})
