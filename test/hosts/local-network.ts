/**
 * The Kubernetes deployment, rebuilt as hosts in network namespaces: a bootstrap and a relay on the
 * WAN, workers behind a NAT router, each started from the same config/*.yaml the ConfigMaps carry,
 * with the same environment the Deployments set (P2P_ANNOUNCE from the "pod IP", identity keys in
 * files) and the Service DNS names resolving through each namespace's /etc/hosts.
 *
 * Used by `./test.sh --local` (test/hosts/local-smoke.ts) and test/e2e/local-hosts.test.ts.
 */
import { execFile } from 'node:child_process'
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, type WriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { ChildProcess } from 'node:child_process'
import type { NodeStatus, PeerView, Role, TaskView } from '../../src/node-api.ts'
import type { CommandResult, Host, Router, Testbed } from './netns.ts'

const execFileAsync = promisify(execFile)

export const REPO_DIR = resolve(import.meta.dirname, '../..')
/** the names the Services get in the net-test namespace */
export const SERVICE_NAMES = {
  bootstrap: 'p2p-bootstrap.net-test.svc.cluster.local',
  relay: 'p2p-relay.net-test.svc.cluster.local',
  workers: 'p2p-workers.net-test.svc.cluster.local'
} as const
/** sha256("hello"), what `task compute hello` answers */
export const HELLO_DIGEST = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'
const P2P_PORT = 4001
const API_PORT = 8080
const API_URL = `http://127.0.0.1:${API_PORT}`

export interface LocalNetworkInit {
  /** workers behind the NAT router; default 1 */
  workers?: number
  /** put the workers on the WAN instead of behind NAT; default false */
  publicWorkers?: boolean
  /** where keys, data dirs and logs go; default a new directory under the OS temp dir */
  workDir?: string
  /** progress lines */
  log?: (line: string) => void
  /** extra environment for every node (e.g. LOG_LEVEL) */
  env?: NodeJS.ProcessEnv
}

export interface NetworkNode {
  readonly name: string
  readonly role: Role
  readonly host: Host
  /** config/<role>.yaml in the repository, as mounted at /app/config.yaml in a pod */
  readonly config: string
  /** the environment the node runs with (the Deployment's env, plus paths for this machine) */
  readonly env: NodeJS.ProcessEnv
  readonly logFile: string
  peerId?: string
  child?: ChildProcess
}

/** The node command line: bin/p2p-node.js runs src/main.ts through tsx in a checkout. */
function nodeCommand (...args: string[]): [string, string[]] {
  return [process.execPath, [join(REPO_DIR, 'bin/p2p-node.js'), ...args]]
}

/** Environment a child starts from: PATH and locale only, never the caller's P2P_* settings. */
function baseEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const key of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) {
    const value = process.env[key]
    if (value !== undefined) env[key] = value
  }
  return env
}

export class LocalNetwork {
  readonly nodes: NetworkNode[] = []
  readonly workDir: string
  private readonly ownWorkDir: boolean
  private readonly logStreams: WriteStream[] = []
  private readonly log: (line: string) => void

  private constructor (readonly bed: Testbed, init: LocalNetworkInit) {
    this.ownWorkDir = init.workDir == null
    this.workDir = init.workDir ?? mkdtempSync(join(tmpdir(), 'p2p-local-hosts-'))
    this.log = init.log ?? (() => {})
  }

  get bootstrap (): NetworkNode { return this.node('bootstrap') }
  get relay (): NetworkNode { return this.node('relay') }
  get workers (): NetworkNode[] { return this.nodes.filter(n => n.role === 'worker') }

  node (name: string): NetworkNode {
    const node = this.nodes.find(n => n.name === name)
    if (node == null) throw new Error(`no node ${name}`)
    return node
  }

  /**
   * Build the hosts, write keys and /etc/hosts, start bootstrap, relay and workers, and wait until
   * every API answers /healthz. Call {@link stop} (and the testbed's teardown) in a finally.
   */
  static async start (bed: Testbed, init: LocalNetworkInit = {}): Promise<LocalNetwork> {
    const net = new LocalNetwork(bed, init)
    const workers = init.workers ?? 1
    const keysDir = join(net.workDir, 'keys')
    mkdirSync(keysDir, { recursive: true })

    const bootstrapHost = await bed.addWanHost('bootstrap')
    const relayHost = await bed.addWanHost('relay')
    let router: Router | undefined
    const workerHosts: Host[] = []
    for (let i = 1; i <= workers; i++) {
      if (init.publicWorkers === true) {
        workerHosts.push(await bed.addWanHost(`worker-${i}`))
      } else {
        router ??= await bed.addNatRouter('nat')
        workerHosts.push(await bed.addNatedHost(`worker-${i}`, router))
      }
    }
    bed.writeHostsFiles({
      [SERVICE_NAMES.bootstrap]: bootstrapHost.address,
      [SERVICE_NAMES.relay]: relayHost.address,
      [SERVICE_NAMES.workers]: workerHosts.map(h => h.address)
    })

    const common = { ...baseEnv(), ...init.env }
    const add = (name: string, role: Role, host: Host, env: NodeJS.ProcessEnv): NetworkNode => {
      const dir = join(net.workDir, name)
      mkdirSync(join(dir, 'data'), { recursive: true })
      const node: NetworkNode = {
        name,
        role,
        host,
        config: join(REPO_DIR, 'config', `${role}.yaml`),
        env: { ...common, HOME: dir, P2P_DATA_DIR: join(dir, 'data'), ...env },
        logFile: join(dir, 'node.log')
      }
      net.nodes.push(node)
      return node
    }
    // as in k8s/bootstrap/deployment.yaml and k8s/relay/deployment.yaml: a key from a Secret, the
    // Service name and the pod IP announced
    await Promise.all(([['bootstrap', bootstrapHost], ['relay', relayHost]] as const).map(async ([role, host]) => {
      const keyFile = join(keysDir, `${role}.key`)
      const node = add(role, role, host, {
        P2P_IDENTITY_FILE: keyFile,
        P2P_ANNOUNCE: `/dns4/${SERVICE_NAMES[role]}/tcp/${P2P_PORT},/ip4/${host.address}/tcp/${P2P_PORT}`
      })
      node.peerId = await keygen(keyFile)
    }))
    // as in k8s/worker/deployment.yaml: P2P_ANNOUNCE=/ip4/$(POD_IP)/tcp/4001
    workerHosts.forEach((host, i) => add(`worker-${i + 1}`, 'worker', host, {
      P2P_ANNOUNCE: `/ip4/${host.address}/tcp/${P2P_PORT}`
    }))

    try {
      // the bootstrap first, so the others find it on their first dial
      const [first, ...rest] = net.nodes
      net.spawnNode(first!)
      await net.waitHealthy(first!)
      for (const node of rest) net.spawnNode(node)
      await Promise.all(rest.map(async node => { await net.waitHealthy(node) }))
    } catch (err) {
      await net.stop()
      throw err
    }
    return net
  }

  /** GET a path of a node's API from inside its namespace; the parsed JSON body, or undefined when it does not answer 2xx. */
  async api<T> (node: NetworkNode, path: string): Promise<T | undefined> {
    const script = `fetch(${JSON.stringify(API_URL + path)}, { signal: AbortSignal.timeout(3000) })
  .then(async r => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()) }, () => process.exit(1))`
    const result = await this.bed.exec(node.host, process.execPath, ['-e', script], { timeoutMs: 10_000 })
    if (result.code !== 0) return undefined
    try {
      return JSON.parse(result.stdout) as T
    } catch {
      return undefined
    }
  }

  /** Run a one-shot p2p-node command inside a node's namespace, as `kubectl exec` would in its pod. */
  async cli (node: NetworkNode, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
    const [file, argv] = nodeCommand(...args, '--config', node.config)
    this.log(`[${node.name}] p2p-node ${args.join(' ')} --config ${node.config}`)
    return await this.bed.exec(node.host, file, argv, { env: node.env, timeoutMs, cwd: REPO_DIR })
  }

  /** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs` with `what`. */
  async waitFor<T> (what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = await check()
      if (value !== undefined) return value
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.logTails()}`)
      for (const node of this.nodes) {
        if (node.child != null && node.child.exitCode != null) {
          throw new Error(`${node.name} exited with code ${node.child.exitCode} while waiting for ${what}\n${this.logTails()}`)
        }
      }
      await new Promise(resolve => setTimeout(resolve, intervalMs))
    }
  }

  async waitHealthy (node: NetworkNode, timeoutMs = 60_000): Promise<void> {
    await this.waitFor(`${node.name} to answer /healthz`, timeoutMs, async () => await this.api(node, '/healthz'))
    this.log(`${node.name} is up (${node.host.address})`)
  }

  /** The peers a node knows, from its API. */
  async peers (node: NetworkNode): Promise<PeerView[]> {
    return await this.api<PeerView[]>(node, '/api/v1/peers') ?? []
  }

  /** The last lines of every node's log, for failure messages. */
  logTails (lines = 25): string {
    return this.nodes.map(node => {
      const text = existsSync(node.logFile) ? readFileSync(node.logFile, 'utf8') : ''
      const tail = text.trimEnd().split('\n').slice(-lines).join('\n')
      return `--- ${node.name} (${node.host.address}) ${node.logFile}\n${tail}`
    }).join('\n')
  }

  /** SIGTERM every node (they drain and exit), then close the logs; removes the work dir if it made it. */
  async stop (): Promise<void> {
    await Promise.all(this.nodes.map(async node => {
      if (node.child != null) await this.bed.stop(node.child, 10_000)
    }))
    await Promise.all(this.logStreams.map(async s => await new Promise<void>(resolve => s.end(resolve))))
    this.logStreams.length = 0
    if (this.ownWorkDir && process.env.KEEP_LOCAL_HOSTS_LOGS == null) rmSync(this.workDir, { recursive: true, force: true })
  }

  private spawnNode (node: NetworkNode): void {
    const [file, argv] = nodeCommand('--config', node.config)
    const log = createWriteStream(node.logFile)
    this.logStreams.push(log)
    // no stdin, as in a pod (the Deployments set no `stdin: true`)
    const child = this.bed.spawn(node.host, file, argv, { env: node.env, cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.pipe(log, { end: false })
    child.stderr?.pipe(log, { end: false })
    node.child = child
    this.log(`started ${node.name} (${node.role}) in ${node.host.ns}`)
  }
}

/** `p2p-node keygen --out FILE`: writes an identity key, answers the peer ID. */
export async function keygen (file: string): Promise<string> {
  const [cmd, argv] = nodeCommand('keygen', '--out', file)
  const { stdout } = await execFileAsync(cmd, argv, { cwd: REPO_DIR, env: baseEnv(), timeout: 60_000 })
  const peerId = stdout.trim().split(/\s+/).find(word => /^(12D3Koo|Qm)[1-9A-HJ-NP-Za-km-z]+$/.test(word))
  if (peerId == null) throw new Error(`p2p-node keygen printed no peer ID: ${stdout}`)
  return peerId
}

/** Find the value in a command's --json output: the parsed JSON, or undefined. */
export function parseJson<T> (stdout: string): T | undefined {
  try {
    return JSON.parse(stdout) as T
  } catch {
    return undefined
  }
}

export interface SmokeResult {
  fromWorker: TaskView
  fromBootstrap: TaskView
  workerPeers: PeerView[]
}

/**
 * The same smoke test as `./test.sh --cluster`: on a worker, `peers` lists a bootstrap and a relay,
 * and `task compute hello` answers sha256("hello"); then the bootstrap (no compute capability, on
 * the WAN) submits the same task, which must reach a worker behind the NAT.
 */
export async function smokeTest (net: LocalNetwork, log: (line: string) => void = () => {}): Promise<SmokeResult> {
  const worker = net.workers[0]
  if (worker == null) throw new Error('the network has no worker')

  await net.waitFor('the worker to know a bootstrap and a relay peer', 90_000, async () => {
    const roles = new Set((await net.peers(worker)).map(p => p.role))
    return roles.has('bootstrap') && roles.has('relay') ? true : undefined
  })
  const peersOut = await net.cli(worker, ['peers', '--json'])
  if (peersOut.code !== 0) throw new Error(`p2p-node peers exited ${peersOut.code}: ${peersOut.stderr}${peersOut.stdout}`)
  const workerPeers = parseJson<PeerView[]>(peersOut.stdout)
  if (!Array.isArray(workerPeers)) throw new Error(`p2p-node peers --json printed no list: ${peersOut.stdout}`)
  for (const role of ['bootstrap', 'relay'] as const) {
    const peer = workerPeers.find(p => p.role === role)
    if (peer == null) throw new Error(`p2p-node peers on ${worker.name} lists no ${role}: ${peersOut.stdout}`)
    const expected = net.node(role).peerId
    if (expected != null && peer.peerId !== expected) throw new Error(`the ${role} peer is ${peer.peerId}, its key says ${expected}`)
  }
  log(`peers on ${worker.name}: ${workerPeers.map(p => `${p.role ?? '?'} ${p.peerId}`).join(', ')}`)

  const runTask = async (node: NetworkNode): Promise<TaskView> => {
    const out = await net.cli(node, ['task', 'compute', 'hello', '--json'], 120_000)
    const task = parseJson<TaskView>(out.stdout)
    if (out.code !== 0 || task == null) throw new Error(`task compute hello on ${node.name} exited ${out.code}: ${out.stdout}${out.stderr}\n${net.logTails()}`)
    if (task.status !== 'succeeded' || task.result !== HELLO_DIGEST) {
      throw new Error(`task compute hello on ${node.name}: status ${task.status}, result ${task.result ?? '(none)'}, expected ${HELLO_DIGEST}\n${net.logTails()}`)
    }
    log(`task compute hello from ${node.name}: ${task.result} (worker ${task.worker ?? '?'}, ${task.attempts} attempt(s))`)
    return task
  }
  const status = await net.api<NodeStatus>(worker, '/api/v1/status')
  log(`${worker.name} (${worker.host.kind}) relay reservations: ${status?.relayReservations.join(', ') || 'none'}`)
  const fromWorker = await runTask(worker)
  const fromBootstrap = await runTask(net.bootstrap)
  return { fromWorker, fromBootstrap, workerPeers }
}
