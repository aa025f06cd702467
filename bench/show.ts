/**
 * Prints the table and targets of a results file written by `npm run bench` (also a partial one
 * from an interrupted run), as text or as Markdown for docs/benchmarks.md.
 *
 *   node --import tsx bench/show.ts bench/results/latest.json [--markdown]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { SCENARIOS, type Counts, type ScenarioName } from './lib/options.ts'
import { evaluateTargets, formatTable, formatTargets, type Results } from './lib/report.ts'

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

const { values, positionals } = parseArgs({ allowPositionals: true, options: { markdown: { type: 'boolean', default: false } } })
for (const file of positionals) {
  const doc = JSON.parse(readFileSync(file, 'utf8'), (_k, v: unknown) => v === null ? Number.NaN : v) as Doc
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
