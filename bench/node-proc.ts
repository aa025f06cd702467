/**
 * One p2p node in its own process for the propagation scenario: the real P2PNode (as
 * `p2p-node run` builds it, libp2p metrics only with the API), plus reports over IPC of when it started, when it
 * first advertised, and when each peer first appeared in its capability table. Times are wall
 * clock in ms with sub-ms precision (performance.timeOrigin + performance.now()), comparable across
 * processes on one host.
 *
 *   node --import tsx bench/node-proc.ts --config FILE
 */
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { loadConfigFile } from '../src/config/index.ts'
import { P2PNode } from '../src/node.ts'

export type NodeProcMessage =
  | { ev: 'started', peerId: string, at: number, advertisedAt: number, addrs: string[] }
  | { ev: 'seen', peer: string, at: number }
  | { ev: 'error', error: string }

const wall = (): number => performance.timeOrigin + performance.now()
const send = (m: NodeProcMessage): void => { process.send?.(m) }

const { values } = parseArgs({ options: { config: { type: 'string' } } })
if (values.config == null) throw new Error('usage: node-proc.ts --config FILE')
const config = loadConfigFile(values.config, { env: process.env })
const node = new P2PNode(config, { api: false, libp2pMetrics: config.api.enabled })
const table = node.table
const advertise = table.advertise.bind(table)
table.advertise = (a, now) => {
  const state = advertise(a, now)
  if (state === 'new') send({ ev: 'seen', peer: a.peerId, at: wall() })
  return state
}
let advertisedAt = 0
const firstAdvertise = node.advertise.bind(node)
node.advertise = async () => {
  if (advertisedAt === 0) advertisedAt = wall()
  return firstAdvertise()
}

let stopping = false
const stop = (): void => {
  if (stopping) process.exit(1)
  stopping = true
  node.stop().then(() => { process.exit(0) }, () => { process.exit(1) })
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.on('disconnect', stop)

try {
  await node.start()
  send({ ev: 'started', peerId: node.peerId, at: wall(), advertisedAt, addrs: node.libp2p?.getMultiaddrs().map(a => a.toString()) ?? [] })
} catch (err) {
  send({ ev: 'error', error: (err as Error).message })
  process.exit(1)
}
