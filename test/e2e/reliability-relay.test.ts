/**
 * Issue 6, NAT and relay scenarios in network namespaces (test/hosts/netns.ts): a bootstrap, a relay
 * and a submitting client on a WAN; worker A behind NAT router A, worker B behind NAT router B.
 *
 * - NAT: the workers cannot be dialled from the WAN; they execute tasks submitted on the WAN and
 *   from each other (B is reachable from A only through the relay), results over 1 MiB included;
 *   connections are counted by kind (direct / relayed) and DCUtR upgrades reported.
 * - Relay restart (same identity and port), once while the workers are idle and once while A runs a
 *   stream of tasks on B through the relay: both workers hold a reservation again within a bounded
 *   time, and no task is lost.
 *
 * Figures are printed as `# RELIABILITY ...` diagnostics (docs/reliability.md).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { listNamespaces, netnsSupport, tcpProbe } from '../hosts/netns.ts'
import { Cluster, P2P_PORT, poll, report, type AgentInfo, type ConnectionInfo, type TaskSummary } from '../reliability/cluster.ts'

const support = netnsSupport()
const skip = support.ok ? false : support.reason
/** what the test allows for a re-reservation after the relay is back: watchdog grace 10 s + repair + slack for a slow CI */
const REARM_BOUND_MS = 45_000
const BIG = 1536 * 1024
/**
 * Queue timeout of the A->B tasks in the busy relay restart: longer than the outage (the relay
 * takes 10-28 s to start on a loaded 2-core machine) plus the backlog after it (about 15 s). This
 * checks the outcome; it catches the old per-task penalty (30 s after each undelivered offer) only
 * when outage, penalty and backlog together pass 60 s (with 40 s the old submitter failed every
 * run, but so could the fixed one under heavy load). The rule itself is pinned by
 * test/unit/scheduler-protocol.test.ts.
 */
const BUSY_QUEUE_TIMEOUT_MS = 60_000

describe('reliability: NATed workers and relay restarts (netns)', { skip, timeout: 600_000 }, () => {
  let c: Cluster | undefined
  const cl = (): Cluster => { assert.ok(c != null, 'the cluster did not start'); return c }

  before(async () => {
    c = await Cluster.create(process.env.RELIABILITY_VERBOSE != null ? (l) => { process.stderr.write(`${l}\n`) } : undefined)
    const boot = await c.wanHost('boot')
    const relay = await c.wanHost('relay')
    const client = await c.wanHost('client')
    const natA = await c.natRouter('nat-a')
    const natB = await c.natRouter('nat-b')
    const wa = await c.natedHost('wa', natA)
    const wb = await c.natedHost('wb', natB)
    await c.start({ name: 'boot', role: 'bootstrap', kind: 'binary', host: boot })
    await c.start({ name: 'relay', role: 'relay', kind: 'binary', host: relay })
    await Promise.all([
      c.start({ name: 'client', role: 'bootstrap', kind: 'agent', host: client }),
      c.start({ name: 'wa', role: 'worker', kind: 'agent', host: wa, config: { node: { labels: { zone: 'a' } } } }),
      c.start({ name: 'wb', role: 'worker', kind: 'agent', host: wb, config: { node: { labels: { zone: 'b' } } } })
    ])
    await poll('both workers to hold a relay reservation', 60_000, async () => {
      const [a, b] = await Promise.all([cl().call<AgentInfo>('wa', 'info'), cl().call<AgentInfo>('wb', 'info')])
      return a.circuits.length > 0 && b.circuits.length > 0
    }, 500)
    await poll('the client and worker A to know both workers', 60_000, async () => {
      const [ci, a] = await Promise.all([cl().call<AgentInfo>('client', 'info'), cl().call<AgentInfo>('wa', 'info')])
      return ci.workersKnown.length >= 2 && a.workersKnown.length >= 2
    }, 500)
  })

  after(async () => {
    const bed = c?.bed
    await c?.teardown()
    if (bed != null) assert.deepEqual(listNamespaces().filter(ns => ns.startsWith(bed.prefix)), [])
  })

  it('NATed workers: not dialable from the WAN, serve tasks from the WAN and from each other (through the relay), results > 1 MiB', async (t) => {
    const c = cl()
    const wa = c.node('wa')
    const wb = c.node('wb')
    // direct dials fail: no route from the WAN into either LAN, and none from one LAN into the other
    const probeWan = await tcpProbe(c.bed, c.node('client').spec.host, wa.spec.host.address, P2P_PORT)
    const probeLan = await tcpProbe(c.bed, wa.spec.host, wb.spec.host.address, P2P_PORT)
    assert.notEqual(probeWan, 'connected')
    assert.notEqual(probeLan, 'connected')
    // no /p2p/<id> suffix: with one, libp2p may use any address it knows for the peer (the circuit)
    const dialWan = await c.call<{ ok: boolean, error?: string }>('client', 'dial', { addr: `/ip4/${wa.spec.host.address}/tcp/${P2P_PORT}` })
    const dialLan = await c.call<{ ok: boolean, error?: string }>('wa', 'dial', { addr: `/ip4/${wb.spec.host.address}/tcp/${P2P_PORT}` })
    assert.equal(dialWan.ok, false, 'a direct dial from the WAN to a NATed worker succeeded')
    assert.equal(dialLan.ok, false, 'a direct dial from one NAT to the other succeeded')
    // ... but the relay circuit works
    // the relay also reports its loopback address in reservations; dial the WAN one
    const relayAddr = c.node('relay').spec.host.address
    const circuitB = (await c.call<AgentInfo>('wb', 'info')).circuits.find(a => a.startsWith(`/ip4/${relayAddr}/`))
    assert.ok(circuitB != null, 'B has no circuit address through the relay\'s WAN address')
    // A usually reaches B through this circuit already (B dials peers it learns of); libp2p refuses
    // a second circuit between the same two peers, so dial only when there is none
    const relayedAB = async (): Promise<ConnectionInfo[]> => (await c.call<ConnectionInfo[]>('wa', 'connections')).filter(x => x.peer === wb.peerId && x.relayed)
    let viaRelay: { ok: boolean, existing?: boolean, addr?: string, error?: string } = (await relayedAB()).length > 0
      ? { ok: true, existing: true }
      : await c.call<{ ok: boolean, addr?: string, error?: string }>('wa', 'dial', { addr: circuitB, timeoutMs: 15_000, force: false })
    // a dial that lost the race against B's own dial to A is closed as a duplicate: the circuit exists
    if (!viaRelay.ok && (await relayedAB()).length > 0) viaRelay = { ok: true, existing: true }
    assert.equal(viaRelay.ok, true, JSON.stringify(viaRelay))

    // tasks from the WAN to each zone and from A to B (only through the relay), small and > 1 MiB
    const fromWan = [
      ...await c.call<string[]>('client', 'submit', { type: 'compute', count: 4, selector: 'zone=a' }),
      ...await c.call<string[]>('client', 'submit', { type: 'compute', count: 4, selector: 'zone=b' }),
      ...await c.call<string[]>('client', 'submit', { type: 'echo', count: 1, payloadBytes: BIG, selector: 'zone=a' }),
      ...await c.call<string[]>('client', 'submit', { type: 'echo', count: 1, payloadBytes: BIG, selector: 'zone=b' })
    ]
    const aToB = [
      ...await c.call<string[]>('wa', 'submit', { type: 'compute', count: 4, selector: 'zone=b' }),
      ...await c.call<string[]>('wa', 'submit', { type: 'echo', count: 2, payloadBytes: BIG, selector: 'zone=b' })
    ]
    const sWan = await c.call<TaskSummary>('client', 'wait', { ids: fromWan, timeoutMs: 120_000 })
    const sAB = await c.call<TaskSummary>('wa', 'wait', { ids: aToB, timeoutMs: 120_000 })
    assert.equal(sWan.succeeded, fromWan.length, JSON.stringify(sWan))
    assert.equal(sAB.succeeded, aToB.length, JSON.stringify(sAB))
    // the agent's payload i of a batch is `${i}:` padded with x: the echo comes back the same
    const bigShas = new Set([0, 1].map(i => createHash('sha256').update(`${i}:`.padEnd(BIG, 'x')).digest('hex')))
    const wanTasks = await c.call<Array<{ worker: string, resultBytes: number, resultSha: string }>>('client', 'tasks', { ids: fromWan })
    const abTasks = await c.call<Array<{ worker: string, resultBytes: number, resultSha: string }>>('wa', 'tasks', { ids: aToB })
    assert.deepEqual(new Set(wanTasks.map(x => x.worker)), new Set([wa.peerId, wb.peerId]))
    assert.ok(abTasks.every(x => x.worker === wb.peerId))
    for (const big of [...wanTasks.slice(8), ...abTasks.slice(4)]) {
      assert.equal(big.resultBytes, BIG)
      assert.ok(bigShas.has(big.resultSha), 'a large result came back altered')
    }

    // connection kinds: A <-> B can only be relayed; WAN peers hold direct connections the NATed
    // workers opened (outbound through their NAT). DCUtR upgrades a relayed connection only to
    // public addresses (js-libp2p's dcutr filters private ones): every address here is RFC 1918,
    // and these NATs let nothing in. The upgrade itself: reliability-dcutr.test.ts (hole-punchable NATs).
    const aConns = await c.call<ConnectionInfo[]>('wa', 'connections')
    const clientConns = await c.call<ConnectionInfo[]>('client', 'connections')
    const ab = aConns.filter(x => x.peer === wb.peerId)
    // (a relayed connection may already have been closed again: the tasks above are the proof)
    assert.ok(ab.every(x => x.relayed), `a direct A-B connection: ${JSON.stringify(ab)}`)
    const toWorkers = clientConns.filter(x => x.peer === wa.peerId || x.peer === wb.peerId)
    report(t, 'nat', {
      probe_wan_to_nated: probeWan,
      probe_nat_to_nat: probeLan,
      direct_dial_wan_to_nated: dialWan.error?.slice(0, 80),
      relayed_dial_a_to_b: viaRelay.ok,
      tasks_from_wan: sWan,
      tasks_a_to_b: sAB,
      big_result_bytes: BIG,
      a_to_b_connections: { relayed: ab.filter(x => x.relayed).length, direct: ab.filter(x => !x.relayed).length },
      client_to_workers_connections: { relayed: toWorkers.filter(x => x.relayed).length, direct: toWorkers.filter(x => !x.relayed).length, inbound: toWorkers.filter(x => x.direction === 'inbound').length },
      dcutr_upgrades_a_b: ab.filter(x => !x.relayed).length
    })
  })

  it('the relay restarts while the workers are idle: both re-reserve within a bounded time', async (t) => {
    const c = cl()
    const before = await Promise.all(['wa', 'wb'].map(async n => c.call<AgentInfo>(n, 'info')))
    const stopped = await c.stop('relay', 'SIGTERM')
    assert.equal(stopped.code, 0)
    await poll('the workers to notice the relay is gone', 30_000, async () => {
      const infos = await Promise.all(['wa', 'wb'].map(async n => c.call<AgentInfo>(n, 'info')))
      return infos.every(i => i.circuits.length === 0)
    }, 250)
    const down0 = Date.now()
    await new Promise(resolve => setTimeout(resolve, 3000))
    await c.restart('relay')
    const t0 = Date.now()
    const times: Record<string, number> = {}
    await poll('both workers to hold a reservation on the restarted relay', REARM_BOUND_MS + 15_000, async () => {
      for (const n of ['wa', 'wb']) {
        if (times[n] != null) continue
        const info = await c.call<AgentInfo>(n, 'info')
        if (info.circuits.some(a => a.includes(c.node('relay').peerId))) times[n] = Date.now() - t0
      }
      return Object.keys(times).length === 2
    }, 250)
    const after = await Promise.all(['wa', 'wb'].map(async n => c.call<AgentInfo>(n, 'info')))
    report(t, 'relay-restart-idle', {
      relay_down_ms: t0 - down0,
      rereserved_after_relay_back_ms: times,
      watchdog_repairs: Object.fromEntries(after.map((i, k) => [k === 0 ? 'wa' : 'wb', diffRepairs(before[k]!, i)])),
      bound_ms: REARM_BOUND_MS
    })
    for (const ms of Object.values(times)) assert.ok(ms <= REARM_BOUND_MS, `re-reserved after ${ms} ms`)
  })

  let busyAB: TaskSummary | undefined
  /** the A->B tasks of the busy restart that did not succeed, with their histories */
  let busyABBad: unknown[] = []
  it('the relay restarts while A runs tasks on B through it: B re-reserves, no task is lost', async (t) => {
    const c = cl()
    const before = await c.call<AgentInfo>('wb', 'info')
    // duplicate counters cover each node's whole life: count from here
    const dupA0 = (await c.call<TaskSummary>('wa', 'summary', { ids: [] })).lateDuplicates
    const dupW0 = (await c.call<TaskSummary>('client', 'summary', { ids: [] })).lateDuplicates
    // A -> B only works through the relay, and B is the only zone=b worker: tasks submitted while
    // the relay is down must wait for B and run once it is reachable again (see BUSY_QUEUE_TIMEOUT_MS).
    // A bounded queue timeout makes every task end
    await c.call('wa', 'streamStart', { name: 'busy', type: 'sleep', payload: '400', rate: 4, selector: 'zone=b', maxAttempts: 10, queueTimeoutMs: BUSY_QUEUE_TIMEOUT_MS })
    await c.call('client', 'streamStart', { name: 'busy', type: 'compute', rate: 4 })
    await new Promise(resolve => setTimeout(resolve, 3000))
    const killedAt = Date.now()
    await c.stop('relay', 'SIGKILL')
    await new Promise(resolve => setTimeout(resolve, 2000))
    await c.restart('relay')
    const t0 = Date.now()
    const rearmMs = await poll('B to hold a reservation again', REARM_BOUND_MS + 15_000, async () => {
      const info = await c.call<AgentInfo>('wb', 'info')
      return info.circuits.length > 0 ? Date.now() - t0 : undefined
    }, 250)
    await new Promise(resolve => setTimeout(resolve, 4000))
    const idsAB = await c.call<string[]>('wa', 'streamStop', { name: 'busy' })
    const idsWan = await c.call<string[]>('client', 'streamStop', { name: 'busy' })
    const sAB = await c.call<TaskSummary>('wa', 'wait', { ids: idsAB, timeoutMs: BUSY_QUEUE_TIMEOUT_MS + 30_000, settleMs: 2000 })
    const sWan = await c.call<TaskSummary>('client', 'wait', { ids: idsWan, timeoutMs: 60_000, settleMs: 1000 })
    const after = await c.call<AgentInfo>('wb', 'info')
    busyAB = sAB
    busyABBad = (await c.call<Array<{ status?: string }>>('wa', 'tasks', { ids: idsAB })).filter(x => x.status !== 'succeeded')
    report(t, 'relay-restart-busy', {
      relay_down_ms: t0 - killedAt,
      rereserved_after_relay_back_ms: rearmMs,
      watchdog_repairs_b: diffRepairs(before, after),
      a_to_b_via_relay: { ...sAB, lateDuplicates: sAB.lateDuplicates - dupA0, lost: sAB.notEnded },
      wan_to_workers: { ...sWan, lateDuplicates: sWan.lateDuplicates - dupW0, lost: sWan.notEnded }
    })
    assert.ok(rearmMs <= REARM_BOUND_MS, `re-reserved after ${rearmMs} ms`)
    // lost = accepted but never ended
    assert.equal(sAB.notEnded, 0, `lost tasks A->B: ${JSON.stringify(sAB)}`)
    assert.equal(sWan.notEnded, 0, `lost tasks WAN: ${JSON.stringify(sWan)}`)
    assert.equal(sWan.succeeded, sWan.submitted, JSON.stringify(sWan))
    assert.equal(sAB.completedTwice + sWan.completedTwice, 0)
  })

  // Before the fix 4-29 of 60-96 of these ended queue_timeout: an offer that could not be sent to B
  // (relay down) or was still waiting for a stream when the offer timeout fired kept B out of that
  // task for 3 offer timeouts (30 s), also once B was reachable and idle again. Now an undelivered
  // offer marks the worker unreachable for a short back-off (per worker), not the task.
  it('... and every task A sent to B during the relay restart succeeded', () => {
    assert.ok(busyAB != null, 'the busy relay restart did not run')
    assert.equal(busyAB.notEnded, 0, 'lost tasks A->B')
    assert.equal(busyAB.completedTwice, 0)
    assert.equal(busyAB.succeeded, busyAB.submitted, `${JSON.stringify(busyAB)}\n${JSON.stringify(busyABBad).slice(0, 4000)}`)
  })
})

function diffRepairs (a: AgentInfo, b: AgentInfo): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(b.watchdog?.repairs ?? {})) out[k] = v - (a.watchdog?.repairs[k] ?? 0)
  return out
}
