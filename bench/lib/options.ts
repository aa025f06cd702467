/** Command-line options of `npm run bench` and the counts each mode uses: the one place for defaults. */
import { parseArgs } from 'node:util'

export const SCENARIOS = ['burst', 'closed', 'open', 'serial', 'startup', 'recovery', 'scale', 'propagation'] as const
export type ScenarioName = typeof SCENARIOS[number]
/** the scenarios also run on the BullMQ baseline */
export const BASELINE_SCENARIOS: readonly ScenarioName[] = ['burst', 'closed', 'open', 'serial']

export interface Counts {
  /**
   * tasks run before each load scenario is measured, on both systems: 500 per worker, enough for
   * every process's JIT to reach its steady state (with 125 per worker, the p2p burst ran 14 % and
   * BullMQ's 17 % slower: part of each measured burst ran on code not yet optimised)
   */
  warmup: number
  burst: number
  closedTotal: number
  closedInFlight: number
  openRate: number
  openMs: number
  serial: number
  /** workers started one by one in the startup scenario (default: --workers) */
  startupWorkers?: number
  /** idle time before RSS is read in the startup scenario */
  idleMs: number
  /** how long each task sleeps in the recovery scenario */
  recoverySleepMs: number
  scaleWorkers: number[]
  /**
   * warm-up tasks per worker before each scale size is measured, sent as one burst, so a size is
   * not measured with 50 cold JITs against 4 warm ones: a cold process runs a task several times
   * slower than a warm one (16 workers with 12 warm-up tasks each: 854 tasks/s, with 190: 2529).
   * The measured burst gives each of 4 workers 2500 tasks but each of 50 only 200, so the warm-up
   * must bring every process to its steady state by itself: with 200 per worker, 50 workers ran a burst at 3883 tasks/s, with 1000 at 5350, and
   * 4 workers at 4885 (docs/benchmarks.md, ninth session). The warm-up's own throughput is reported
   * as warmup_W: what a cold network does.
   */
  scaleWarmupPerWorker: number
  scaleBurst: number
  propagationSizes: number[]
  propagationProbes: number
  /** how long a scenario may wait for its last results */
  settleMs: number
}

export const FULL: Counts = {
  warmup: 2000,
  burst: 10_000,
  closedTotal: 10_000,
  closedInFlight: 64,
  openRate: 500,
  openMs: 10_000,
  serial: 1000,
  idleMs: 10_000,
  recoverySleepMs: 3000,
  scaleWorkers: [4, 16, 50],
  scaleWarmupPerWorker: 1000,
  scaleBurst: 10_000,
  propagationSizes: [10, 25, 50],
  propagationProbes: 3,
  // generous: a task still unfinished this long after the last submission counts as lost
  settleMs: 300_000
}

/** --quick: a smoke run of every scenario in well under a minute */
export const QUICK: Counts = {
  warmup: 50,
  burst: 500,
  closedTotal: 500,
  closedInFlight: 64,
  openRate: 200,
  openMs: 1500,
  serial: 100,
  startupWorkers: 1,
  idleMs: 500,
  recoverySleepMs: 500,
  scaleWorkers: [1, 2],
  scaleWarmupPerWorker: 20,
  scaleBurst: 200,
  propagationSizes: [3],
  propagationProbes: 1,
  settleMs: 20_000
}

export interface Options {
  scenarios: ScenarioName[]
  workers: number
  /** slots per p2p worker = concurrency per BullMQ worker */
  slots: number
  runs: number
  quick: boolean
  baseline?: 'bullmq'
  out?: string
  /** write CPU profiles of the measured phases here */
  profile?: string
  counts: Counts
  /** reuse one network per system and run for the load scenarios (default in --quick) */
  shareNetwork: boolean
  /** keep the workers' circuit-relay transport on (off by default: the bench network has no relay) */
  relayTransport: boolean
  /** the p2p workers' tasks.prefetch (unset: the node's default, as many as its slots) */
  prefetch?: number
  /** children run the TypeScript sources through tsx instead of the esbuild bundle (lib/build.ts) */
  fromSource: boolean
}

export const USAGE = `npm run bench -- [options]

  --scenarios a,b     ${SCENARIOS.join(', ')} (default: all)
  --workers W         worker processes (default 4; --quick 2)
  --slots N           slots per p2p worker = BullMQ worker concurrency (default 16)
  --runs N            runs of every scenario; the table shows min/median/max (default 3; --quick 1)
  --baseline bullmq   also run burst, closed, open and serial on BullMQ (redis-server is started on a free port)
  --quick             small counts: a smoke run that finishes in under a minute
  --out FILE          write the results as JSON (default bench/results/latest.json)
  --profile DIR       CPU profiles of the bench process (gateway/producer) and the first worker for every measured phase
  --share-network     one network per system and run for the load scenarios (default with --quick)
  --relay-transport   keep the workers' circuit-relay transport on (the bench network has no relay)
  --prefetch N        the p2p workers' tasks.prefetch (default: the node's, as many as --slots)
  --scale-workers a,b       worker counts of the scale scenario (default 4,16,50; --quick 1,2)
  --propagation-sizes a,b   network sizes of the propagation scenario (default 10,25,50; --quick 3)
  --from-source       child processes (p2p and BullMQ workers) run the TypeScript sources through tsx
                      instead of an esbuild bundle built at the start
`

export function parseOptions (argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenarios: { type: 'string' },
      workers: { type: 'string' },
      slots: { type: 'string', default: '16' },
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      'share-network': { type: 'boolean' },
      'relay-transport': { type: 'boolean', default: false },
      prefetch: { type: 'string' },
      'from-source': { type: 'boolean', default: false },
      'scale-workers': { type: 'string' },
      'propagation-sizes': { type: 'string' },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help === true) throw new UsageError('')
  const quick = values.quick ?? false
  const scenarios = values.scenarios != null ? values.scenarios.split(',').map(s => s.trim()).filter(s => s !== '') : [...SCENARIOS]
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new UsageError(`unknown scenario "${s}" (known: ${SCENARIOS.join(', ')})`)
  }
  const int = (v: string | undefined, fallback: number, name: string, min: number, max: number): number => {
    const n = v == null ? fallback : Number(v)
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`)
    return n
  }
  const list = (v: string | undefined, fallback: number[], name: string, min: number): number[] => {
    if (v == null) return fallback
    const out = v.split(',').map(x => x.trim()).filter(x => x !== '').map(Number)
    if (out.length === 0 || out.some(n => !Number.isInteger(n) || n < min || n > 200)) throw new UsageError(`--${name} must be a list of integers from ${min} to 200`)
    return out
  }
  const base = quick ? QUICK : FULL
  const counts: Counts = {
    ...base,
    scaleWorkers: list(values['scale-workers'], base.scaleWorkers, 'scale-workers', 1),
    propagationSizes: list(values['propagation-sizes'], base.propagationSizes, 'propagation-sizes', 3)
  }
  if (values.baseline != null && values.baseline !== 'bullmq') throw new UsageError(`unknown baseline "${values.baseline}" (known: bullmq)`)
  return {
    scenarios: scenarios as ScenarioName[],
    workers: int(values.workers, quick ? 2 : 4, 'workers', 1, 100),
    slots: int(values.slots, 16, 'slots', 1, 1000),
    runs: int(values.runs, quick ? 1 : 3, 'runs', 1, 100),
    quick,
    ...(values.baseline === 'bullmq' ? { baseline: 'bullmq' as const } : {}),
    out: values.out,
    profile: values.profile,
    counts,
    shareNetwork: values['share-network'] ?? quick,
    relayTransport: values['relay-transport'] ?? false,
    ...(values.prefetch != null ? { prefetch: int(values.prefetch, 0, 'prefetch', 0, 10_000) } : {}),
    fromSource: values['from-source'] ?? false
  }
}

export class UsageError extends Error {}
