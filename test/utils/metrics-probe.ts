/**
 * Starts one worker node in this process, with or without the HTTP API, and prints whether
 * prom-client was loaded and what the node's metrics are, as one JSON line; then stops it. Run in
 * a child process (test/e2e/node-metrics.test.ts) so the module state is this node's alone.
 *
 *   node --import tsx test/utils/metrics-probe.ts DATA_DIR api|no-api
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { LOCAL_CONFIG_DIR } from '../../src/cli/devnet.ts'
import { loadConfigFile } from '../../src/config/index.ts'
import { createLogger } from '../../src/logger.ts'
import { NOOP_METRICS } from '../../src/metrics/noop.ts'
import { P2PNode } from '../../src/node.ts'

const [dataDir = '', mode = 'no-api'] = process.argv.slice(2)
const api = mode === 'api'
const config = loadConfigFile(join(LOCAL_CONFIG_DIR, 'worker.yaml'), {
  env: {},
  overrides: { 'node.data_dir': dataDir, 'log.level': 'silent', 'api.enabled': api, 'api.port': 0 }
})
const node = new P2PNode(config, { logger: createLogger({ level: 'silent', format: 'json' }) })
await node.start()
try {
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter(k => k.includes('/node_modules/prom-client/'))
  const scraped = node.apiServer != null ? await (await fetch(`${node.apiServer.url}/metrics`)).text() : undefined
  process.stdout.write(`${JSON.stringify({
    promClientLoaded: loaded.length > 0,
    noop: node.metrics === NOOP_METRICS,
    registry: node.registry != null,
    scrapedTaskMetrics: scraped?.includes('p2p_tasks_submitted_total') ?? false
  })}\n`)
} finally {
  await node.stop()
}
