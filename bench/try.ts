import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { P2PNet } from './lib/p2p.ts'
import { burst, serial, warmup } from './lib/load.ts'

const dir = await mkdtemp(join(tmpdir(), 'p2p-bench-'))
const t0 = Date.now()
const net = await P2PNet.start({ dir, workers: 4, slots: 16, probe: true })
console.log('started in', Date.now() - t0)
try {
  await warmup(net, 200)
  console.log('serial', await serial(net, Number(process.argv[3] ?? 300), 60_000))
  console.log('burst', await burst(net, Number(process.argv[2] ?? 2000), 60_000))
  for (const w of net.workers) console.log(w.label, await w.child.probe())
} finally {
  await net.stop()
  await rm(dir, { recursive: true, force: true })
}
