/**
 * The bench process's own measurements (it hosts the p2p gateway or the BullMQ producer): event-loop
 * delay and utilisation, CPU time, and a CPU profile of exactly the measured phase.
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'
import { RESOLUTION_MS, type ProbeStats } from './probe.ts'

export class SelfProbe {
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  private elu: EventLoopUtilization = performance.eventLoopUtilization()
  private cpu = process.cpuUsage()
  private since = performance.now()
  private session?: Session

  constructor () { this.histogram.enable() }

  reset (): void {
    this.histogram.reset()
    this.elu = performance.eventLoopUtilization()
    this.cpu = process.cpuUsage()
    this.since = performance.now()
  }

  read (): ProbeStats {
    const c = process.cpuUsage(this.cpu)
    return {
      probe: 'stats',
      lagP50Ms: Math.max(0, this.histogram.percentile(50) / 1e6 - RESOLUTION_MS),
      lagP99Ms: Math.max(0, this.histogram.percentile(99) / 1e6 - RESOLUTION_MS),
      lagMaxMs: Math.max(0, this.histogram.max / 1e6 - RESOLUTION_MS),
      elu: performance.eventLoopUtilization(this.elu).utilization,
      cpuMs: (c.user + c.system) / 1000,
      wallMs: performance.now() - this.since,
      rssMiB: process.memoryUsage.rss() / 1048576
    }
  }

  async profileStart (): Promise<void> {
    this.session = new Session()
    this.session.connect()
    await this.session.post('Profiler.enable')
    await this.session.post('Profiler.setSamplingInterval', { interval: 1000 })
    await this.session.post('Profiler.start')
  }

  async profileStop (file: string): Promise<void> {
    if (this.session == null) return
    const { profile } = await this.session.post('Profiler.stop')
    await writeFile(file, JSON.stringify(profile))
    this.session.disconnect()
    this.session = undefined
  }

  stop (): void { this.histogram.disable() }
}
