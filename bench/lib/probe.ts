/**
 * Preloaded into benchmark child processes (`node --import ./bench/lib/probe.ts ...`): measures
 * event-loop delay (perf_hooks.monitorEventLoopDelay), event-loop utilisation and CPU time, and
 * answers `{ probe: 'read' }` messages on the IPC channel. It never keeps the process alive.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'

/** the histogram records whole timer intervals; delay is what exceeds this */
export const RESOLUTION_MS = 10

export interface ProbeStats {
  probe: 'stats'
  /** event-loop delay percentiles in ms (beyond the 10 ms sampling interval) */
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
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
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
  let session: Session | undefined
  process.on('message', (m: { probe?: string, reset?: boolean, file?: string }) => {
    if (m?.probe === 'reset') { reset(); return }
    // a CPU profile of exactly the measured phase (--cpu-prof would include startup)
    if (m?.probe === 'profile-start') {
      session ??= new Session()
      session.connect()
      session.post('Profiler.enable', () => {
        session?.post('Profiler.setSamplingInterval', { interval: 1000 }, () => {
          session?.post('Profiler.start', () => { process.send?.({ probe: 'profile-started' }) })
        })
      })
      return
    }
    if (m?.probe === 'profile-stop') {
      session?.post('Profiler.stop', (err, res) => {
        if (err == null && m.file != null) writeFileSync(m.file, JSON.stringify(res.profile))
        session?.disconnect()
        session = undefined
        process.send?.({ probe: 'profile-stopped', file: m.file })
      })
      return
    }
    if (m?.probe !== 'read') return
    const c = process.cpuUsage(cpu)
    const stats: ProbeStats = {
      probe: 'stats',
      lagP50Ms: Math.max(0, histogram.percentile(50) / 1e6 - RESOLUTION_MS),
      lagP99Ms: Math.max(0, histogram.percentile(99) / 1e6 - RESOLUTION_MS),
      lagMaxMs: Math.max(0, histogram.max / 1e6 - RESOLUTION_MS),
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
