/**
 * Summarises a V8 .cpuprofile (from --cpu-prof): self time by function and by module (package or
 * project file), and total (inclusive) time of the project's own functions.
 *
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export interface ProfileSummary {
  totalMs: number
  idleMs: number
  gcMs: number
  byFunction: Array<{ name: string, selfMs: number, pct: number }>
  byModule: Array<{ name: string, selfMs: number, pct: number }>
  inclusive: Array<{ name: string, totalMs: number, pct: number }>
  /** inclusive time per module: samples with the module anywhere on the stack */
  moduleInclusive: Array<{ name: string, totalMs: number, pct: number }>
}

function moduleOf (url: string): string {
  if (url === '') return '(native)'
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url)
  }
  if (url.startsWith('node:')) return url
  const src = url.indexOf('/src/')
  if (src >= 0) return url.slice(src + 1)
  const bench = url.indexOf('/bench/')
  if (bench >= 0) return url.slice(bench + 1)
  return url
}

export function summarizeProfile (p: Profile, top = 25): ProfileSummary {
  const byId = new Map(p.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<number, number>()
  p.samples.forEach((id, i) => { self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000) })
  const totalMs = (p.endTime - p.startTime) / 1000
  const fn = new Map<string, number>()
  const mod = new Map<string, number>()
  const incl = new Map<string, number>()
  const modIncl = new Map<string, number>()
  let idleMs = 0
  let gcMs = 0
  for (const [id, ms] of self) {
    const n = byId.get(id)
    if (n == null) continue
    const { functionName, url, lineNumber } = n.callFrame
    if (functionName === '(idle)') { idleMs += ms; continue }
    if (functionName === '(garbage collector)') gcMs += ms
    const name = `${functionName === '' ? '(anonymous)' : functionName} ${moduleOf(url)}:${lineNumber + 1}`
    fn.set(name, (fn.get(name) ?? 0) + ms)
    mod.set(moduleOf(url), (mod.get(moduleOf(url)) ?? 0) + ms)
    // inclusive time of project functions: charge every distinct project frame on the stack once
    const seen = new Set<string>()
    const seenMod = new Set<string>()
    for (let cur: number | undefined = id; cur != null; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame
      if (f != null && f.url !== '' && !seenMod.has(moduleOf(f.url))) {
        seenMod.add(moduleOf(f.url))
        modIncl.set(moduleOf(f.url), (modIncl.get(moduleOf(f.url)) ?? 0) + ms)
      }
      if (f == null || !/\/(src|bench)\//.test(f.url) || f.url.includes('node_modules')) continue
      const key = `${f.functionName === '' ? '(anonymous)' : f.functionName} ${moduleOf(f.url)}:${f.lineNumber + 1}`
      if (seen.has(key)) continue
      seen.add(key)
      incl.set(key, (incl.get(key) ?? 0) + ms)
    }
  }
  const busy = totalMs - idleMs
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
  return {
    totalMs,
    idleMs,
    gcMs,
    byFunction: sorted(fn).map(([name, ms]) => ({ name, selfMs: ms, pct: 100 * ms / busy })),
    byModule: sorted(mod).map(([name, ms]) => ({ name, selfMs: ms, pct: 100 * ms / busy })),
    inclusive: sorted(incl).map(([name, ms]) => ({ name, totalMs: ms, pct: 100 * ms / busy })),
    moduleInclusive: sorted(modIncl).map(([name, ms]) => ({ name, totalMs: ms, pct: 100 * ms / busy }))
  }
}

export function formatProfile (s: ProfileSummary): string {
  const lines = [`wall ${s.totalMs.toFixed(0)} ms, busy ${(s.totalMs - s.idleMs).toFixed(0)} ms (${(100 * (s.totalMs - s.idleMs) / s.totalMs).toFixed(0)}%), GC ${s.gcMs.toFixed(0)} ms`, '', 'self time by module (% of busy):']
  for (const m of s.byModule) lines.push(`  ${m.pct.toFixed(1).padStart(5)}%  ${m.selfMs.toFixed(0).padStart(7)} ms  ${m.name}`)
  lines.push('', 'inclusive time by module (module anywhere on the stack):')
  for (const m of s.moduleInclusive) lines.push(`  ${m.pct.toFixed(1).padStart(5)}%  ${m.totalMs.toFixed(0).padStart(7)} ms  ${m.name}`)
  lines.push('', 'self time by function:')
  for (const f of s.byFunction) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}`)
  lines.push('', 'inclusive time of project functions:')
  for (const f of s.inclusive) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.totalMs.toFixed(0).padStart(7)} ms  ${f.name}`)
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } })
  for (const file of positionals) {
    console.log(`== ${file}`)
    console.log(formatProfile(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(values.top))))
  }
}
