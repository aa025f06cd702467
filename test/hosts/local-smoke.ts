/**
 * `./test.sh --local`: the cluster smoke test against hosts in network namespaces. Bootstrap and
 * relay on a WAN segment, workers behind a NAT router, all started from config/*.yaml with the
 * Deployments' environment; a worker must list the bootstrap and relay peers and answer
 * `task compute hello`, and the bootstrap's task must reach a worker behind the NAT.
 *
 *   node --import tsx test/hosts/local-smoke.ts [--workers N] [--keep-logs]
 * Needs root (network namespaces), iproute2 and iptables. Exit 0 on success, 1 on failure.
 */
import { parseArgs } from 'node:util'
import { Testbed, netnsSupport } from './netns.ts'
import { LocalNetwork, smokeTest } from './local-network.ts'

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1' },
    'keep-logs': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (values.help) {
  console.log('usage: node --import tsx test/hosts/local-smoke.ts [--workers N] [--keep-logs] [--verbose]')
  process.exit(0)
}
const workers = Number(values.workers)
if (!Number.isInteger(workers) || workers < 1 || workers > 8) {
  console.error('--workers must be a whole number from 1 to 8')
  process.exit(2)
}
const support = netnsSupport()
if (!support.ok) {
  console.error(`local smoke test: ${support.reason}`)
  process.exit(1)
}
if (values['keep-logs']) process.env.KEEP_LOCAL_HOSTS_LOGS = '1'

const log = (line: string): void => { console.log(`local-smoke: ${line}`) }
const started = Date.now()
const bed = await Testbed.create({ log: values.verbose ? log : undefined })
let net: LocalNetwork | undefined
let ok = false
try {
  net = await LocalNetwork.start(bed, { workers, log })
  await smokeTest(net, log)
  ok = true
} catch (err) {
  console.error(`local smoke test FAILED: ${err instanceof Error ? err.message : String(err)}`)
} finally {
  if (net != null) {
    await net.stop()
    if (values['keep-logs']) log(`logs kept in ${net.workDir}`)
  }
  await bed.teardown()
}
if (ok) log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exitCode = ok ? 0 : 1
