/**
 * Real node processes in network namespaces for the reliability scenarios, on top of
 * test/hosts/netns.ts (which builds the WAN, the NAT routers and their LANs and removes all of it).
 *
 * Each node runs in its own namespace either as the real binary (`bin/p2p-node.js run --config`,
 * what operators run: bootstrap, relay, workers that are restarted or killed) or as an agent
 * (test/reliability/agent.ts: the same P2PNode with a JSON-line control channel, for submitters and
 * nodes the test must look inside). Configs are written per node: heartbeat 1 s, port 4001, API on
 * 127.0.0.1:8080 inside the namespace, identity in the node's data_dir (created here first, so peer
 * IDs are known before start and survive restarts).
 */
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, type WriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'
import { defaultIdentityFile, loadIdentity, peerIdOf } from '../../src/network/identity.ts'
import type { Role } from '../../src/node-api.ts'
import { Testbed, type Host, type Router } from '../hosts/netns.ts'
import { waitFor } from '../utils/wait.ts'

export const REPO_DIR = resolve(import.meta.dirname, '../..')
export const P2P_PORT = 4001
export const API_PORT = 8080

export type NodeKind = 'binary' | 'agent'

export interface NodeSpec {
  name: string
  role: Role
  kind: NodeKind
  host: Host
  /** nested config merged over the scenario defaults (e.g. { tasks: { slots: 2 } }) */
  config?: Record<string, unknown>
  /** bootstrap nodes (by name) to list in network.bootstrap_peers; default: every bootstrap started so far */
  bootstrap?: string[]
  env?: NodeJS.ProcessEnv
}

export interface ClusterNode {
  spec: NodeSpec
  peerId: string
  dataDir: string
  configFile: string
  logFile: string
  child?: ChildProcess
  /** set once the process reported it started */
  startedAt?: number
  /** agent control: pending replies */
  pending?: Map<number, (msg: { ok: boolean, value?: unknown, error?: string }) => void>
  events?: Array<Record<string, unknown>>
}

const HANDLERS = {
  compute: { builtin: 'sha256' },
  echo: { builtin: 'echo' },
  sleep: { builtin: 'sleep' },
  fail: { builtin: 'fail' }
}

/** Deep merge of plain objects (arrays and scalars replace). */
function merge (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a }
  for (const [k, v] of Object.entries(b)) {
    const old = out[k]
    out[k] = v != null && typeof v === 'object' && !Array.isArray(v) && old != null && typeof old === 'object' && !Array.isArray(old)
      ? merge(old as Record<string, unknown>, v as Record<string, unknown>)
      : v
  }
  return out
}

function baseEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const key of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) {
    if (process.env[key] !== undefined) env[key] = process.env[key]
  }
  return env
}

export class Cluster {
  readonly nodes = new Map<string, ClusterNode>()
  readonly workDir: string
  private readonly logs: WriteStream[] = []
  private nextId = 1

  private constructor (readonly bed: Testbed, readonly log: (line: string) => void) {
    this.workDir = mkdtempSync(join(tmpdir(), 'p2p-reliability-'))
  }

  static async create (log: (line: string) => void = () => {}): Promise<Cluster> {
    const bed = await Testbed.create()
    return new Cluster(bed, log)
  }

  async wanHost (name: string): Promise<Host> { return await this.bed.addWanHost(name) }
  async natRouter (name: string): Promise<Router> { return await this.bed.addNatRouter(name) }
  async natedHost (name: string, router: Router): Promise<Host> { return await this.bed.addNatedHost(name, router) }

  node (name: string): ClusterNode {
    const n = this.nodes.get(name)
    if (n == null) throw new Error(`no node ${name}`)
    return n
  }

  /** /ip4/<addr>/tcp/4001/p2p/<id> of a node */
  addr (name: string): string {
    const n = this.node(name)
    return `/ip4/${n.spec.host.address}/tcp/${P2P_PORT}/p2p/${n.peerId}`
  }

  /** Writes the config (and identity) of a node and starts it; resolves once it reports "node started". */
  async start (spec: NodeSpec): Promise<ClusterNode> {
    const dir = join(this.workDir, spec.name)
    const dataDir = join(dir, 'data')
    mkdirSync(dataDir, { recursive: true })
    const peerId = peerIdOf(await loadIdentity(defaultIdentityFile(dataDir), true))
    const bootstraps = spec.bootstrap ?? [...this.nodes.values()].filter(n => n.spec.role === 'bootstrap' && n.spec.name !== spec.name).map(n => n.spec.name)
    const config = merge({
      node: {
        role: spec.role,
        listen_host: '0.0.0.0',
        listen_port: P2P_PORT,
        heartbeat_interval: 1,
        data_dir: dataDir,
        capabilities: spec.role === 'worker' ? ['compute'] : []
      },
      network: {
        bootstrap_peers: bootstraps.map(b => this.addr(b)),
        enable_mdns: false,
        connection_timeout: 10,
        rebootstrap_backoff: 1
      },
      relay: { max_reservations: 64, data_limit: '1GiB', duration_limit: '1h' },
      tasks: spec.role === 'worker' ? { slots: 4, default_timeout: '30s', max_attempts: 5, handlers: HANDLERS } : { slots: 0 },
      api: { host: '127.0.0.1', port: API_PORT },
      log: { level: 'info', format: 'json' }
    }, spec.config ?? {})
    const configFile = join(dir, 'config.yaml')
    // YAML is a superset of JSON
    writeFileSync(configFile, JSON.stringify(config, null, 1))
    const node: ClusterNode = { spec, peerId, dataDir, configFile, logFile: join(dir, 'node.log') }
    this.nodes.set(spec.name, node)
    await this.spawn(node)
    return node
  }

  /** Starts a stopped node again: same data_dir, identity, config and address. */
  async restart (name: string): Promise<ClusterNode> {
    const node = this.node(name)
    if (node.child != null && node.child.exitCode == null && node.child.signalCode == null) throw new Error(`${name} is still running`)
    await this.spawn(node)
    return node
  }

  private async spawn (node: ClusterNode): Promise<void> {
    const { spec } = node
    const log = createWriteStream(node.logFile, { flags: 'a' })
    this.logs.push(log)
    const args = spec.kind === 'binary'
      ? [join(REPO_DIR, 'bin/p2p-node.js'), 'run', '--config', node.configFile]
      : ['--import', 'tsx', join(REPO_DIR, 'test/reliability/agent.ts'), node.configFile]
    const env = { ...baseEnv(), HOME: join(this.workDir, spec.name), P2P_DRAIN_MS: '5000', ...spec.env }
    const child = this.bed.spawn(spec.host, process.execPath, args, { env, cwd: REPO_DIR, stdio: ['pipe', 'pipe', 'pipe'] })
    node.child = child
    node.startedAt = undefined
    node.pending = new Map()
    node.events = []
    child.stderr?.pipe(log, { end: false })
    const started = new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null): void => { reject(new Error(`${spec.name} exited (${code}) before it started\n${this.tail(spec.name)}`)) }
      child.once('exit', onExit)
      const done = (): void => {
        child.off('exit', onExit)
        node.startedAt = Date.now()
        resolve()
      }
      if (spec.kind === 'binary') {
        createInterface({ input: child.stderr! }).on('line', line => { if (node.startedAt == null && line.includes('"node started"')) done() })
        child.stdout?.pipe(log, { end: false })
      } else {
        createInterface({ input: child.stdout! }).on('line', line => {
          let msg: { id?: number, ok: boolean, value?: unknown, error?: string, event?: string }
          try { msg = JSON.parse(line) as typeof msg } catch { log.write(`stdout: ${line}\n`); return }
          if (msg.event != null) {
            node.events?.push(msg)
            if (msg.event === 'started') done()
            return
          }
          const cb = msg.id != null ? node.pending?.get(msg.id) : undefined
          if (cb != null) { node.pending?.delete(msg.id!); cb(msg) }
        })
      }
    })
    const timeout = new Promise<never>((_resolve, reject) => {
      setTimeout(() => { reject(new Error(`${spec.name} did not start within 60 s\n${this.tail(spec.name)}`)) }, 60_000).unref()
    })
    await Promise.race([started, timeout])
    this.log(`started ${spec.name} (${spec.role}, ${spec.kind}) at ${spec.host.address} as ${node.peerId}`)
  }

  /** Calls an agent's control op. */
  async call<T = unknown> (name: string, op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000 + Number(args.timeoutMs ?? 90_000)): Promise<T> {
    const node = this.node(name)
    if (node.spec.kind !== 'agent') throw new Error(`${name} is not an agent`)
    const child = node.child
    if (child?.stdin == null || child.exitCode != null) throw new Error(`${name} is not running`)
    const id = this.nextId++
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { node.pending?.delete(id); reject(new Error(`${name} ${op}: no answer in ${timeoutMs} ms`)) }, timeoutMs)
      node.pending?.set(id, (msg) => {
        clearTimeout(timer)
        if (msg.ok) resolve(msg.value as T)
        else reject(new Error(`${name} ${op}: ${msg.error ?? 'failed'}`))
      })
      child.stdin!.write(JSON.stringify({ id, op, args }) + '\n')
    })
  }

  /** GET a path of a node's HTTP API from inside its namespace (binaries and agents with an API). */
  async api<T> (name: string, path: string): Promise<T | undefined> {
    const node = this.node(name)
    const script = `fetch(${JSON.stringify(`http://127.0.0.1:${API_PORT}${path}`)}, { signal: AbortSignal.timeout(3000) })
  .then(async r => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()) }, () => process.exit(1))`
    const result = await this.bed.exec(node.spec.host, process.execPath, ['-e', script], { timeoutMs: 10_000 })
    if (result.code !== 0) return undefined
    try { return JSON.parse(result.stdout) as T } catch { return undefined }
  }

  /**
   * Stops a node: SIGTERM (drain, then exit) or SIGKILL. Resolves with the exit code and how long the
   * process took to exit; SIGKILL follows SIGTERM after `graceMs`.
   */
  async stop (name: string, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', graceMs = 15_000): Promise<{ code: number | null, ms: number, killed: boolean }> {
    const child = this.node(name).child
    if (child == null || child.exitCode != null || child.signalCode != null) return { code: child?.exitCode ?? null, ms: 0, killed: false }
    const t0 = Date.now()
    const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
    let killed = signal === 'SIGKILL'
    child.kill(signal)
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL') }, graceMs)
    try {
      const code = await exited
      return { code, ms: Date.now() - t0, killed }
    } finally {
      clearTimeout(timer)
    }
  }

  isRunning (name: string): boolean {
    const c = this.nodes.get(name)?.child
    return c != null && c.exitCode == null && c.signalCode == null
  }

  /** Runs a command in a host's namespace and fails when it fails. */
  async sh (host: Host, file: string, args: string[]): Promise<string> {
    const r = await this.bed.exec(host, file, args)
    if (r.code !== 0) throw new Error(`[${host.name}] ${file} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`)
    return r.stdout
  }

  /** Drops every packet in and out of a host's eth0 (a cut cable, as the far side sees it: silence). */
  async cutLink (host: Host): Promise<void> {
    await this.sh(host, 'iptables', ['-w', '-I', 'INPUT', '-i', 'eth0', '-j', 'DROP'])
    await this.sh(host, 'iptables', ['-w', '-I', 'OUTPUT', '-o', 'eth0', '-j', 'DROP'])
  }

  async restoreLink (host: Host): Promise<void> {
    await this.sh(host, 'iptables', ['-w', '-D', 'INPUT', '-i', 'eth0', '-j', 'DROP'])
    await this.sh(host, 'iptables', ['-w', '-D', 'OUTPUT', '-o', 'eth0', '-j', 'DROP'])
  }

  tail (name: string, lines = 30): string {
    const n = this.nodes.get(name)
    if (n == null || !existsSync(n.logFile)) return ''
    return `--- ${name}\n` + readFileSync(n.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  }

  tails (lines = 15): string {
    return [...this.nodes.keys()].map(n => this.tail(n, lines)).join('\n')
  }

  /** Stops every process, removes every namespace and the work dir (KEEP_RELIABILITY_LOGS=1 keeps it). */
  async teardown (): Promise<void> {
    await Promise.all([...this.nodes.keys()].map(async n => { await this.stop(n, 'SIGTERM', 3000).catch(() => {}) }))
    await this.bed.teardown()
    await Promise.all(this.logs.map(async s => await new Promise<void>(resolve => s.end(resolve))))
    if (process.env.KEEP_RELIABILITY_LOGS == null) rmSync(this.workDir, { recursive: true, force: true })
    else this.log(`logs kept in ${this.workDir}`)
  }
}

/** Polls `check` until it returns something other than undefined/false; fails after `timeoutMs` with `what` (and the last error). */
export async function poll<T> (what: string, timeoutMs: number, check: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 250): Promise<T> {
  return await waitFor(check, { what, timeoutMs, intervalMs: everyMs })
}

export interface AgentInfo {
  peerId: string
  addrs: string[]
  circuits: string[]
  watchdog?: { lost: number, regained: number, repairs: Record<string, number>, lastRecoveryMs?: number, missingSince?: number }
  rejections: { gossip: number, stream: number }
  workersKnown: Array<{ peerId: string, labels: Record<string, string>, freeSlots: number }>
  members: string[]
  unhandled: number
  rebootstraps: number
}

export interface ConnectionInfo { peer: string, addr: string, direction: string, limited: boolean, relayed: boolean, openedAt: number }

export interface TaskSummary {
  submitted: number
  succeeded: number
  ended: number
  notEnded: number
  byStatus: Record<string, number>
  completedTwice: number
  lateDuplicates: number
  retried: number
  p50?: number
  p95?: number
  max?: number
}

export { report } from './report.ts'
