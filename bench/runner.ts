/**
 * The benchmark runner behind bench/run.ts: runs every selected scenario --runs times (p2p and
 * BullMQ interleaved, so both see the same machine), prints the table and the targets, writes JSON.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { BullmqSystem } from './lib/bullmq.ts'
import { prepareScripts } from './lib/build.ts'
import { machine, source, versions } from './lib/env.ts'
import { BASELINE_SCENARIOS, parseOptions, USAGE, UsageError, type Options, type ScenarioName } from './lib/options.ts'
import { P2PNet, ROOT } from './lib/p2p.ts'
import { liveChildren } from './lib/procs.ts'
import { addRun, evaluateTargets, formatTable, formatTargets, type Results } from './lib/report.ts'
import type { Scenario, ScenarioContext } from './lib/scenario.ts'
import { SelfProbe } from './lib/self-probe.ts'
import type { SystemName, TaskSystem } from './lib/system.ts'
import { burstScenario, closedScenario, openScenario, serialScenario } from './scenarios/load.ts'
import { propagationScenario } from './scenarios/propagation.ts'
import { recoveryScenario } from './scenarios/recovery.ts'
import { scaleScenario } from './scenarios/scale.ts'
import { startupScenario } from './scenarios/startup.ts'

const SCENARIO_IMPLS: Record<ScenarioName, Scenario> = {
  burst: burstScenario,
  closed: closedScenario,
  open: openScenario,
  serial: serialScenario,
  startup: startupScenario,
  recovery: recoveryScenario,
  scale: scaleScenario,
  propagation: propagationScenario
}

function systemsFor (s: ScenarioName, opts: Options): SystemName[] {
  // startup also runs on BullMQ: the idle-RSS target compares with a BullMQ worker
  return opts.baseline === 'bullmq' && (BASELINE_SCENARIOS.includes(s) || s === 'startup') ? ['p2p', 'bullmq'] : ['p2p']
}

const log = (msg: string): void => { process.stderr.write(`${msg}\n`) }

async function startSystem (system: SystemName, opts: Options, dir: string): Promise<TaskSystem> {
  return system === 'p2p'
    ? P2PNet.start({ dir, workers: opts.workers, slots: opts.slots, probe: true, relayTransport: opts.relayTransport, prefetch: opts.prefetch })
    : BullmqSystem.start({ dir, workers: opts.workers, concurrency: opts.slots, probe: true })
}

/** Runs the benchmark; resolves with the exit code. */
async function main (argv: string[]): Promise<number> {
  let opts: Options
  try {
    opts = parseOptions(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(err.message === '' ? USAGE : `${err.message}\n\n${USAGE}`)
      return err.message === '' ? 0 : 2
    }
    throw err
  }
  const started = performance.now()
  const out = resolve(opts.out ?? join(ROOT, 'bench', 'results', opts.quick ? 'quick.json' : 'latest.json'))
  const root = await mkdtemp(join(tmpdir(), 'p2p-bench-'))
  if (opts.profile != null) await mkdir(opts.profile, { recursive: true })
  const self = new SelfProbe()
  const results: Results = {}
  const machineAtStart = machine()
  const sourceAtStart = source()
  let failures = 0
  let seq = 0
  const writeResults = async (partial: boolean): Promise<ResultsDocument> => {
    const doc: ResultsDocument = {
      date: new Date().toISOString(),
      command: `npm run bench -- ${argv.join(' ')}`.trim(),
      partial,
      durationS: Math.round((performance.now() - started) / 1000),
      options: { ...opts, counts: opts.counts },
      versions: versions(),
      source: sourceAtStart,
      machine: { ...machineAtStart, loadavgAtEnd: machine().loadavg },
      results,
      targets: evaluateTargets(results, opts.counts)
    }
    await mkdir(dirname(out), { recursive: true })
    await writeFile(out, JSON.stringify(doc, (_k, v: unknown) => typeof v === 'number' && !Number.isFinite(v) ? null : v, 2))
    return doc
  }
  log(`p2p-network bench: ${opts.scenarios.join(', ')}; ${opts.workers} workers × ${opts.slots} slots; ${opts.runs} run(s)${opts.baseline != null ? '; baseline BullMQ' : ''}${opts.quick ? '; quick' : ''}`)
  const buildMs = await prepareScripts(opts.fromSource ? 'source' : 'bundle', join(root, 'bundle'))
  log(opts.fromSource ? 'children run the TypeScript sources through tsx (--from-source)' : `children run an esbuild bundle (built in ${(buildMs / 1000).toFixed(1)} s)`)
  try {
    for (let run = 1; run <= opts.runs; run++) {
      const shared = new Map<SystemName, TaskSystem>()
      try {
        for (const name of opts.scenarios) {
          for (const system of systemsFor(name, opts)) {
            const dir = join(root, `${seq++}-${name}-${system}`)
            await mkdir(dir, { recursive: true })
            const label = `${name}-${system}-run${run}`
            const ctx: ScenarioContext = {
              opts,
              run,
              system,
              dir,
              self,
              log,
              label,
              ...(opts.profile != null ? { profileDir: resolve(opts.profile) } : {}),
              acquire: async () => {
                const have = shared.get(system)
                if (have != null) return have
                const sys = await startSystem(system, opts, dir)
                if (opts.shareNetwork) shared.set(system, sys)
                return sys
              },
              release: async (sys) => { if (!opts.shareNetwork) await sys.stop() }
            }
            const t0 = performance.now()
            log(`[run ${run}/${opts.runs}] ${name} on ${system}…`)
            try {
              const r = await SCENARIO_IMPLS[name].run(ctx)
              addRun(results, name, system, r)
              log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${Object.entries(r.figures).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`).join(' ')}`)
            } catch (err) {
              failures++
              const msg = err instanceof Error ? err.message : String(err)
              addRun(results, name, system, { error: msg })
              log(`  FAILED: ${msg}`)
            }
            // after every scenario, so an interrupted run keeps what it measured
            await writeResults(true)
          }
        }
      } finally {
        for (const sys of shared.values()) await sys.stop().catch(() => {})
      }
    }
  } finally {
    self.stop()
    await rm(root, { recursive: true, force: true }).catch(() => {})
  }

  const doc = await writeResults(false)
  const targets = doc.targets
  const v = doc.versions
  process.stdout.write(`\np2p-network benchmark — ${doc.date}\n` +
    `node ${v.node}, libp2p ${v.libp2p}, gossipsub ${v['@libp2p/gossipsub']}, yamux ${v['@chainsafe/libp2p-yamux']}, bullmq ${v.bullmq}, redis ${v.redis}\n` +
    `commit ${doc.source.commit}${doc.source.dirtySrcFiles.length > 0 ? ` + uncommitted changes in ${doc.source.dirtySrcFiles.join(', ')}` : ''}\n` +
    `${doc.machine.cpus} × ${doc.machine.cpuModel}, ${doc.machine.memoryGiB} GiB; load average ${doc.machine.loadavg.join(' ')} at start, ${doc.machine.loadavgAtEnd.join(' ')} at end\n` +
    `${opts.workers} workers × ${opts.slots} slots (BullMQ: concurrency ${opts.slots}); ${opts.runs} run(s): median [min–max]\n\n` +
    formatTable(results, opts.scenarios) + '\n\n' + formatTargets(targets) + `\n\nJSON: ${out} (${doc.durationS} s)\n`)
  if (liveChildren() > 0) log(`warning: ${liveChildren()} child process(es) still running; killing them`)
  const correctness = targets.at(-1)
  if (failures > 0) return 1
  if (opts.quick && correctness?.met === false) return 1
  return 0
}

interface ResultsDocument {
  date: string
  command: string
  /** true while the run is still going (or was interrupted) */
  partial: boolean
  durationS: number
  options: Options
  versions: ReturnType<typeof versions>
  source: ReturnType<typeof source>
  machine: ReturnType<typeof machine> & { loadavgAtEnd: number[] }
  results: Results
  targets: ReturnType<typeof evaluateTargets>
}

export { main }
