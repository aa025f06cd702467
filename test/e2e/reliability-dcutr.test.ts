/**
 * Issue 6, "when the NAT allows it, DCUtR upgrades the relayed connection": two workers, each behind
 * a hole-punchable NAT router (test/hosts/netns.ts, NatBehaviour 'hole-punchable': IPv4 strict as
 * in the other scenarios, plus an IPv6 face in the documentation prefix 3fff::/20 that maps port
 * 4001 to the worker and lets in only addresses the worker sent to), a bootstrap and a relay on the
 * WAN. Each worker announces its router's public IPv6 address (as an operator who knows the NAT's
 * public address sets P2P_ANNOUNCE).
 *
 * Worker A dials B through the relay; B (the inbound side) runs DCUtR: first a unilateral dial of
 * A's public address (A's router drops it: A never sent anything to B's router), then the
 * CONNECT/SYNC exchange over the relayed connection, after which both dial at once and the
 * outbound SYNs open each router for the other side. Counted: relayed connections that were
 * replaced by a direct (non-limited) one, and the upgrades libp2p:dcutr itself logged.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { holePunchSupport, listNamespaces, tcpProbe, MAPPED_PORT, type Router } from '../hosts/netns.ts'
import { Cluster, P2P_PORT, poll, report, type AgentInfo, type ConnectionInfo, type TaskSummary } from '../reliability/cluster.ts'

const support = holePunchSupport()
const skip = support.ok ? false : support.reason
const ROUNDS = 3
const DEBUG_ENV = { DEBUG: 'libp2p:dcutr*' }

describe('reliability: DCUtR upgrades relayed connections through hole-punchable NATs (netns)', { skip, timeout: 240_000 }, () => {
  let c: Cluster | undefined
  const cl = (): Cluster => { assert.ok(c != null, 'the cluster did not start'); return c }
  let natA: Router | undefined
  let natB: Router | undefined

  before(async () => {
    c = await Cluster.create(process.env.RELIABILITY_VERBOSE != null ? (l) => { process.stderr.write(`${l}\n`) } : undefined)
    const boot = await c.wanHost('boot')
    const relay = await c.bed.addWanHost('relay', { ipv6: true })
    natA = await c.bed.addNatRouter('hp-a', { nat: 'hole-punchable' })
    natB = await c.bed.addNatRouter('hp-b', { nat: 'hole-punchable' })
    const wa = await c.natedHost('wa', natA)
    const wb = await c.natedHost('wb', natB)
    await c.start({ name: 'boot', role: 'bootstrap', kind: 'binary', host: boot })
    await c.start({ name: 'relay', role: 'relay', kind: 'binary', host: relay })
    const worker = (name: string, host: typeof wa, router: Router, zone: string) => c!.start({
      name,
      role: 'worker',
      kind: 'agent',
      host,
      env: DEBUG_ENV,
      config: { node: { listen_host: '::', announce: [`/ip6/${router.address6!}/tcp/${P2P_PORT}`], labels: { zone } } }
    })
    await Promise.all([worker('wa', wa, natA, 'a'), worker('wb', wb, natB, 'b')])
    await poll('both workers to hold a relay reservation and know each other', 60_000, async () => {
      const [a, b] = await Promise.all([cl().call<AgentInfo>('wa', 'info'), cl().call<AgentInfo>('wb', 'info')])
      return a.circuits.length > 0 && b.circuits.length > 0 &&
        a.workersKnown.some(w => w.peerId === b.peerId) && b.workersKnown.some(w => w.peerId === a.peerId)
    }, 500)
  })

  after(async () => {
    const bed = c?.bed
    await c?.teardown()
    if (bed != null) assert.deepEqual(listNamespaces().filter(ns => ns.startsWith(bed.prefix)), [])
  })

  it('a relayed A-B connection becomes direct', async (t) => {
    const c = cl()
    const wa = c.node('wa')
    const wb = c.node('wb')
    const relay = c.node('relay')
    // strangers cannot dial the workers: no IPv4 route in, and the IPv6 mapping filters addresses
    // the worker never sent to (the relay talks to the workers over IPv4 only)
    const probe4 = await tcpProbe(c.bed, relay.spec.host, wa.spec.host.address, P2P_PORT)
    const probe6 = await tcpProbe(c.bed, relay.spec.host, natA!.address6!, MAPPED_PORT, 1500)
    assert.notEqual(probe4, 'connected')
    assert.notEqual(probe6, 'connected')

    const abConns = async (): Promise<ConnectionInfo[]> => (await c.call<ConnectionInfo[]>('wa', 'connections')).filter(x => x.peer === wb.peerId)
    const initial = await abConns()
    const relayAddr = relay.spec.host.address
    const circuitB = (await c.call<AgentInfo>('wb', 'info')).circuits.find(a => a.startsWith(`/ip4/${relayAddr}/`))
    assert.ok(circuitB != null, 'B has no circuit address through the relay')

    const logCounts = (): Record<string, number> => {
      const logA = readFileSync(wa.logFile, 'utf8')
      const logB = readFileSync(wb.logFile, 'utf8')
      const count = (text: string, re: RegExp): number => text.split('\n').filter(l => re.test(l)).length
      return {
        unilateral_ok: count(logB, /libp2p:dcutr unilateral connection upgrade to .* succeeded/),
        unilateral_failed: count(logB, /libp2p:dcutr:error unilateral connection upgrade to .* failed/),
        holepunch_ok_b: count(logB, /libp2p:dcutr DCUtR to .* succeeded to address/),
        holepunch_ok_a: count(logA, /libp2p:dcutr DCUtR to .* succeeded via/),
        errors: count(logA, /libp2p:dcutr:error/) + count(logB, /libp2p:dcutr:error/)
      }
    }
    const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]))

    const rounds: Array<Record<string, unknown>> = []
    let upgraded = 0
    let punched = 0
    let byDcutr = 0
    for (let i = 0; i < ROUNDS; i++) {
      // a clean start: no direct A-B connection, and neither router remembers the other (as when
      // the two have not talked directly for longer than the NAT keeps a mapping)
      await c.sh(wa.spec.host, 'ss', ['-K', 'dst', `[${natB!.address6!}]`])
      await c.sh(wb.spec.host, 'ss', ['-K', 'dst', `[${natA!.address6!}]`])
      await c.bed.forgetHolePunches(natA!)
      await c.bed.forgetHolePunches(natB!)
      await poll('no direct A-B connection', 10_000, async () => (await abConns()).every(x => x.relayed), 100)
      const holesBefore = [...await c.bed.holePunchedFor(natA!), ...await c.bed.holePunchedFor(natB!)]
      const logs0 = logCounts()
      const t0 = Date.now()
      const dial = await c.call<{ ok: boolean, addr?: string, limited?: boolean, error?: string }>('wa', 'dial', { addr: circuitB, timeoutMs: 15_000, force: true })
      let outcome: { direct: ConnectionInfo, ms: number } | undefined
      try {
        outcome = await poll('a direct A-B connection opened after the relayed dial, the relayed one closed', 30_000, async () => {
          const conns = await abConns()
          const direct = conns.find(x => !x.relayed && !x.limited && x.openedAt >= t0 - 50)
          const relayedNew = conns.filter(x => x.relayed && x.openedAt >= t0 - 50)
          return direct != null && relayedNew.length === 0 ? { direct, ms: Date.now() - t0 } : undefined
        }, 250)
        upgraded++
      } catch { /* counted as not upgraded */ }
      // the other side's dial and the log lines land a moment later (the logs are piped through the test process)
      await new Promise(resolve => setTimeout(resolve, 1500))
      const logs = diff(logs0, logCounts())
      if (outcome != null && (logs.holepunch_ok_a! > 0 || logs.holepunch_ok_b! > 0)) punched++
      if (outcome != null && logs.holepunch_ok_a! + logs.holepunch_ok_b! + logs.unilateral_ok! > 0) byDcutr++
      rounds.push({
        holes_open_before: holesBefore.length,
        dial_ok: dial.ok,
        dial_limited: dial.limited,
        direct_addr: outcome?.direct.addr.replace(/\/p2p\/.*$/, ''),
        direction_on_a: outcome?.direct.direction,
        ms: outcome?.ms,
        dcutr_log: logs
      })
    }
    // tasks from A to B now travel on the direct connection (task streams prefer a direct one)
    const ids = await c.call<string[]>('wa', 'submit', { type: 'compute', count: 4, selector: 'zone=b' })
    const tasks = await c.call<TaskSummary>('wa', 'wait', { ids, timeoutMs: 60_000 })
    const afterTasks = await abConns()
    const figures = {
      probe_v4_stranger_to_nated: probe4,
      probe_v6_stranger_to_mapping: probe6,
      initial_a_b: { relayed: initial.filter(x => x.relayed).length, direct: initial.filter(x => !x.relayed).length },
      relayed_dials: ROUNDS,
      upgraded_to_direct: upgraded,
      upgraded_by_dcutr: byDcutr,
      upgraded_by_hole_punch: punched,
      rounds,
      tasks_a_to_b_after: { submitted: tasks.submitted, succeeded: tasks.succeeded, lost: tasks.notEnded, completedTwice: tasks.completedTwice },
      a_b_connections_after: { relayed: afterTasks.filter(x => x.relayed).length, direct: afterTasks.filter(x => !x.relayed).length }
    }
    report(t, 'dcutr', figures)
    assert.equal(upgraded, ROUNDS, JSON.stringify(figures))
    // ... and libp2p:dcutr says it was DCUtR that made each of those direct connections
    assert.equal(byDcutr, ROUNDS, JSON.stringify(figures))
    assert.equal(tasks.succeeded, ids.length, JSON.stringify(tasks))
    assert.ok(afterTasks.some(x => !x.relayed), `no direct A-B connection after the tasks: ${JSON.stringify(afterTasks)}`)
  })
})
