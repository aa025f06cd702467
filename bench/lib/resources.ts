/**
 * What a measured phase cost: CPU and event-loop delay of the bench process (which hosts the p2p
 * gateway or the BullMQ producer), of every worker, of redis-server, and the CPU that processes
 * outside the benchmark used meanwhile (a shared 2-core machine makes that matter). Optionally a
 * CPU profile of the bench process and the first worker for exactly the phase.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Child } from './procs.ts'
import type { ProbeStats } from './probe.ts'
import type { SelfProbe } from './self-probe.ts'

export interface LoopReport { cpuPct: number, elu: number, lagP50Ms: number, lagP99Ms: number, lagMaxMs: number }

export interface ResourceReport {
  wallMs: number
  /** the bench process: the p2p gateway, or BullMQ's producer and QueueEvents */
  submitter: LoopReport
  /** mean over workers, and the worst worker's p99/max delay */
  workers: LoopReport & { cpuPctMax: number, count: number }
  redisCpuPct?: number
  /** CPU (in cores) used by processes outside the benchmark during the phase */
  backgroundCores: number
  profiles?: string[]
}

/** Busy CPU ticks of the whole machine (user+nice+system+irq+softirq+steal), in ms. */
function machineBusyMs (): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f
  return (user + nice + system + irq + softirq + steal) * 10
}

export interface MonitorInit {
  self: SelfProbe
  workers: readonly Child[]
  redis?: Child
  /** write CPU profiles of the bench process and the first worker here, named with `label` */
  profileDir?: string
  label: string
}

export class ResourceMonitor {
  private t0 = 0
  private busy0 = 0
  private cpu0 = new Map<Child, number>()
  private self0 = process.cpuUsage()

  constructor (private readonly init: MonitorInit) {}

  private all (): Child[] { return [...this.init.workers, ...(this.init.redis != null ? [this.init.redis] : [])] }

  async start (): Promise<void> {
    const { self, workers, profileDir } = this.init
    if (profileDir != null) {
      await self.profileStart()
      await workers[0]?.profileStart()
    }
    self.reset()
    for (const w of workers) w.probeReset()
    this.cpu0 = new Map(this.all().map(c => [c, c.cpuMs()]))
    this.self0 = process.cpuUsage()
    this.busy0 = machineBusyMs()
    this.t0 = performance.now()
  }

  async stop (): Promise<ResourceReport> {
    const { self, workers, redis, profileDir, label } = this.init
    const wallMs = performance.now() - this.t0
    const busy = machineBusyMs() - this.busy0
    const selfCpu = process.cpuUsage(this.self0)
    const cpu = new Map(this.all().map(c => [c, c.cpuMs() - (this.cpu0.get(c) ?? Number.NaN)]))
    const ours = (selfCpu.user + selfCpu.system) / 1000 + [...cpu.values()].filter(Number.isFinite).reduce((a, b) => a + b, 0)
    const me = self.read()
    const probes = (await Promise.all(workers.map(async w => w.probe(false)))).filter((p): p is ProbeStats => p != null)
    const pct = (ms: number): number => 100 * ms / wallMs
    const workerCpu = workers.map(w => pct(cpu.get(w) ?? Number.NaN)).filter(Number.isFinite)
    const mean = (xs: number[]): number => xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length
    const report: ResourceReport = {
      wallMs,
      submitter: { cpuPct: pct(me.cpuMs), elu: me.elu, lagP50Ms: me.lagP50Ms, lagP99Ms: me.lagP99Ms, lagMaxMs: me.lagMaxMs },
      workers: {
        count: workers.length,
        cpuPct: mean(workerCpu),
        cpuPctMax: Math.max(...workerCpu),
        elu: mean(probes.map(p => p.elu)),
        lagP50Ms: mean(probes.map(p => p.lagP50Ms)),
        lagP99Ms: Math.max(...probes.map(p => p.lagP99Ms)),
        lagMaxMs: Math.max(...probes.map(p => p.lagMaxMs))
      },
      ...(redis != null ? { redisCpuPct: pct(cpu.get(redis) ?? Number.NaN) } : {}),
      backgroundCores: Math.max(0, busy - ours) / wallMs
    }
    if (profileDir != null) {
      const files = [join(profileDir, `${label}-submitter.cpuprofile`), join(profileDir, `${label}-worker0.cpuprofile`)]
      await self.profileStop(files[0] as string)
      if (workers[0] != null) await workers[0].profileStop(files[1] as string)
      report.profiles = workers[0] != null ? files : files.slice(0, 1)
    }
    return report
  }
}
