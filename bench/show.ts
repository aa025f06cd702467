/**
 * Prints the table and targets of a results file written by `npm run bench` (also a partial one
 * from an interrupted run), as text or as Markdown for docs/benchmarks.md. With several files and
 * --merge, the runs of all files are pooled (e.g. a run interrupted after run 1 plus a later
 * `--runs 2` of some scenarios); the header is the first file's.
 *
 *   node --import tsx bench/show.ts bench/results/latest.json [--markdown]
 *   node --import tsx bench/show.ts --merge a.json b.json [--markdown]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { SCENARIOS, type Counts, type ScenarioName } from './lib/options.ts'
import { addRun, evaluateTargets, formatTable, formatTargets, type Results } from './lib/report.ts'
import type { SystemName } from './lib/system.ts'

interface Doc {
  date: string
  command: string
  partial?: boolean
  options: { workers: number, slots: number, runs: number, counts: Counts, scenarios: ScenarioName[] }
  versions: Record<string, string>
  source?: { commit: string, dirtySrcFiles: string[] }
  machine: { cpus: number, cpuModel: string, memoryGiB: number, loadavg: number[], loadavgAtEnd?: number[] }
  results: Results
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { markdown: { type: 'boolean', default: false }, merge: { type: 'boolean', default: false } } })
const load = (file: string): Doc => JSON.parse(readFileSync(file, 'utf8'), (_k, v: unknown) => v === null ? Number.NaN : v) as Doc
const docs = values.merge === true ? [mergeDocs(positionals.map(load), positionals)] : positionals.map(load)

function mergeDocs (all: Doc[], files: string[]): Doc {
  const first = all[0]
  if (first == null) throw new Error('no files')
  const results: Results = {}
  for (const d of all) {
    for (const s of SCENARIOS) {
      for (const [sys, r] of Object.entries(d.results[s] ?? {})) {
        for (const run of r?.runs ?? []) addRun(results, s, sys as SystemName, run)
      }
    }
  }
  return { ...first, command: `${all.map(d => d.command).join(' + ')} (merged: ${files.join(', ')})`, results, options: { ...first.options, runs: Math.max(...all.map(d => d.options.runs)) } }
}

for (const doc of docs) {
  const v = doc.versions
  const md = values.markdown ?? false
  const lines = [
    `${doc.command} — ${doc.date}${doc.partial === true ? ' (partial: interrupted or still running)' : ''}`,
    `node ${v.node}, libp2p ${v.libp2p}, gossipsub ${v['@libp2p/gossipsub']}, yamux ${v['@chainsafe/libp2p-yamux']}, bullmq ${v.bullmq}, ioredis ${v.ioredis}, redis ${v.redis}`,
    `commit ${doc.source?.commit ?? '?'}${(doc.source?.dirtySrcFiles.length ?? 0) > 0 ? ` + uncommitted changes in ${doc.source?.dirtySrcFiles.join(', ')}` : ''}`,
    `${doc.machine.cpus} × ${doc.machine.cpuModel}, ${doc.machine.memoryGiB} GiB; load average ${doc.machine.loadavg.join(' ')} at start${doc.machine.loadavgAtEnd != null ? `, ${doc.machine.loadavgAtEnd.join(' ')} at end` : ''}`,
    `${doc.options.workers} workers × ${doc.options.slots} slots; ${doc.options.runs} run(s): median [min–max]`
  ]
  console.log(md ? lines.map(l => `${l}  `).join('\n') : lines.join('\n'))
  console.log('')
  console.log(formatTable(doc.results, SCENARIOS, md))
  console.log('')
  console.log(formatTargets(evaluateTargets(doc.results, doc.options.counts), md))
}
