/**
 * A node keeps metrics only where /metrics can serve them: without the HTTP API it counts nothing
 * and never loads prom-client (its RSS and a label hash per gossip message), with it /metrics
 * serves the task metrics. Each node runs in a child process of its own (test/utils/metrics-probe.ts),
 * so what is loaded is that node's alone.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'

const PROBE = join(import.meta.dirname, '..', 'utils', 'metrics-probe.ts')

async function probe (dataDir: string, mode: 'api' | 'no-api'): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', PROBE, dataDir, mode], { timeout: 60_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>
}

describe('metrics follow the HTTP API', { timeout: 120_000 }, () => {
  let dir = ''
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'p2p-metrics-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('a worker without the API counts nothing and never loads prom-client', async () => {
    assert.deepEqual(await probe(join(dir, 'no-api'), 'no-api'), { promClientLoaded: false, noop: true, registry: false, scrapedTaskMetrics: false })
  })

  it('a worker with the API keeps its metrics in a registry that /metrics serves', async () => {
    assert.deepEqual(await probe(join(dir, 'api'), 'api'), { promClientLoaded: true, noop: false, registry: true, scrapedTaskMetrics: true })
  })
})
