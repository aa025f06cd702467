/**
 * `p2p-node devnet`: a local network on 127.0.0.1 in one process (1 bootstrap, 1 relay, N workers),
 * built from config/local/*.yaml. Used by `npm start`, the tests and the benchmarks.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfigFile, type ConfigOverrides } from '../config/index.ts'
import type { LogLevel } from '../config/types.ts'
import { createLogger } from '../logger.ts'
import { P2PNode } from '../node.ts'

/**
 * config/local of the checkout or the image: two levels up from src/cli/devnet.ts, one level up from
 * the bundle in dist/ (bin/bundle.js, which the image runs).
 */
export const LOCAL_CONFIG_DIR = localConfigDir(import.meta.url)

export function localConfigDir (moduleUrl: string): string {
  const candidates = ['../../config/local', '../config/local'].map(rel => resolve(fileURLToPath(new URL(rel, moduleUrl))))
  return candidates.find(dir => existsSync(join(dir, 'worker.yaml'))) ?? candidates[0]!
}

export interface DevnetInit {
  workers?: number
  /** default: a fresh temporary directory, removed on stop */
  dataDir?: string
  logLevel?: LogLevel
  /** extra overrides for every node, e.g. { 'network.protocol_version': 'x' } */
  overrides?: ConfigOverrides
  api?: boolean
}

export interface Devnet {
  bootstrap: P2PNode
  relay: P2PNode
  workers: P2PNode[]
  all: P2PNode[]
  bootstrapAddr: string
  stop(): Promise<void>
}

export async function startDevnet (init: DevnetInit = {}): Promise<Devnet> {
  const count = init.workers ?? 3
  const temp = init.dataDir == null
  const dataDir = init.dataDir ?? await mkdtemp(join(tmpdir(), 'p2p-devnet-'))
  const logLevel = init.logLevel ?? 'warn'
  const started: P2PNode[] = []
  const make = (file: string, name: string, extra: ConfigOverrides = {}): P2PNode => {
    const config = loadConfigFile(join(LOCAL_CONFIG_DIR, file), {
      env: {},
      overrides: { 'node.data_dir': join(dataDir, name), 'log.level': logLevel, ...init.overrides, ...extra }
    })
    return new P2PNode(config, { logger: createLogger({ level: logLevel, format: 'auto', bindings: { node: name } }), api: init.api })
  }
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map(async n => n.stop().catch(() => {})))
    if (temp) await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const bootstrap = make('bootstrap.yaml', 'bootstrap')
    await bootstrap.start()
    started.push(bootstrap)
    const addr = bootstrap.libp2p?.getMultiaddrs()[0]?.toString()
    if (addr == null) throw new Error('the bootstrap node has no listen address')
    const peers = { 'network.bootstrap_peers': [addr] }
    const relay = make('relay.yaml', 'relay', peers)
    await relay.start()
    started.push(relay)
    const workers = Array.from({ length: count }, (_, i) => make('worker.yaml', `worker-${i + 1}`, {
      ...peers, 'node.labels': { zone: String.fromCharCode(97 + (i % 26)) }
    }))
    await Promise.all(workers.map(async w => { await w.start(); started.push(w) }))
    return { bootstrap, relay, workers, all: [bootstrap, relay, ...workers], bootstrapAddr: addr, stop: stopAll }
  } catch (err) {
    await stopAll()
    throw err
  }
}

/** Resolves when every node knows `workers` workers in its capability table (or rejects at the timeout). */
export async function waitForMesh (devnet: Devnet, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const want = devnet.workers.length
  while (Date.now() < deadline) {
    if (devnet.all.every(n => n.table.workers().length >= want)) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`the devnet did not converge within ${timeoutMs}ms`)
}
