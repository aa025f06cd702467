/**
 * Child processes of a benchmark: spawned, watched and always stopped, also when the run fails or
 * is interrupted (every child is killed on exit, SIGINT and SIGTERM). Reads RSS and CPU time from
 * /proc, and talks to the probe (lib/probe.ts) preloaded into children over IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import type { ProbeStats } from './probe.ts'

export interface SpawnInit {
  name: string
  /** the script and its arguments (run with this Node, process.execPath) */
  args: string[]
  /** Node flags before the script, e.g. ['--cpu-prof'] */
  execArgv?: string[]
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** open an IPC channel (needed by the probe) */
  ipc?: boolean
  /** run this file instead of Node (e.g. redis-server) */
  command?: string
}

const live = new Set<Child>()
let handlersInstalled = false

function installHandlers (): void {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on('exit', () => { for (const c of live) c.killNow() })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)\n`)
      for (const c of live) c.killNow()
      process.exit(130)
    })
  }
}

export class Child {
  readonly name: string
  readonly proc: ChildProcess
  /** performance.now() just before spawn */
  readonly spawnedAt: number
  readonly exited: Promise<number | null>
  exitCode: number | null | undefined
  private readonly tail: string[] = []
  private readonly lineWatchers = new Set<(line: string, at: number) => void>()
  private probeWaiters: Array<(s: ProbeStats) => void> = []
  private readonly replyWaiters = new Map<string, Array<() => void>>()

  constructor (init: SpawnInit) {
    installHandlers()
    this.name = init.name
    const stdio: Array<'ignore' | 'pipe' | 'ipc'> = ['ignore', 'pipe', 'pipe']
    if (init.ipc === true) stdio.push('ipc')
    this.spawnedAt = performance.now()
    this.proc = init.command != null
      ? spawn(init.command, init.args, { stdio, env: init.env ?? process.env, cwd: init.cwd })
      : spawn(process.execPath, [...(init.execArgv ?? []), ...init.args], { stdio, env: init.env ?? process.env, cwd: init.cwd })
    live.add(this)
    this.exited = new Promise(resolve => {
      this.proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal != null ? -1 : null)
        live.delete(this)
        resolve(code)
      })
      this.proc.once('error', (err) => {
        this.onLine(`spawn error: ${err.message}`)
        this.exitCode = -1
        live.delete(this)
        resolve(-1)
      })
    })
    for (const s of [this.proc.stdout, this.proc.stderr]) {
      if (s == null) continue
      createInterface({ input: s }).on('line', line => { this.onLine(line) })
    }
    this.proc.on('message', (m: unknown) => {
      const msg = m as { probe?: string } & ProbeStats
      if (msg?.probe === 'stats') for (const w of this.probeWaiters.splice(0)) w(msg)
      else if (msg?.probe != null) for (const w of this.replyWaiters.get(msg.probe)?.splice(0) ?? []) w()
    })
  }

  get pid (): number { return this.proc.pid ?? -1 }
  get running (): boolean { return this.exitCode === undefined }

  private onLine (line: string): void {
    const at = performance.now()
    this.tail.push(line)
    if (this.tail.length > 200) this.tail.shift()
    for (const w of this.lineWatchers) w(line, at)
  }

  /** The last lines the child printed (for error messages). */
  lastLines (n = 20): string { return this.tail.slice(-n).join('\n') }

  /** Resolves with the first line (already printed or future) matching `re` and when it was read. */
  async waitForLine (re: RegExp, timeoutMs: number): Promise<{ line: string, at: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { done(); reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms; last output:\n${this.lastLines()}`)) }, timeoutMs)
      const watcher = (line: string, at: number): void => {
        if (re.test(line)) { done(); resolve({ line, at }) }
      }
      const onExit = (): void => { done(); reject(new Error(`${this.name} exited (${this.exitCode}) before printing ${re}; last output:\n${this.lastLines()}`)) }
      const done = (): void => { clearTimeout(timer); this.lineWatchers.delete(watcher); this.proc.off('exit', onExit) }
      this.lineWatchers.add(watcher)
      this.proc.once('exit', onExit)
    })
  }

  /** Event-loop delay, utilisation and CPU since the last reset, from the preloaded probe. */
  async probe (reset = true): Promise<ProbeStats | undefined> {
    if (!this.running || this.proc.channel == null) return undefined
    const stats = new Promise<ProbeStats | undefined>(resolve => {
      const timer = setTimeout(() => { resolve(undefined) }, 2000)
      this.probeWaiters.push(s => { clearTimeout(timer); resolve(s) })
    })
    this.proc.send({ probe: 'read', reset })
    return stats
  }

  /** Starts the probe's CPU profiler (resolves once it runs). */
  async profileStart (): Promise<void> { await this.request({ probe: 'profile-start' }, 'profile-started') }

  /** Stops the probe's CPU profiler and writes the .cpuprofile to `file`. */
  async profileStop (file: string): Promise<void> { await this.request({ probe: 'profile-stop', file }, 'profile-stopped') }

  private async request (msg: Record<string, unknown>, reply: string): Promise<void> {
    if (!this.running || this.proc.channel == null) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, 10_000)
      const list = this.replyWaiters.get(reply) ?? []
      list.push(() => { clearTimeout(timer); resolve() })
      this.replyWaiters.set(reply, list)
      this.proc.send(msg)
    })
  }

  probeReset (): void {
    if (this.running && this.proc.channel != null) this.proc.send({ probe: 'reset' })
  }

  /** Sends `signal`, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop (signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!this.running) return
    this.proc.kill(signal)
    const timer = setTimeout(() => { this.proc.kill('SIGKILL') }, graceMs)
    await this.exited
    clearTimeout(timer)
  }

  killNow (): void {
    if (this.running) {
      try { this.proc.kill('SIGKILL') } catch { /* gone */ }
    }
  }

  rssKiB (): number { return readRssKiB(this.pid) }
  cpuMs (): number { return readCpuMs(this.pid) }
}

/** Stops every child still running (SIGTERM, then SIGKILL after graceMs). */
export async function stopAll (children: readonly Child[], graceMs = 5000): Promise<void> {
  await Promise.all(children.map(async c => c.stop('SIGTERM', graceMs)))
}

export function liveChildren (): number { return live.size }

/** VmRSS of a process in KiB (NaN if it is gone). */
export function readRssKiB (pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m?.[1] != null ? Number(m[1]) : Number.NaN
  } catch {
    return Number.NaN
  }
}

const CLK_TCK = 100

/** User + system CPU time of a process in ms (NaN if it is gone). */
export function readCpuMs (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (Number(fields[11]) + Number(fields[12])) * 1000 / CLK_TCK
  } catch {
    return Number.NaN
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr != null ? addr.port : 0
      srv.close(() => { resolve(port) })
    })
  })
}
