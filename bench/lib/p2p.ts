/**
 * The p2p network under test: the submitting gateway runs in the bench process (as BullMQ's
 * producer does in its driver) and W workers run as separate processes (`bin/p2p-node.js run
 * --config FILE`) bootstrapping to it. Worker identities are written beforehand so the gateway can
 * time each worker's connection and its first appearance in the capability table.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { stringify } from 'yaml'
import { LOCAL_CONFIG_DIR } from '../../src/cli/devnet.ts'
import { loadConfigFile, type ConfigOverrides } from '../../src/config/index.ts'
import { defaultIdentityFile, generateIdentity, peerIdOf, writeIdentity } from '../../src/network/identity.ts'
import { TERMINAL_STATUSES } from '../../src/node-api.ts'
import type { P2PNode } from '../../src/node.ts'
import { scripts } from './build.ts'
import type * as GatewayModule from './gateway-entry.ts'
import { Child } from './procs.ts'
import type { Outcome, Submitted, TaskSystem } from './system.ts'

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

export interface P2PNetInit {
  /** scratch directory for configs and data dirs */
  dir: string
  workers: number
  /** slots per worker (BullMQ's worker concurrency in the baseline) */
  slots: number
  /** preload the event-loop probe into workers */
  probe?: boolean
  /** --cpu-prof into this directory for the first worker */
  cpuProfDir?: string
  /** overrides for the gateway config */
  gatewayOverrides?: ConfigOverrides
  /** dotted-path overrides for every worker config, e.g. { 'tasks.max_attempts': 5 } */
  workerOverrides?: Record<string, unknown>
  /** keep the workers' circuit-relay transport on (off: the bench network has no relay) */
  relayTransport?: boolean
  /** the workers' tasks.prefetch (default: the node's own default, as many as their slots) */
  prefetch?: number
}

export interface WorkerProc {
  index: number
  peerId: string
  label: string
  role: 'worker' | 'bootstrap'
  child: Child
}

export interface SpawnOptions {
  /** preload the event-loop probe (default: the net's setting) */
  probe?: boolean
  /** --cpu-prof (default: the first worker when cpuProfDir is set) */
  cpuProf?: boolean
  /** 'bin': bin/p2p-node.js run (default); 'node-proc': bench/node-proc.ts, which reports table changes over IPC */
  script?: 'bin' | 'node-proc'
  role?: 'worker' | 'bootstrap'
}

export class P2PNet implements TaskSystem {
  readonly name = 'p2p' as const
  readonly gateway: P2PNode
  readonly workers: WorkerProc[] = []
  gatewayAddr = ''
  /** performance.now() when the gateway first had a connection to / a table entry for each peer */
  readonly connectedAt = new Map<string, number>()
  readonly schedulableAt = new Map<string, number>()
  private readonly tableWatchers = new Set<() => void>()
  private duplicatesAtStart = 0
  private nextIndex = 0

  private constructor (private readonly init: P2PNetInit, gw: typeof GatewayModule) {
    const config = loadConfigFile(join(LOCAL_CONFIG_DIR, 'bootstrap.yaml'), {
      env: {},
      overrides: {
        'node.data_dir': join(init.dir, 'gateway'),
        'node.listen_port': 0,
        'node.heartbeat_interval': BENCH_HEARTBEAT_S,
        'tasks.slots': 0,
        'api.enabled': false,
        'log.level': 'error',
        'log.format': 'json',
        ...init.gatewayOverrides
      }
    })
    // errors only: a gateway that starts before its workers warns that it has no peers. It keeps
    // its metrics, as a deployed submitter (which takes submissions over the HTTP API) does; the
    // workers, without the API, keep none (like BullMQ's)
    this.gateway = new gw.P2PNode(config, { api: false, metrics: true, logger: gw.createLogger({ level: 'error', format: 'json', bindings: { node: 'gateway' } }) })
    // time each worker's first appearance in the gateway's capability table (it is schedulable then)
    const table = this.gateway.table
    const advertise = table.advertise.bind(table)
    table.advertise = (a, now) => {
      const state = advertise(a, now)
      if (state === 'new' && a.slots > 0 && !this.schedulableAt.has(a.peerId)) {
        this.schedulableAt.set(a.peerId, performance.now())
        for (const w of this.tableWatchers) w()
      }
      return state
    }
  }

  /** Starts the gateway and `init.workers` worker processes and waits until every worker is schedulable. */
  static async start (init: P2PNetInit, timeoutMs = 60_000): Promise<P2PNet> {
    const net = new P2PNet(init, await gatewayModule())
    try {
      await net.startGateway()
      const ws = await Promise.all(Array.from({ length: init.workers }, async () => net.spawnWorker()))
      await net.waitSchedulable(ws.map(w => w.peerId), timeoutMs)
      net.duplicatesAtStart = net.gateway.submitter?.duplicates ?? 0
      return net
    } catch (err) {
      await net.stop()
      throw err
    }
  }

  /** A network with only the gateway running (startup scenario: workers are spawned one by one). */
  static async startGatewayOnly (init: P2PNetInit): Promise<P2PNet> {
    const net = new P2PNet(init, await gatewayModule())
    try {
      await net.startGateway()
      return net
    } catch (err) {
      await net.stop()
      throw err
    }
  }

  private async startGateway (): Promise<void> {
    const gw = this.gateway
    await gw.start()
    const libp2p = gw.libp2p
    if (libp2p == null) throw new Error('gateway has no libp2p')
    libp2p.addEventListener('peer:connect', (evt) => {
      const id = evt.detail.toString()
      if (!this.connectedAt.has(id)) this.connectedAt.set(id, performance.now())
    })
    const addr = libp2p.getMultiaddrs().find(a => a.toString().includes('/tcp/') && !a.toString().includes('p2p-circuit'))
    if (addr == null) throw new Error('gateway has no TCP address')
    this.gatewayAddr = addr.toString()
  }

  /** Writes a node's config and identity, spawns it and returns at once (it is not yet connected). */
  async spawnWorker (options: SpawnOptions = {}): Promise<WorkerProc> {
    const index = this.nextIndex++
    const role = options.role ?? 'worker'
    const label = `${role === 'worker' ? 'w' : 'b'}${index}`
    const dataDir = join(this.init.dir, label)
    await mkdir(dataDir, { recursive: true })
    const key = await generateIdentity()
    await writeIdentity(defaultIdentityFile(dataDir), key)
    const configFile = join(dataDir, 'node.yaml')
    await writeFile(configFile, stringify(nodeConfig(role, dataDir, this.gatewayAddr, this.init.slots, label, {
      ...(this.init.relayTransport === true ? { 'network.enable_relay': true } : {}),
      ...(this.init.prefetch != null ? { 'tasks.prefetch': this.init.prefetch } : {}),
      ...this.init.workerOverrides
    })))
    const cmd = options.script === 'node-proc' ? scripts().nodeProc : scripts().p2pNode
    const execArgv: string[] = [...cmd.execArgv]
    if (options.probe ?? this.init.probe ?? false) execArgv.push('--import', scripts().probe)
    if ((options.cpuProf ?? index === 0) && this.init.cpuProfDir != null) execArgv.push('--cpu-prof', `--cpu-prof-dir=${this.init.cpuProfDir}`, `--cpu-prof-name=worker-${label}-${process.pid}.cpuprofile`)
    const child = new Child({
      name: `${role} ${label}`,
      args: options.script === 'node-proc' ? [cmd.script, '--config', configFile] : [cmd.script, 'run', '--config', configFile],
      execArgv,
      ipc: true,
      cwd: ROOT,
      env: { ...process.env, P2P_DRAIN_MS: '2000', LOG_LEVEL: 'info' }
    })
    const w: WorkerProc = { index, peerId: peerIdOf(key), label, role, child }
    this.workers.push(w)
    return w
  }

  /** Resolves when every peer is in the gateway's capability table with slots. */
  async waitSchedulable (peerIds: readonly string[], timeoutMs: number): Promise<void> {
    const ready = (): boolean => peerIds.every(p => this.schedulableAt.has(p))
    if (ready()) return
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (ready()) { done(); resolve() }
      }
      const timer = setTimeout(() => {
        done()
        const missing = this.workers.filter(w => peerIds.includes(w.peerId) && !this.schedulableAt.has(w.peerId))
        reject(new Error(`workers not schedulable within ${timeoutMs} ms: ${missing.map(w => `${w.label} (${w.child.running ? 'running' : `exited ${w.child.exitCode}`})\n${w.child.lastLines(5)}`).join('\n')}`))
      }, timeoutMs)
      const done = (): void => { clearTimeout(timer); this.tableWatchers.delete(check) }
      this.tableWatchers.add(check)
    })
  }

  async submit (task: { type: string, payload: string, selector?: string } = { type: 'echo', payload: '' }): Promise<Submitted> {
    const api = this.gateway.api
    const view = await api.submit({ type: task.type, payload: task.payload, ...(task.selector != null ? { selector: task.selector } : {}) })
    const done: Promise<Outcome> = api.wait(view.id).then(v => ({ ok: v.status === 'succeeded', status: v.status, at: performance.now() }))
    return { done }
  }

  completedTwice (): number {
    return (this.gateway.submitter?.duplicates ?? 0) - this.duplicatesAtStart
  }

  /** Tasks the gateway has not ended (for diagnostics when some are lost). */
  unfinished (): number {
    return (this.gateway.submitter?.list({ limit: 1_000_000 }) ?? []).filter(t => !TERMINAL_STATUSES.has(t.status)).length
  }

  children (): Child[] { return this.workers.map(w => w.child) }

  async stop (): Promise<void> {
    await Promise.all(this.workers.map(async w => w.child.stop('SIGTERM', 5000)))
    await this.gateway.stop().catch(() => {})
  }
}

/** The gateway's code: the run's bundle, or the sources through tsx with --from-source. */
async function gatewayModule (): Promise<typeof GatewayModule> {
  return await import(pathToFileURL(scripts().gateway).href) as typeof GatewayModule
}

/**
 * Heartbeat interval of every bench node: the shipped default (config/worker.yaml, k8s/), not the
 * devnet's 1 s. Idle gossip is what N processes on 2 cores pay N times over: with 1 s, a worker in
 * a 16-node network was 4–5 % of a core idle, with 30 s 1.8 %. Scheduling does not wait for
 * heartbeats (offers and results move on streams; a result frees its slot at once).
 */
export const BENCH_HEARTBEAT_S = 30

/**
 * A node's config: config/local/<role>.yaml's settings (mDNS off) with the shipped heartbeat, the
 * bench's slots, data dir, bootstrap, a `bench=<label>` label and no HTTP API.
 */
export function nodeConfig (role: 'worker' | 'bootstrap', dataDir: string, bootstrap: string, slots: number, label: string, overrides: Record<string, unknown> = {}): Record<string, Record<string, unknown>> {
  const config: Record<string, Record<string, unknown>> = {
    node: {
      role,
      listen_host: '127.0.0.1',
      listen_port: 0,
      ...(role === 'worker' ? { capabilities: ['compute'], labels: { bench: label } } : {}),
      heartbeat_interval: BENCH_HEARTBEAT_S,
      data_dir: dataDir
    },
    network: {
      bootstrap_peers: [bootstrap],
      // the bench network has no relay: with the relay transport on and no relay to reserve a slot
      // on, a worker random-walks the DHT without pause (docs/benchmarks.md); --relay-transport
      // turns it back on
      enable_relay: false,
      enable_mdns: false,
      connection_timeout: 10,
      rebootstrap_backoff: 1
    },
    tasks: role === 'worker'
      ? { slots, default_timeout: '30s', max_attempts: 3, handlers: { echo: { builtin: 'echo' }, sleep: { builtin: 'sleep' }, compute: { builtin: 'sha256' } } }
      : { slots: 0 },
    api: { enabled: false },
    log: { level: 'info', format: 'json' }
  }
  for (const [path, value] of Object.entries(role === 'worker' ? overrides : {})) {
    const [section, key] = path.split('.')
    if (section == null || key == null) throw new Error(`worker override ${path}: expected section.key`)
    config[section] = { ...config[section], [key]: value }
  }
  return config
}
