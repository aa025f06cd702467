/**
 * Preloaded into benchmark child processes (`node --import ./bench/lib/probe.ts ...`): measures
 * event-loop delay (perf_hooks.monitorEventLoopDelay), event-loop utilisation and CPU time, and
 * answers `{ probe: 'read' }` messages on the IPC channel. It never keeps the process alive.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'

export interface ProbeStats {
  probe: 'stats'
  /** event-loop delay percentiles in ms */
  lagP50Ms: number
  lagP99Ms: number
  lagMaxMs: number
  /** event-loop utilisation 0..1 */
  elu: number
  /** CPU time (user + system) in ms */
  cpuMs: number
  /** wall time covered in ms */
  wallMs: number
  rssMiB: number
}

if (process.send != null) {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  let elu: EventLoopUtilization = performance.eventLoopUtilization()
  let cpu = process.cpuUsage()
  let since = performance.now()
  const reset = (): void => {
    histogram.reset()
    elu = performance.eventLoopUtilization()
    cpu = process.cpuUsage()
    since = performance.now()
  }
  process.on('message', (m: { probe?: string, reset?: boolean }) => {
    if (m?.probe === 'reset') { reset(); return }
    if (m?.probe !== 'read') return
    const c = process.cpuUsage(cpu)
    const stats: ProbeStats = {
      probe: 'stats',
      lagP50Ms: histogram.percentile(50) / 1e6,
      lagP99Ms: histogram.percentile(99) / 1e6,
      lagMaxMs: histogram.max / 1e6,
      elu: performance.eventLoopUtilization(elu).utilization,
      cpuMs: (c.user + c.system) / 1000,
      wallMs: performance.now() - since,
      rssMiB: process.memoryUsage.rss() / 1048576
    }
    process.send?.(stats)
    if (m.reset === true) reset()
  })
  process.channel?.unref()
}
