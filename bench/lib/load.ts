/**
 * Load generators over a TaskSystem: burst, closed loop, open loop and serial. Latency is measured
 * from the submit call (open loop: from the intended send time, so a stalled system cannot hide
 * queueing delay) to the moment the result is back at the submitter.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { percentiles, type Percentiles } from './stats.ts'
import type { TaskSystem } from './system.ts'

export interface LoadResult {
  submitted: number
  succeeded: number
  /** ended, but not successfully */
  failed: number
  /** submit() threw */
  rejected: number
  /** submitted and never ended before the deadline */
  lost: number
  completedTwice: number
  elapsedMs: number
  /** succeeded tasks per second, first submit to last result */
  throughput: number
  /** submit-to-result latency of succeeded tasks, ms */
  latency: Percentiles
  /** open loop: tasks submitted per second actually achieved */
  offeredRate?: number
  /** the first submit error, if any */
  firstError?: string
  /** how the tasks that did not succeed ended (status -> count) */
  statuses: Record<string, number>
}

interface Rec { start: number, end: number, ok: boolean, ended: boolean, rejected: boolean, status?: string }

class Tracker {
  readonly recs: Rec[] = []
  firstError?: string
  private readonly pending = new Set<Promise<void>>()

  /** Submits one task; the returned promise resolves when it ended (never rejects). */
  track (sys: TaskSystem, start = performance.now()): Promise<void> {
    const rec: Rec = { start, end: Number.NaN, ok: false, ended: false, rejected: false }
    this.recs.push(rec)
    const p = sys.submit().then(async s => s.done).then(o => {
      rec.end = o.at
      rec.ok = o.ok
      rec.status = o.status
      rec.ended = true
    }, (err: unknown) => {
      rec.rejected = true
      this.firstError ??= err instanceof Error ? err.message : String(err)
    })
    this.pending.add(p)
    void p.finally(() => { this.pending.delete(p) })
    return p
  }

  /** Waits for every tracked task to end, or the deadline. */
  async settle (timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (this.pending.size > 0 && performance.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.pending]), sleep(Math.min(1000, Math.max(1, deadline - performance.now())))])
    }
  }

  result (sys: TaskSystem, twiceBefore: number, extra: Partial<LoadResult> = {}): LoadResult {
    const ok = this.recs.filter(r => r.ended && r.ok)
    const first = Math.min(...this.recs.map(r => r.start))
    const last = Math.max(...this.recs.filter(r => r.ended).map(r => r.end))
    const elapsedMs = Number.isFinite(last) ? last - first : Number.NaN
    const statuses: Record<string, number> = {}
    for (const r of this.recs) {
      if (r.ok) continue
      const k = r.rejected ? 'rejected' : r.ended ? (r.status ?? 'unknown') : 'unfinished'
      statuses[k] = (statuses[k] ?? 0) + 1
    }
    return {
      statuses,
      submitted: this.recs.filter(r => !r.rejected).length,
      succeeded: ok.length,
      failed: this.recs.filter(r => r.ended && !r.ok).length,
      rejected: this.recs.filter(r => r.rejected).length,
      lost: this.recs.filter(r => !r.ended && !r.rejected).length,
      completedTwice: sys.completedTwice() - twiceBefore,
      elapsedMs,
      throughput: ok.length / (elapsedMs / 1000),
      latency: percentiles(ok.map(r => r.end - r.start)),
      ...(this.firstError != null ? { firstError: this.firstError } : {}),
      ...extra
    }
  }
}

/** A short closed loop so JIT, streams and Redis scripts are warm before measuring. */
export async function warmup (sys: TaskSystem, n: number, concurrency = 16, timeoutMs = 30_000): Promise<void> {
  if (n <= 0) return
  const t = new Tracker()
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < n) { next++; await t.track(sys) }
  }
  await Promise.race([Promise.all(Array.from({ length: concurrency }, lane)), sleep(timeoutMs)])
}

/** `n` tasks submitted at once (without waiting for any submit to finish). */
export async function burst (sys: TaskSystem, n: number, timeoutMs: number): Promise<LoadResult> {
  const t = new Tracker()
  const before = sys.completedTwice()
  for (let i = 0; i < n; i++) void t.track(sys)
  await t.settle(timeoutMs)
  return t.result(sys, before)
}

/** `concurrency` tasks in flight at all times until `n` were submitted. */
export async function closedLoop (sys: TaskSystem, n: number, concurrency: number, timeoutMs: number): Promise<LoadResult> {
  const t = new Tracker()
  const before = sys.completedTwice()
  let next = 0
  const deadline = performance.now() + timeoutMs
  const lane = async (): Promise<void> => {
    while (next < n && performance.now() < deadline) { next++; await t.track(sys) }
  }
  await Promise.race([Promise.all(Array.from({ length: concurrency }, lane)), sleep(timeoutMs)])
  await t.settle(Math.max(1000, deadline - performance.now()))
  return t.result(sys, before)
}

/** A steady `rate` tasks per second for `durationMs`, whatever the system does. */
export async function openLoop (sys: TaskSystem, rate: number, durationMs: number, timeoutMs: number): Promise<LoadResult> {
  const t = new Tracker()
  const before = sys.completedTwice()
  const total = Math.round(rate * durationMs / 1000)
  const intervalMs = 1000 / rate
  const t0 = performance.now()
  let sent = 0
  while (sent < total) {
    const now = performance.now()
    // every task due by now, each timed from when it was due (no coordinated omission)
    while (sent < total && t0 + sent * intervalMs <= now) {
      void t.track(sys, t0 + sent * intervalMs)
      sent++
    }
    await sleep(1)
  }
  const sendMs = performance.now() - t0
  await t.settle(timeoutMs)
  return t.result(sys, before, { offeredRate: total / (sendMs / 1000) })
}

/** `n` tasks one at a time. */
export async function serial (sys: TaskSystem, n: number, timeoutMs: number): Promise<LoadResult> {
  const t = new Tracker()
  const before = sys.completedTwice()
  const deadline = performance.now() + timeoutMs
  for (let i = 0; i < n && performance.now() < deadline; i++) {
    await Promise.race([t.track(sys), sleep(Math.max(1, deadline - performance.now()))])
  }
  return t.result(sys, before)
}
