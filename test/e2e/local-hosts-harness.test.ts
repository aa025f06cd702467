/**
 * The network-namespace harness itself (test/hosts/netns.ts): a NATed host reaches the WAN, the
 * WAN cannot dial the NATed host (even with a route to it), names resolve from the per-namespace
 * /etc/hosts, a hole-punchable router's IPv6 mapping admits only addresses its host sent to, and
 * teardown leaves no namespace, /etc/netns entry or process behind.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { MAPPED_PORT, Testbed, holePunchSupport, listNamespaces, netnsSupport, sweepStaleNamespaces, tcpProbe, type Host } from '../hosts/netns.ts'

const support = netnsSupport()
const skip = support.ok ? false : support.reason

/** A TCP server on `port` (7000) inside `host` that answers "hi from <name>"; resolves once it listens. */
async function listen (bed: Testbed, host: Host, port = 7000, address = '0.0.0.0'): Promise<void> {
  const child = bed.spawn(host, process.execPath, ['-e', `
require('node:net').createServer(s => { s.on('error', () => {}); s.end('hi from ${host.name}\\n') }).listen(${port}, '${address}', () => console.log('listening'))
`])
  const lines = createInterface({ input: child.stdout! })
  const [first] = await Promise.race([
    once(lines, 'line') as Promise<[string]>,
    once(child, 'exit').then(([code]) => { throw new Error(`listener on ${host.name} exited with ${String(code)}`) })
  ])
  assert.equal(first, 'listening')
}

describe('network-namespace testbed', { skip, timeout: 120_000 }, () => {
  it('NATed hosts reach the WAN, the WAN cannot dial them, and teardown removes everything', async () => {
    const bed = await Testbed.create()
    let torn = false
    try {
      const wan = await bed.addWanHost('server')
      const other = await bed.addWanHost('other')
      const router = await bed.addNatRouter('home')
      const nated = await bed.addNatedHost('laptop', router)
      bed.writeHostsFiles({ 'server.test.internal': wan.address, 'laptop.test.internal': nated.address })

      assert.match(wan.address, /^10\.251\.0\.\d+$/)
      assert.match(nated.address, /^10\.252\.1\.\d+$/)
      assert.deepEqual(new Set(bed.ownNamespaces), new Set([bed.wanNs, wan.ns, other.ns, router.ns, nated.ns]))
      for (const ns of bed.ownNamespaces) assert.ok(ns.startsWith(`p2pt-${process.pid}-`), ns)

      await listen(bed, wan)
      await listen(bed, nated)

      // WAN <-> WAN, and NATed -> WAN through the router (by name, from the namespace's /etc/hosts)
      assert.equal(await tcpProbe(bed, other, wan.address, 7000), 'connected')
      assert.equal(await tcpProbe(bed, nated, 'server.test.internal', 7000), 'connected')

      // the server sees the router's address, not the laptop's: MASQUERADE is in the path
      const natCheck = bed.spawn(wan, process.execPath, ['-e', `
const srv = require('node:net').createServer(s => { s.on('error', () => {}); console.log('peer ' + s.remoteAddress.replace(/^::ffff:/, '')); s.destroy(); srv.close() })
srv.listen(7002, '0.0.0.0', () => console.log('listening'))
`])
      const natLines = createInterface({ input: natCheck.stdout! })
      const lineIter = natLines[Symbol.asyncIterator]()
      assert.equal((await lineIter.next()).value, 'listening')
      assert.equal(await tcpProbe(bed, nated, wan.address, 7002), 'connected')
      assert.equal((await lineIter.next()).value, `peer ${router.address}`)

      // WAN -> NATed: no route at all ...
      assert.equal(await tcpProbe(bed, wan, nated.address, 7000), 'unreachable')
      // ... and with a route through the router, its firewall drops new inbound connections
      const route = await bed.exec(wan, 'ip', ['route', 'add', router.lanSubnet, 'via', router.address])
      assert.equal(route.code, 0, route.stderr)
      assert.equal(await tcpProbe(bed, wan, nated.address, 7000, 1000), 'timeout')
      // the router itself, on its LAN side, can reach the laptop (the listener is there)
      assert.equal(await tcpProbe(bed, router, nated.address, 7000), 'connected')

      // names from /etc/netns/<ns>/hosts, and no resolver outside the testbed
      const lookup = await bed.exec(nated, 'getent', ['hosts', 'server.test.internal'])
      assert.match(lookup.stdout, new RegExp(`^${wan.address.replaceAll('.', '\\.')}\\s+server\\.test\\.internal`))
      assert.match((await bed.exec(nated, 'cat', ['/etc/resolv.conf'])).stdout, /nameserver 127\.0\.0\.1/)

      const owned = [...bed.ownNamespaces]
      await bed.teardown()
      torn = true
      const after = listNamespaces()
      for (const ns of owned) {
        assert.ok(!after.includes(ns), `namespace ${ns} is still there`)
        assert.ok(!existsSync(`/etc/netns/${ns}`), `/etc/netns/${ns} is still there`)
      }
      // a second teardown is a no-op
      await bed.teardown()
    } finally {
      if (!torn) await bed.teardown()
    }
  })

  const holePunch = support.ok ? holePunchSupport() : support
  it('hole-punchable NAT: port 4001 of its IPv6 face is closed to strangers and opens for an address its host sent to', { skip: holePunch.ok ? false : holePunch.reason }, async () => {
    const bed = await Testbed.create()
    try {
      const stranger = await bed.addWanHost('stranger', { ipv6: true })
      const ra = await bed.addNatRouter('nat-a', { nat: 'hole-punchable' })
      const rb = await bed.addNatRouter('nat-b', { nat: 'hole-punchable' })
      const a = await bed.addNatedHost('a', ra)
      const b = await bed.addNatedHost('b', rb)
      assert.equal(ra.nat, 'hole-punchable')
      assert.match(ra.address6 ?? '', /^3fff:0:0:1::/)
      assert.match(a.address6 ?? '', /^fd00:0:0:1::/)
      await listen(bed, a, MAPPED_PORT, '::')
      await listen(bed, b, MAPPED_PORT, '::')
      // IPv4 stays strict: no route in; IPv6: the mapping exists but filters strangers
      assert.equal(await tcpProbe(bed, stranger, a.address, MAPPED_PORT), 'unreachable')
      assert.equal(await tcpProbe(bed, stranger, ra.address6!, MAPPED_PORT, 1000), 'timeout')
      // B has not sent anything to A's router yet: A's router drops B's SYN
      assert.equal(await tcpProbe(bed, b, ra.address6!, MAPPED_PORT, 1000), 'timeout')
      // A sends to B's router (dropped there: A is a stranger to B's router, which B just punched),
      // which opens A's router for B's router: now B gets through to A
      assert.equal(await tcpProbe(bed, a, rb.address6!, MAPPED_PORT, 1000), 'connected')
      assert.equal(await tcpProbe(bed, b, ra.address6!, MAPPED_PORT), 'connected')
      // other ports are not mapped; the stranger is still a stranger
      assert.notEqual(await tcpProbe(bed, b, ra.address6!, 7000, 1000), 'connected')
      assert.equal(await tcpProbe(bed, stranger, ra.address6!, MAPPED_PORT, 1000), 'timeout')
    } finally {
      await bed.teardown()
    }
    for (const ns of listNamespaces()) assert.ok(!ns.startsWith(bed.prefix), `${ns} survived teardown`)
  })

  it('sweeps namespaces that a dead run left behind, and only those', async () => {
    // a pid that cannot be running: above the kernel's pid_max
    const pidMax = Number(execFileSync('cat', ['/proc/sys/kernel/pid_max'], { encoding: 'utf8' }).trim())
    const stale = `p2pt-${pidMax + 1}-0-leftover`
    const foreign = 'p2ptest-not-ours'
    execFileSync('ip', ['netns', 'add', stale])
    try {
      const removed = sweepStaleNamespaces()
      assert.ok(removed.includes(stale), `swept ${JSON.stringify(removed)}`)
      assert.ok(!listNamespaces().includes(stale))
      assert.ok(!removed.includes(foreign))
    } finally {
      try { execFileSync('ip', ['netns', 'del', stale], { stdio: 'ignore' }) } catch { /* swept */ }
    }
  })

  it('a failing build step tears down what it had made', async () => {
    const bed = await Testbed.create()
    try {
      await bed.addWanHost('one')
      await assert.rejects(bed.addWanHost('one'), /exists already/)
      await assert.rejects(bed.addWanHost('Not Valid'), /lowercase/)
    } finally {
      await bed.teardown()
    }
    for (const ns of listNamespaces()) assert.ok(!ns.startsWith(bed.prefix), `${ns} survived teardown`)
  })
})
