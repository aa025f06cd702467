/** Percentiles and min/median/max over runs. Pure. */

/** The q-quantile (0..1) of `values` by nearest rank; NaN for an empty list. */
export function quantile (values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] as number
}

export interface Percentiles { p50: number, p95: number, p99: number, max: number }

export function percentiles (values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN }
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] as number }
}

export interface Summary { min: number, median: number, max: number, runs: number[] }

/** min/median/max over the runs of one figure (NaN runs are ignored). */
export function summarize (runs: readonly number[]): Summary {
  const ok = runs.filter(v => Number.isFinite(v))
  if (ok.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN, runs: [...runs] }
  const sorted = [...ok].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number, runs: [...runs] }
}

export function round (v: number, digits = 2): number {
  if (!Number.isFinite(v)) return v
  const f = 10 ** digits
  return Math.round(v * f) / f
}
