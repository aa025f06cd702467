/**
 * Results: aggregation over runs (min/median/max), the targets of issue 7, the printed table
 * (each p2p figure next to BullMQ's and the ratio) and the JSON document.
 */
import type { ScenarioName } from './options.ts'
import type { ScenarioResult } from './scenario.ts'
import { summarize, type Summary } from './stats.ts'
import type { SystemName } from './system.ts'

export interface FigureDef { label: string, unit: string, digits?: number, /** context, not compared */ noRatio?: boolean }

const ms = (label: string): FigureDef => ({ label, unit: 'ms' })
const count = (label: string): FigureDef => ({ label, unit: '', digits: 0 })
/** where the CPU went during a load scenario */
const RESOURCES: Record<string, FigureDef> = {
  submitter_cpu: { label: 'CPU of the gateway / producer', unit: '% core', digits: 0, noRatio: true },
  submitter_lag: { label: 'its event-loop delay p99', unit: 'ms', noRatio: true },
  worker_cpu: { label: 'CPU per worker (mean)', unit: '% core', digits: 0, noRatio: true },
  redis_cpu: { label: 'CPU of redis-server', unit: '% core', digits: 0, noRatio: true },
  background: { label: 'CPU of processes outside the bench', unit: 'cores', digits: 2, noRatio: true }
}

/** Labels of the figures a scenario produces; keys ending in _<n> are per network size. */
export const FIGURES: Record<ScenarioName, Record<string, FigureDef>> = {
  burst: { throughput: { label: 'throughput', unit: 'tasks/s', digits: 0 }, p50: ms('latency p50'), p95: ms('latency p95'), p99: ms('latency p99'), max: ms('latency max'), submitted: count('submitted'), failed: count('failed'), lost: count('lost'), twice: count('completed twice'), ...RESOURCES },
  closed: { throughput: { label: 'throughput', unit: 'tasks/s', digits: 0 }, p50: ms('latency p50'), p95: ms('latency p95'), p99: ms('latency p99'), max: ms('latency max'), submitted: count('submitted'), failed: count('failed'), lost: count('lost'), twice: count('completed twice'), ...RESOURCES },
  open: { offered: { label: 'offered rate', unit: 'tasks/s', digits: 0 }, throughput: { label: 'completed rate', unit: 'tasks/s', digits: 0 }, p50: ms('latency p50'), p95: ms('latency p95'), p99: ms('latency p99'), max: ms('latency max'), submitted: count('submitted'), failed: count('failed'), lost: count('lost'), twice: count('completed twice'), ...RESOURCES },
  serial: { throughput: { label: 'throughput', unit: 'tasks/s', digits: 0 }, p50: ms('latency p50'), p95: ms('latency p95'), p99: ms('latency p99'), max: ms('latency max'), submitted: count('submitted'), failed: count('failed'), lost: count('lost'), twice: count('completed twice'), ...RESOURCES },
  startup: {
    started: ms('start to "node started" / ready'),
    connected: ms('start to connected (median)'),
    connected_max: ms('start to connected (max)'),
    schedulable: ms('start to schedulable (median)'),
    schedulable_max: ms('start to schedulable (max)'),
    first_task: ms('start to first task done'),
    bootstrap_started: ms('bootstrap: start to "node started"'),
    worker_rss: { label: 'idle worker RSS', unit: 'MiB', digits: 0 },
    bootstrap_rss: { label: 'idle bootstrap RSS', unit: 'MiB', digits: 0 },
    redis_rss: { label: 'idle redis-server RSS', unit: 'MiB', digits: 0 },
    worker_idle_cpu: { label: 'idle worker CPU', unit: '%', digits: 1 },
    bootstrap_idle_cpu: { label: 'idle bootstrap CPU', unit: '%', digits: 1 },
    lost: count('lost (first tasks)'),
    twice: count('completed twice')
  },
  recovery: {
    tasks: count('tasks on the killed worker'),
    detect: ms('kill -9: gateway notices'),
    replaced: ms('kill -9: all running elsewhere'),
    completed: ms('kill -9: all completed'),
    overhead: ms('kill -9: completed minus task time'),
    hung_replaced: ms('SIGSTOP: all running elsewhere'),
    hung_completed: ms('SIGSTOP: all completed'),
    hung_overhead: ms('SIGSTOP: completed minus task time'),
    failed: count('failed'),
    lost: count('lost'),
    twice: count('completed twice')
  },
  scale: {
    up_: ms('network up (all schedulable), W='),
    warmup_: { label: 'warm-up burst (cold workers), W=', unit: 'tasks/s', digits: 0 },
    throughput_: { label: 'burst throughput, W=', unit: 'tasks/s', digits: 0 },
    p50_: ms('burst latency p50, W='),
    p99_: ms('burst latency p99, W='),
    scale_ratio: { label: 'throughput largest / smallest W', unit: '×', digits: 2 },
    not_up: count('sizes whose network never became schedulable'),
    failed: count('failed'),
    lost: count('lost'),
    twice: count('completed twice')
  },
  propagation: {
    p50_: ms('advertisement to a node p50, N='),
    p99_: ms('advertisement to a node p99, N='),
    all_: ms('advertisement to every node, N='),
    spawn_p50_: ms('process start to a node p50, N='),
    missing: count('nodes that never saw it')
  }
}

export function figureDef (scenario: ScenarioName, key: string): FigureDef {
  const defs = FIGURES[scenario]
  const exact = defs[key]
  if (exact != null) return exact
  const m = /^(.*_)(\d+)$/.exec(key)
  const prefix = m != null ? defs[m[1] as string] : undefined
  if (prefix != null && m != null) return { ...prefix, label: `${prefix.label}${m[2]}` }
  return { label: key, unit: '' }
}

export interface SystemResults {
  runs: Array<ScenarioResult | { error: string }>
  summary: Record<string, Summary>
}

export type Results = Partial<Record<ScenarioName, Partial<Record<SystemName, SystemResults>>>>

export function addRun (results: Results, scenario: ScenarioName, system: SystemName, run: ScenarioResult | { error: string }): void {
  const bySystem = results[scenario] ?? (results[scenario] = {})
  const r = bySystem[system] ?? (bySystem[system] = { runs: [], summary: {} })
  r.runs.push(run)
  const keys = new Set(r.runs.flatMap(x => 'figures' in x ? Object.keys(x.figures) : []))
  r.summary = Object.fromEntries([...keys].map(k => [k, summarize(r.runs.map(x => 'figures' in x ? (x.figures[k] ?? Number.NaN) : Number.NaN))]))
}

// ---- targets ---------------------------------------------------------------------------------

export interface TargetResult { target: string, value: string, met: boolean | undefined }

const med = (results: Results, s: ScenarioName, sys: SystemName, key: string): number => results[s]?.[sys]?.summary[key]?.median ?? Number.NaN

function ratioTarget (results: Results, s: ScenarioName, key: string, target: string, ok: (ratio: number) => boolean): TargetResult {
  const p = med(results, s, 'p2p', key)
  const b = med(results, s, 'bullmq', key)
  if (!Number.isFinite(p)) return { target, value: 'not run', met: undefined }
  if (!Number.isFinite(b)) return { target, value: `${fmt(p)} (no BullMQ figure: --baseline bullmq)`, met: undefined }
  const ratio = p / b
  return { target, value: `${fmt(p)} vs ${fmt(b)} = ${ratio.toFixed(2)}×`, met: ok(ratio) }
}

function absTarget (results: Results, s: ScenarioName, key: string, target: string, ok: (v: number) => boolean, unit: string): TargetResult {
  const v = med(results, s, 'p2p', key)
  const ran = (results[s]?.p2p?.runs ?? []).some(r => 'figures' in r)
  if (!Number.isFinite(v) && ran) return { target, value: 'no figure: the network of that size did not come up (see the table)', met: false }
  if (!Number.isFinite(v)) return { target, value: (results[s]?.p2p?.runs.length ?? 0) > 0 ? 'the scenario failed (see the table)' : 'not run', met: (results[s]?.p2p?.runs.length ?? 0) > 0 ? false : undefined }
  return { target, value: `${fmt(v)} ${unit}`, met: ok(v) }
}

export function evaluateTargets (results: Results, counts: { scaleWorkers: number[], propagationSizes: number[] }): TargetResult[] {
  const largestN = counts.propagationSizes.at(-1) ?? 0
  const out: TargetResult[] = [
    ratioTarget(results, 'burst', 'throughput', 'burst throughput ≥ 1.0× BullMQ', r => r >= 1),
    ratioTarget(results, 'closed', 'throughput', 'closed-loop throughput ≥ 1.0× BullMQ', r => r >= 1),
    ratioTarget(results, 'closed', 'p99', 'closed-loop p99 ≤ BullMQ', r => r <= 1),
    ratioTarget(results, 'serial', 'p50', 'serial p50 ≤ 0.75× BullMQ', r => r <= 0.75),
    ratioTarget(results, 'open', 'p50', 'open-loop p50 ≤ BullMQ', r => r <= 1),
    ratioTarget(results, 'open', 'p99', 'open-loop p99 ≤ BullMQ', r => r <= 1),
    absTarget(results, 'startup', 'schedulable_max', 'start to schedulable ≤ 1 s (slowest worker)', v => v <= 1000, 'ms'),
    ratioTarget(results, 'startup', 'worker_rss', 'idle worker RSS ≤ a BullMQ worker\'s', r => r <= 1),
    absTarget(results, 'scale', 'scale_ratio', `throughput at ${counts.scaleWorkers.at(-1)} workers ≥ 0.8× at ${counts.scaleWorkers[0]}`, v => v >= 0.8, '×'),
    absTarget(results, 'propagation', `p99_${largestN}`, `advertisement propagation p99 < 1 s at ${largestN} nodes`, v => v < 1000, 'ms')
  ]
  // correctness: every lost / completed-twice / missing figure of every run is 0
  let bad = 0
  let seen = 0
  const where: string[] = []
  for (const [s, bySystem] of Object.entries(results)) {
    for (const [sys, r] of Object.entries(bySystem ?? {})) {
      for (const run of r?.runs ?? []) {
        if (!('figures' in run)) continue
        for (const k of ['lost', 'twice', 'missing']) {
          const v = run.figures[k]
          if (v == null) continue
          seen++
          if (v !== 0) { bad++; where.push(`${s}/${sys} ${k}=${v}`) }
        }
      }
    }
  }
  out.push({ target: 'lost 0 and completed twice 0 everywhere', value: seen === 0 ? 'not run' : bad === 0 ? 'all 0' : [...new Set(where)].join(', '), met: seen === 0 ? undefined : bad === 0 })
  return out
}

// ---- formatting ------------------------------------------------------------------------------

export function fmt (v: number, digits?: number): string {
  if (!Number.isFinite(v)) return '–'
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2)
  return v.toFixed(d)
}

function cell (s: Summary | undefined, digits?: number, runs = 1): string {
  if (s == null || !Number.isFinite(s.median)) return '–'
  if (runs <= 1 || s.min === s.max) return fmt(s.median, digits)
  return `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`
}

/** The results table: one row per figure, p2p and BullMQ side by side (median [min–max] over runs). */
export function formatTable (results: Results, order: readonly ScenarioName[], markdown = false): string {
  const rows: string[][] = [['scenario', 'figure', 'unit', 'p2p', 'BullMQ', 'p2p / BullMQ']]
  for (const s of order) {
    const bySystem = results[s]
    if (bySystem == null) continue
    const p = bySystem.p2p
    const b = bySystem.bullmq
    const present = new Set([...Object.keys(p?.summary ?? {}), ...Object.keys(b?.summary ?? {})])
    // the order FIGURES defines (per-size keys by their prefix, then size), then anything else
    const defined = Object.keys(FIGURES[s])
    const rank = (k: string): number => {
      const i = defined.indexOf(k)
      if (i >= 0) return i * 1e6
      const m = /^(.*_)(\d+)$/.exec(k)
      const j = m != null ? defined.indexOf(m[1] as string) : -1
      return j >= 0 ? j * 1e6 + Number(m?.[2]) : 1e12
    }
    const keys = [...present].sort((a, b) => rank(a) - rank(b))
    const errors = [...(p?.runs ?? []), ...(b?.runs ?? [])].filter((r): r is { error: string } => 'error' in r)
    let first = true
    for (const k of keys) {
      const def = figureDef(s, k)
      const ps = p?.summary[k]
      const bs = b?.summary[k]
      const ratio = ps != null && bs != null && Number.isFinite(ps.median) && Number.isFinite(bs.median) && bs.median !== 0 && def.unit !== '' && def.noRatio !== true ? `${(ps.median / bs.median).toFixed(2)}×` : ''
      rows.push([first ? s : '', def.label, def.unit, cell(ps, def.digits, p?.runs.length), b == null ? '' : cell(bs, def.digits, b.runs.length), ratio])
      first = false
    }
    for (const e of errors) rows.push([first ? s : '', `error: ${(e.error.split('\n')[0] ?? '').slice(0, 80)}`, '', '', '', ''])
  }
  return markdown ? toMarkdown(rows) : toText(rows)
}

export function formatTargets (targets: TargetResult[], markdown = false): string {
  const rows = [['target', 'result', 'met']]
  for (const t of targets) rows.push([t.target, t.value, t.met == null ? '–' : t.met ? 'yes' : 'NO'])
  return markdown ? toMarkdown(rows) : toText(rows)
}

function toText (rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map(r => (r[i] ?? '').length))) ?? []
  return rows.map((r, n) => {
    const line = r.map((c, i) => i >= 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
    return n === 0 ? `${line}\n${'-'.repeat(line.length)}` : line
  }).join('\n')
}

function toMarkdown (rows: string[][]): string {
  const [head, ...body] = rows
  if (head == null) return ''
  return [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => i >= 3 ? '---:' : '---').join(' | ')} |`, ...body.map(r => `| ${r.map(c => c.replace(/\|/g, '\\|')).join(' | ')} |`)].join('\n')
}
