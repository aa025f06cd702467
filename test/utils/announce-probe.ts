/**
 * Run inside a network namespace with one non-loopback address HOST (test/e2e/announce-addrs.test.ts):
 * a bootstrap on HOST, a relay on 0.0.0.0, a worker without a direct address (reachable only through
 * the relay). Prints one JSON line: the relay's addresses, the worker's, and the addresses the
 * bootstrap learned from the worker's advertisement.
 *
 *   node --import tsx test/utils/announce-probe.ts HOST
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOCAL_CONFIG_DIR } from '../../src/cli/devnet.ts'
import { loadConfigFile, type ConfigOverrides } from '../../src/config/index.ts'
import { P2PNode } from '../../src/node.ts'

const host = process.argv[2] ?? '127.0.0.1'
const dir = await mkdtemp(join(tmpdir(), 'p2p-announce-'))
const started: P2PNode[] = []
const start = async (file: string, name: string, o: ConfigOverrides): Promise<P2PNode> => {
  const n = new P2PNode(loadConfigFile(join(LOCAL_CONFIG_DIR, file), { env: {}, overrides: { 'node.data_dir': join(dir, name), 'log.level': 'error', 'api.enabled': false, ...o } }), { api: false })
  await n.start()
  started.push(n)
  return n
}
try {
  const boot = await start('bootstrap.yaml', 'boot', { 'node.listen_host': host })
  const peers = { 'network.bootstrap_peers': [boot.libp2p!.getMultiaddrs()[0]!.toString()] }
  const relay = await start('relay.yaml', 'relay', { ...peers, 'node.listen_host': '0.0.0.0' })
  const worker = await start('worker.yaml', 'worker', { ...peers, 'node.listen_tcp': false })
  const deadline = Date.now() + 30_000
  const advertised = (): string[] => boot.table.workers().find(w => w.peerId === worker.peerId)?.addrs ?? []
  while (Date.now() < deadline && !advertised().some(a => a.includes('/p2p-circuit'))) await new Promise(resolve => setTimeout(resolve, 200))
  process.stdout.write(JSON.stringify({
    relay: relay.libp2p!.getMultiaddrs().map(String),
    worker: worker.libp2p!.getMultiaddrs().map(String),
    advertised: advertised()
  }) + '\n')
} finally {
  for (const n of started.reverse()) await n.stop().catch(() => {})
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
