/**
 * Experiment behind docs/reliability.md section 1: does @libp2p/circuit-relay-v2 re-reserve by
 * itself after a relay restart, without the relay watchdog? Two NATed workers (A with its watchdog
 * turned off, B with it on) and a relay SIGKILLed and restarted (same key and port), once at once
 * and once after 15 s down; prints how long each worker took to hold a reservation again.
 *
 *   node_modules/.bin/node --import tsx test/reliability/watchdog-off.ts     (root: network namespaces)
 */
import { Cluster, poll, type AgentInfo } from './cluster.ts'

const c = await Cluster.create()
try {
  const boot = await c.wanHost('boot')
  const relay = await c.wanHost('relay')
  const wa = await c.natedHost('wa', await c.natRouter('na'))
  const wb = await c.natedHost('wb', await c.natRouter('nb'))
  await c.start({ name: 'boot', role: 'bootstrap', kind: 'binary', host: boot })
  await c.start({ name: 'relay', role: 'relay', kind: 'binary', host: relay })
  await Promise.all([c.start({ name: 'wa', role: 'worker', kind: 'agent', host: wa }), c.start({ name: 'wb', role: 'worker', kind: 'agent', host: wb })])
  await poll('both workers to hold a reservation', 60_000, async () =>
    (await c.call<AgentInfo>('wa', 'info')).circuits.length > 0 && (await c.call<AgentInfo>('wb', 'info')).circuits.length > 0)
  await c.call('wa', 'watchdogOff')
  for (const downMs of [0, 15_000]) {
    await c.stop('relay', 'SIGKILL')
    await new Promise(resolve => setTimeout(resolve, downMs))
    const t0 = Date.now()
    await c.restart('relay')
    const startMs = Date.now() - t0
    const res: Record<string, number | string> = {}
    await poll('both workers to re-reserve', 90_000, async () => {
      for (const n of ['wa', 'wb']) {
        if (res[n] == null && (await c.call<AgentInfo>(n, 'info')).circuits.length > 0) res[n] = Date.now() - t0 - startMs
      }
      return Object.keys(res).length === 2
    }, 500).catch(() => { for (const n of ['wa', 'wb']) res[n] ??= 'not within 90 s' })
    const b = await c.call<AgentInfo>('wb', 'info')
    process.stdout.write(JSON.stringify({ extra_down_ms: downMs, relay_start_ms: startMs, rereserved_after_relay_started_ms: res, wa_watchdog: 'off', wb_watchdog_repairs: b.watchdog?.repairs }) + '\n')
  }
} finally {
  await c.teardown()
}
