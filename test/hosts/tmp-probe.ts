import { Testbed } from './netns.ts'
import { LocalNetwork } from './local-network.ts'
import type { NodeStatus } from '../../src/node-api.ts'
const bed = await Testbed.create()
let net: LocalNetwork | undefined
try {
  net = await LocalNetwork.start(bed, { workers: 1 })
  const w = net.workers[0]!
  const t0 = Date.now()
  while (Date.now() - t0 < 90_000) {
    const s = await net.api<NodeStatus>(w, '/api/v1/status')
    console.log(((Date.now() - t0) / 1000).toFixed(0), JSON.stringify(s?.relayReservations), JSON.stringify(s?.addresses))
    if ((s?.relayReservations.length ?? 0) > 0) break
    await new Promise(r => setTimeout(r, 10_000))
  }
  console.log(net.logTails(10))
} finally { await net?.stop(); await bed.teardown() }
