/**
 * Load driver behind `./stress-test.sh`: submits N tasks with C in flight through a node's HTTP API
 * (POST /api/v1/tasks?wait=true) and reports throughput, latency quantiles, retries and failures.
 *
 * By default it starts its own local network first, one process per node on 127.0.0.1 from
 * config/local/*.yaml (1 bootstrap, 1 relay, W workers), and submits through the bootstrap, which
 * has no capabilities, so every task crosses the network. With --api it drives a node that is
 * already running (stress-test.sh --cluster port-forwards one to 127.0.0.1). It only ever talks to
 * loopback addresses, and every loop is bounded by the task count and a deadline.
 *
 *   node --import tsx test/hosts/stress.ts [--tasks N] [--concurrency C] [--type T] [--payload P]
 *        [--requires a,b] [--workers W] [--api URL] [--token T] [--deadline 10m] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { CapabilityView, TaskView } from '../../src/node-api.ts'
import { REPO_DIR } from './local-network.ts'
import { freePort } from '../utils/processes.ts'

export interface StressOptions {
  tasks: number
  concurrency: number
  type: string
  payload: string
  requires?: string[]
  /** base URL of the node that takes the submissions (loopback only) */
  api: string
  token?: string
  /** the whole run ends (remaining tasks are not sent) after this long */
  deadlineMs: number
  /** per-request timeout */
  requestTimeoutMs: number
  /** nodes whose /metrics are summed for the retry/duplicate counters; default [api] */
  metricsUrls?: string[]
}

export interface StressReport {
  tasks: number
  sent: number
  succeeded: number
  failed: number
  /** terminal status (or "http_<code>" / "error") -> count, for everything that did not succeed */
  failures: Record<string, number>
  durationS: number
  throughputPerS: number
  latencyMs: { p50: number, p95: number, p99: number, max: number, mean: number }
  /** attempts beyond the first, from the tasks' own records */
  retries: number
  /** p2p_task_retries_total and p2p_task_duplicate_results_total increase over the run, summed over metricsUrls */
  metricRetries: number | undefined
  metricDuplicates: number | undefined
}

/** q-quantile (0..1) of sorted values, nearest-rank */
export function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1]!
}

/** Sum of every sample of a metric in Prometheus text format (all label sets). */
export function sumMetric (text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    const value = Number(line.trim().split(/\s+/).at(-1))
    if (Number.isFinite(value)) sum += value
  }
  return sum
}

export function assertLoopback (url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`${url}: the stress driver only talks to loopback addresses (port-forward a remote node to 127.0.0.1)`)
  }
}

async function scrape (urls: string[], name: string): Promise<number | undefined> {
  try {
    const texts = await Promise.all(urls.map(async url => {
      const res = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(5000) })
      if (!res.ok) throw new Error(`${res.status}`)
      return await res.text()
    }))
    return texts.reduce((sum, text) => sum + sumMetric(text, name), 0)
  } catch {
    return undefined
  }
}

export async function runStress (options: StressOptions, onProgress?: (done: number) => void): Promise<StressReport> {
  assertLoopback(options.api)
  const metricsUrls = options.metricsUrls ?? [options.api]
  for (const url of metricsUrls) assertLoopback(url)
  const retriesBefore = await scrape(metricsUrls, 'p2p_task_retries_total')
  const duplicatesBefore = await scrape(metricsUrls, 'p2p_task_duplicate_results_total')

  const submitUrl = new URL('/api/v1/tasks?wait=true', options.api)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.token != null && options.token !== '') headers.authorization = `Bearer ${options.token}`
  const body = JSON.stringify({ type: options.type, payload: options.payload, ...(options.requires != null ? { requires: options.requires } : {}) })

  const latencies: number[] = []
  const failures: Record<string, number> = {}
  let succeeded = 0
  let retries = 0
  let next = 0
  let sent = 0
  const started = performance.now()
  const deadline = Date.now() + options.deadlineMs
  const fail = (why: string): void => { failures[why] = (failures[why] ?? 0) + 1 }

  const lane = async (): Promise<void> => {
    while (next < options.tasks && Date.now() < deadline) {
      next++
      sent++
      const t0 = performance.now()
      try {
        const res = await fetch(submitUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(options.requestTimeoutMs) })
        const text = await res.text()
        const elapsed = performance.now() - t0
        if (!res.ok) { fail(`http_${res.status}`); continue }
        const task = JSON.parse(text) as TaskView
        latencies.push(elapsed)
        retries += Math.max(0, task.attempts - 1)
        if (task.status === 'succeeded') succeeded++
        else fail(task.status)
      } catch (err) {
        fail((err as Error).name === 'TimeoutError' ? 'client_timeout' : 'error')
      }
      onProgress?.(sent)
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.tasks) }, lane))
  const durationS = (performance.now() - started) / 1000

  const retriesAfter = await scrape(metricsUrls, 'p2p_task_retries_total')
  const duplicatesAfter = await scrape(metricsUrls, 'p2p_task_duplicate_results_total')
  const sorted = [...latencies].sort((a, b) => a - b)
  const round = (x: number): number => Math.round(x * 100) / 100
  return {
    tasks: options.tasks,
    sent,
    succeeded,
    failed: sent - succeeded,
    failures,
    durationS: round(durationS),
    throughputPerS: round(succeeded / durationS),
    latencyMs: {
      p50: round(quantile(sorted, 0.5)),
      p95: round(quantile(sorted, 0.95)),
      p99: round(quantile(sorted, 0.99)),
      max: round(sorted.at(-1) ?? NaN),
      mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length))
    },
    retries,
    metricRetries: retriesBefore != null && retriesAfter != null ? retriesAfter - retriesBefore : undefined,
    metricDuplicates: duplicatesBefore != null && duplicatesAfter != null ? duplicatesAfter - duplicatesBefore : undefined
  }
}

/** A local network of node processes on 127.0.0.1, from config/local/*.yaml. */
export class LocalProcessNetwork {
  readonly children: ChildProcess[] = []
  readonly apiUrls: Record<string, string> = {}
  private constructor (readonly dir: string) {}

  static async start (workers: number, log: (line: string) => void): Promise<LocalProcessNetwork> {
    const net = new LocalProcessNetwork(mkdtempSync(join(tmpdir(), 'p2p-stress-')))
    try {
      const bootstrapPort = await freePort()
      const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: net.dir, LOG_LEVEL: 'warn' }
      const nodes: Array<[name: string, role: string, env: NodeJS.ProcessEnv]> = [
        ['bootstrap', 'bootstrap', { P2P_LISTEN_PORT: String(bootstrapPort) }],
        ['relay', 'relay', {}],
        ...Array.from({ length: workers }, (_, i): [string, string, NodeJS.ProcessEnv] => [`worker-${i + 1}`, 'worker', {}])
      ]
      for (const [name, role, env] of nodes) {
        const apiPort = await freePort()
        const peers = role === 'bootstrap' ? {} : { P2P_BOOTSTRAP_PEERS: `/ip4/127.0.0.1/tcp/${bootstrapPort}` }
        const child = spawn(process.execPath, [join(REPO_DIR, 'bin/p2p-node.js'), 'run', '--config', join(REPO_DIR, 'config/local', `${role}.yaml`)], {
          cwd: REPO_DIR,
          env: { ...base, ...env, ...peers, P2P_API_PORT: String(apiPort), P2P_DATA_DIR: join(net.dir, name) },
          stdio: ['ignore', 'pipe', 'pipe']
        })
        const logFile = createWriteStream(join(net.dir, `${name}.log`))
        child.stdout?.pipe(logFile)
        child.stderr?.pipe(logFile)
        net.children.push(child)
        net.apiUrls[name] = `http://127.0.0.1:${apiPort}`
        // the bootstrap must listen before the others dial it
        if (role === 'bootstrap') await net.waitHealthy(name, 60_000)
      }
      await Promise.all(Object.keys(net.apiUrls).map(async name => { await net.waitHealthy(name, 60_000) }))
      log(`local network up: ${Object.keys(net.apiUrls).join(', ')} (logs in ${net.dir})`)
      return net
    } catch (err) {
      await net.stop()
      throw err
    }
  }

  async waitHealthy (name: string, timeoutMs: number): Promise<void> {
    const url = new URL('/healthz', this.apiUrls[name])
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      if (this.children.some(c => c.exitCode != null)) throw new Error(`a node exited during startup; see the logs in ${this.dir}\n${this.logTail(name)}`)
      try {
        if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return
      } catch { /* not up yet */ }
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    throw new Error(`${name} did not answer ${url.href} within ${timeoutMs} ms\n${this.logTail(name)}`)
  }

  logTail (name: string): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), 'utf8').trimEnd().split('\n').slice(-20).join('\n')
    } catch {
      return ''
    }
  }

  async stop (keepLogs = false): Promise<void> {
    await Promise.all(this.children.map(async child => {
      if (child.exitCode != null || child.signalCode != null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }))
    if (!keepLogs) rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Wait until the gateway knows `workers` other nodes that can run `type`. */
async function waitForWorkers (api: string, type: string, requires: string[], workers: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs
  let seen = 0
  while (Date.now() < until) {
    try {
      const res = await fetch(new URL('/api/v1/capabilities', api), { signal: AbortSignal.timeout(3000) })
      const table = await res.json() as CapabilityView[]
      seen = table.filter(c => !c.self && c.taskTypes.includes(type) && requires.every(r => c.capabilities.includes(r))).length
      if (seen >= workers) return seen
    } catch { /* not yet */ }
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  return seen
}

function parseDurationMs (text: string): number {
  const match = /^(\d+)(ms|s|m)?$/.exec(text)
  if (match == null) throw new Error(`bad duration ${text} (use 500ms, 30s, 10m)`)
  return Number(match[1]) * ({ ms: 1, s: 1000, m: 60_000 }[match[2] ?? 's'] ?? 1000)
}

async function main (): Promise<number> {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '32' },
      type: { type: 'string', default: 'compute' },
      payload: { type: 'string', default: 'hello' },
      requires: { type: 'string' },
      workers: { type: 'string', default: '3' },
      api: { type: 'string' },
      token: { type: 'string', default: process.env.P2P_API_TOKEN ?? '' },
      deadline: { type: 'string', default: '10m' },
      'request-timeout': { type: 'string', default: '120s' },
      'keep-logs': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    console.log('usage: node --import tsx test/hosts/stress.ts [--tasks N] [--concurrency C] [--type T] [--payload P] [--requires a,b] [--workers W] [--api URL] [--token T] [--deadline 10m] [--request-timeout 120s] [--keep-logs] [--json]')
    return 0
  }
  const count = (name: string, text: string, max: number): number => {
    const n = Number(text)
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number from 1 to ${max}`)
    return n
  }
  const tasks = count('tasks', values.tasks, 1_000_000)
  const concurrency = count('concurrency', values.concurrency, 1024)
  const workers = count('workers', values.workers, 16)
  const requires = values.requires?.split(',').map(s => s.trim()).filter(s => s !== '')
  const log = (line: string): void => { if (!values.json) console.log(`stress: ${line}`) }

  let net: LocalProcessNetwork | undefined
  let api = values.api
  if (api != null) assertLoopback(api)
  let ok = false
  try {
    if (api == null) {
      log(`starting a local network: 1 bootstrap, 1 relay, ${workers} workers (config/local/*.yaml)`)
      net = await LocalProcessNetwork.start(workers, log)
      api = net.apiUrls.bootstrap!
    }
    const want = net != null ? workers : 1
    const seen = await waitForWorkers(api, values.type, requires ?? [], want, 60_000)
    if (seen < want) throw new Error(`${api} knows ${seen} worker(s) that run ${values.type}, expected ${want}`)
    log(`${api} sees ${seen} worker(s) for ${values.type}; sending ${tasks} tasks, ${concurrency} at a time`)
    let lastReport = Date.now()
    const report = await runStress({
      tasks,
      concurrency,
      type: values.type,
      payload: values.payload,
      requires,
      api,
      token: values.token,
      deadlineMs: parseDurationMs(values.deadline),
      requestTimeoutMs: parseDurationMs(values['request-timeout']),
      metricsUrls: net != null ? Object.values(net.apiUrls) : [api]
    }, done => {
      if (Date.now() - lastReport > 5000) { lastReport = Date.now(); log(`${done}/${tasks} sent`) }
    })
    if (values.json) {
      console.log(JSON.stringify(report, null, 2))
    } else {
      const failures = Object.entries(report.failures).map(([k, v]) => `${k} ${v}`).join(', ')
      console.log([
        `tasks        ${report.sent} sent of ${report.tasks} (${values.type} "${values.payload}", concurrency ${concurrency})`,
        `throughput   ${report.throughputPerS} tasks/s over ${report.durationS} s`,
        `latency      p50 ${report.latencyMs.p50} ms  p95 ${report.latencyMs.p95} ms  p99 ${report.latencyMs.p99} ms  max ${report.latencyMs.max} ms  mean ${report.latencyMs.mean} ms`,
        `succeeded    ${report.succeeded}`,
        `failed       ${report.failed}${failures !== '' ? ` (${failures})` : ''}`,
        `retries      ${report.retries} (attempts beyond the first); p2p_task_retries_total +${report.metricRetries ?? '?'}`,
        `duplicates   p2p_task_duplicate_results_total +${report.metricDuplicates ?? '?'}`
      ].join('\n'))
    }
    ok = report.failed === 0 && report.sent === report.tasks
  } catch (err) {
    console.error(`stress: ${(err as Error).message}`)
  } finally {
    await net?.stop(values['keep-logs'])
  }
  return ok ? 0 : 1
}

// run as a script (stress-test.sh), not when imported
if (process.argv[1] != null && realpathSync(process.argv[1]) === import.meta.filename) {
  process.exitCode = await main()
}
