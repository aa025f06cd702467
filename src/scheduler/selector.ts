/**
 * Label selectors, Kubernetes-style: `zone=b`, `tier!=spot`, `region in (eu,us)`, `gpu notin (none)`,
 * comma-separated, all must hold. Pure.
 */
export type Requirement =
  | { key: string, op: '=' | '!=', value: string }
  | { key: string, op: 'in' | 'notin', values: string[] }

export class SelectorError extends Error {
  readonly code = 'ERR_SELECTOR'
  constructor (readonly selector: string, reason: string) {
    super(`selector "${selector}": ${reason}; expected e.g. "zone=b", "tier!=spot" or "region in (eu,us)", comma-separated`)
    this.name = 'SelectorError'
  }
}

const KEY = '[A-Za-z0-9][A-Za-z0-9_./-]{0,62}'
const VALUE = '[A-Za-z0-9_.-]{0,63}'
const EQ_RE = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`)
const SET_RE = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`)
const VALUE_RE = new RegExp(`^${VALUE}$`)

export function parseSelector (selector: string): Requirement[] {
  const text = selector.trim()
  if (text === '') return []
  // split on commas outside parentheses
  const parts: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of text) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) { parts.push(cur); cur = '' } else cur += ch
  }
  parts.push(cur)
  return parts.map(p => {
    const part = p.trim()
    const eq = EQ_RE.exec(part)
    if (eq != null) return { key: eq[1] as string, op: eq[2] === '!=' ? '!=' : '=', value: eq[3] as string }
    const set = SET_RE.exec(part)
    if (set != null) {
      const values = (set[3] as string).split(',').map(v => v.trim()).filter(v => v !== '')
      if (values.length === 0) throw new SelectorError(selector, `"${part}" has an empty set`)
      // set members are label values like the right side of "=": no spaces, quotes or parentheses
      const badValue = values.find(v => !VALUE_RE.test(v))
      if (badValue != null) throw new SelectorError(selector, `cannot read "${part}": "${badValue}" is not a label value`)
      return { key: set[1] as string, op: set[2] as 'in' | 'notin', values }
    }
    throw new SelectorError(selector, `cannot read "${part}"`)
  })
}

export function matchesSelector (requirements: readonly Requirement[], labels: Readonly<Record<string, string>>): boolean {
  return requirements.every(r => {
    const v = labels[r.key]
    switch (r.op) {
      case '=': return v === r.value
      case '!=': return v !== r.value
      case 'in': return v != null && r.values.includes(v)
      case 'notin': return v == null || !r.values.includes(v)
    }
    return false
  })
}
