/**
 * Nodes as real processes (`bin/p2p-node.js run --config <tmp yaml>`) on 127.0.0.1, driven over
 * their HTTP API. Every process a test starts is registered with a ProcessNet and killed by its
 * `close()` (call it from `after`/`t.after`/finally), also when the test fails half-way; a
 * process killed or stopped by the test itself is handled too (SIGCONT before SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import type { NodeStatus, TaskView, SubmitRequest } from '../../src/node-api.ts'
import { waitFor } from './wait.ts'

export const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** Node 22 from the project (the system node may be older) */
export const NODE_BIN = join(REPO_DIR, 'node_modules/.bin/node')
export const CLI = join(REPO_DIR, 'bin/p2p-node.js')

/** A free TCP port on 127.0.0.1 (bound to port 0 and released; a race is possible but harmless in tests). */
export async function freePort (): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address != null ? address.port : 0
      server.close(() => { resolvePort(port) })
    })
  })
}

export type Role = 'bootstrap' | 'relay' | 'worker'

export interface NodeProcessInit {
  name: string
  role: Role
  /** bootstrap peers as host:port or multiaddrs */
  bootstrap?: string[]
  labels?: Record<string, string>
  /** handler specs as in YAML; default for workers: the devnet's builtins */
  handlers?: Record<string, unknown>
  slots?: number
  /** default: a free port picked now, kept across restarts */
  listenPort?: number
  apiPort?: number
  /** more YAML, merged section by section */
  extra?: Record<string, Record<string, unknown>>
  env?: Record<string, string>
}

const WORKER_HANDLERS = {
  compute: { builtin: 'sha256' },
  echo: { builtin: 'echo' },
  sleep: { builtin: 'sleep' },
  fail: { builtin: 'fail' }
}

export class NodeProcess {
  child?: ChildProcess
  /** stdout and stderr, the last lines, for failure messages */
  readonly output: string[] = []
  private exitPromise?: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stopped = false

  constructor (readonly init: Required<Pick<NodeProcessInit, 'name' | 'role'>> & NodeProcessInit, readonly configFile: string, readonly dataDir: string, readonly listenPort: number, readonly apiPort: number) {}

  get apiUrl (): string { return `http://127.0.0.1:${this.apiPort}` }
  get listenAddr (): string { return `127.0.0.1:${this.listenPort}` }
  get pid (): number | undefined { return this.child?.pid }
  get running (): boolean { return this.child != null && this.child.exitCode == null && this.child.signalCode == null }

  /** Starts (or restarts, with the same config, data dir and ports) the process. */
  start (): void {
    if (this.running) throw new Error(`${this.init.name} is already running`)
    this.stopped = false
    const child = spawn(NODE_BIN, [CLI, 'run', '--config', this.configFile], {
      cwd: REPO_DIR,
      env: { ...process.env, P2P_DRAIN_MS: '2000', ...this.init.env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.child = child
    this.exitPromise = new Promise(resolveExit => {
      child.once('exit', (code, signal) => { resolveExit({ code, signal }) })
    })
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue
        this.output.push(`[${this.init.name}] ${line}`)
        if (this.output.length > 200) this.output.shift()
      }
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
  }

  /** Resolves when the process has exited (at once if it is not running). */
  async exited (): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    return this.exitPromise ?? { code: null, signal: null }
  }

  signal (sig: NodeJS.Signals): void {
    if (!this.running) return
    this.child?.kill(sig)
    if (sig === 'SIGSTOP') this.stopped = true
    if (sig === 'SIGCONT') this.stopped = false
  }

  /** kill -9 and wait for the exit. */
  async kill (): Promise<void> {
    if (!this.running) return
    const exit = this.exited()
    this.child?.kill('SIGKILL')
    await exit
  }

  async waitForApi (timeoutMs = 60_000): Promise<NodeStatus> {
    return waitFor(async () => {
      if (!this.running) throw new Error(`${this.init.name} exited: ${this.tail()}`)
      return await this.get<NodeStatus>('/api/v1/status')
    }, { timeoutMs, intervalMs: 100, what: `${this.init.name}'s API on ${this.apiUrl}` })
  }

  async get<T> (path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  async submit (req: SubmitRequest): Promise<TaskView> {
    const body: Record<string, unknown> = { type: req.type, payload: req.payload }
    if (req.timeoutMs != null) body.timeout_ms = req.timeoutMs
    if (req.maxAttempts != null) body.max_attempts = req.maxAttempts
    if (req.selector != null) body.selector = req.selector
    return this.request<TaskView>('POST', '/api/v1/tasks', body)
  }

  async task (id: string): Promise<TaskView> {
    return this.get<TaskView>(`/api/v1/tasks/${id}`)
  }

  /** A Prometheus counter/gauge value from /metrics (sum over label sets); 0 when absent. */
  async metric (name: string): Promise<number> {
    const res = await fetch(`${this.apiUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`GET /metrics: ${res.status}`)
    let sum = 0
    for (const line of (await res.text()).split('\n')) {
      if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
    return sum
  }

  async request<T> (method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: body != null ? { 'content-type': 'application/json' } : {},
      body: body != null ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000)
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path} on ${this.init.name}: ${res.status} ${text}`)
    return JSON.parse(text) as T
  }

  tail (lines = 30): string {
    return this.output.slice(-lines).join('\n')
  }
}

/** Every child still running, killed if the test process exits without closing its ProcessNet. */
const live = new Set<NodeProcess>()
process.once('exit', () => {
  for (const p of live) {
    if (p.stopped) p.signal('SIGCONT')
    p.child?.kill('SIGKILL')
  }
})

/** Owns a temp directory and every process started in it; `close()` kills them all. */
export class ProcessNet {
  readonly procs: NodeProcess[] = []
  private dir?: string

  async tmp (): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'p2p-proc-test-'))
    return this.dir
  }

  /** Writes the node's config and starts it; does not wait for its API. */
  async start (init: NodeProcessInit): Promise<NodeProcess> {
    const dir = await this.tmp()
    const dataDir = join(dir, init.name)
    await mkdir(dataDir, { recursive: true })
    const listenPort = init.listenPort ?? await freePort()
    const apiPort = init.apiPort ?? await freePort()
    const isWorker = init.role === 'worker'
    const config: Record<string, Record<string, unknown>> = {
      node: {
        role: init.role,
        listen_host: '127.0.0.1',
        listen_port: listenPort,
        heartbeat_interval: 1,
        data_dir: dataDir,
        labels: init.labels ?? {},
        ...(init.extra?.node ?? {})
      },
      network: {
        bootstrap_peers: init.bootstrap ?? [],
        enable_mdns: false,
        connection_timeout: 10,
        rebootstrap_backoff: 1,
        ...(init.extra?.network ?? {})
      },
      tasks: {
        slots: init.slots ?? (isWorker ? 4 : 0),
        max_attempts: 3,
        ...(isWorker ? { handlers: init.handlers ?? WORKER_HANDLERS } : {}),
        ...(init.extra?.tasks ?? {})
      },
      api: { enabled: true, host: '127.0.0.1', port: apiPort, ...(init.extra?.api ?? {}) },
      log: { level: 'info', format: 'json', ...(init.extra?.log ?? {}) }
    }
    const configFile = join(dir, `${init.name}.yaml`)
    await writeFile(configFile, stringify(config))
    const proc = new NodeProcess({ ...init }, configFile, dataDir, listenPort, apiPort)
    this.procs.push(proc)
    live.add(proc)
    proc.start()
    return proc
  }

  /** Kills every process (a stopped one is continued first so the kill is not queued) and removes the directory. */
  async close (): Promise<void> {
    await Promise.all(this.procs.map(async p => {
      if (p.stopped) p.signal('SIGCONT')
      await p.kill().catch(() => {})
      live.delete(p)
    }))
    if (this.dir != null) await rm(this.dir, { recursive: true, force: true })
  }

  /** The last output of every process, for a failure message. */
  tails (lines = 15): string {
    return this.procs.map(p => p.tail(lines)).join('\n')
  }
}
