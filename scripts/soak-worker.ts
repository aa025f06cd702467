/** Worker churn for the soak: stop the oldest worker gracefully and start a fresh one. */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOCAL_CONFIG_DIR, type Devnet } from '../src/cli/devnet.ts'
import { loadConfigFile } from '../src/config/index.ts'
import { P2PNode } from '../src/node.ts'

export class TestNetWorker {
  replaced = 0
  private readonly extra: P2PNode[] = []
  private busy = false

  constructor (private readonly net: Devnet) {}

  async replaceOne (): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const old = this.net.workers.shift()
      if (old != null) await old.stop({ drainMs: 10_000 })
      const dir = await mkdtemp(join(tmpdir(), 'p2p-soak-w-'))
      const config = loadConfigFile(join(LOCAL_CONFIG_DIR, 'worker.yaml'), {
        env: {},
        overrides: { 'node.data_dir': dir, 'log.level': 'error', 'network.bootstrap_peers': [this.net.bootstrapAddr], 'api.enabled': false }
      })
      const fresh = new P2PNode(config, { api: false })
      await fresh.start()
      this.net.workers.push(fresh)
      this.extra.push(fresh)
      this.replaced++
    } finally {
      this.busy = false
    }
  }

  async stop (): Promise<void> {
    await Promise.all(this.extra.map(async n => n.stop().catch(() => {})))
  }
}
