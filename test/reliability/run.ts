/**
 * Runs the issue-6 reliability and security scenarios and prints their figures as Markdown, for
 * docs/reliability.md:
 *
 *   node_modules/.bin/node --import tsx test/reliability/run.ts [--long] [--fuzz-runs N] [--out FILE] [files...]
 *
 * --long sets P2P_LONG=1 (three rounds of rolling restarts); --fuzz-runs sets FUZZ_RUNS. The
 * netns scenarios need root (as in CI). Each scenario test prints one `RELIABILITY <name> {json}`
 * line; this script collects them through RELIABILITY_OUT and renders one table row per figure.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const REPO = resolve(import.meta.dirname, '../..')
const DEFAULT_FILES = [
  'test/e2e/reliability-relay.test.ts',
  'test/e2e/reliability-dcutr.test.ts',
  'test/e2e/reliability-faults.test.ts',
  'test/e2e/reliability-rejections.test.ts',
  'test/e2e/security-admission.test.ts',
  'test/e2e/security-hostile.test.ts',
  'test/unit/fuzz.test.ts',
  'test/unit/fuzz-guards.test.ts'
]

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { long: { type: 'boolean', default: false }, 'fuzz-runs': { type: 'string' }, out: { type: 'string' } }
})
const files = positionals.length > 0 ? positionals : DEFAULT_FILES
const dir = mkdtempSync(join(tmpdir(), 'p2p-reliability-run-'))
const figuresFile = join(dir, 'figures.log')
writeFileSync(figuresFile, '')

const started = Date.now()
const load0 = loadavg()[0]
const times: Record<string, number> = {}
let failed = false
for (const file of files) {
  const t0 = Date.now()
  const code = await new Promise<number | null>(resolve => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=dot', file], {
      cwd: REPO,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        RELIABILITY_OUT: figuresFile,
        ...(values.long === true ? { P2P_LONG: '1' } : {}),
        ...(values['fuzz-runs'] != null ? { FUZZ_RUNS: values['fuzz-runs'] } : {})
      }
    })
    child.on('exit', code => { resolve(code) })
  })
  times[file] = Date.now() - t0
  if (code !== 0) failed = true
  process.stderr.write(`${file}: exit ${code} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
}

const rows: string[] = []
for (const line of readFileSync(figuresFile, 'utf8').split('\n')) {
  const m = /^(\S+) RELIABILITY (\S+) (.*)$/.exec(line)
  if (m == null) continue
  const [, when, scenario, json] = m
  rows.push(`| ${scenario} | \`${json}\` | ${when?.slice(0, 19)}Z |`)
}
const md = [
  `Run: ${new Date(started).toISOString()}, ${cpus().length} CPUs, load average ${load0?.toFixed(1)} at start, ` +
    `${((Date.now() - started) / 1000).toFixed(0)} s in all${values.long === true ? ', P2P_LONG=1' : ''}.`,
  '',
  '| file | seconds |',
  '| --- | --- |',
  ...Object.entries(times).map(([f, ms]) => `| ${f} | ${(ms / 1000).toFixed(1)} |`),
  '',
  '| scenario | figures | at |',
  '| --- | --- | --- |',
  ...rows
].join('\n')
if (values.out != null) writeFileSync(values.out, md + '\n')
process.stdout.write(md + '\n')
rmSync(dir, { recursive: true, force: true })
process.exitCode = failed ? 1 : 0
