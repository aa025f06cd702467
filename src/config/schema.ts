/**
 * A small declarative schema for the YAML config. Each field knows its type, its default and how to
 * turn the YAML value into the typed value, so defaults, validation and docs read one table.
 */
import { ConfigError } from './errors.ts'

export type FieldSpec =
  | { kind: 'string', default?: string, oneOf?: readonly string[], pattern?: RegExp, patternHelp?: string, optional?: boolean }
  | { kind: 'int', default?: number, min: number, max: number }
  | { kind: 'number', default?: number, min: number, max: number }
  | { kind: 'bool', default?: boolean }
  | { kind: 'duration', default?: number, min: number, max: number, optional?: boolean }
  | { kind: 'size', default?: number, min: number, max: number }
  | { kind: 'strings', default?: string[] }
  | { kind: 'labels', default?: Record<string, string> }
  | { kind: 'numbers', default?: Record<string, number> }
  | { kind: 'handlers' }

export type SectionSpec = Record<string, FieldSpec>
export type Schema = Record<string, SectionSpec>

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB|k|M|G)?$/
const SIZE_UNITS: Record<string, number> = {
  B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3, k: 1024, M: 1024 ** 2, G: 1024 ** 3
}

/** Durations: a number is seconds; strings take ms, s, m or h. Returns milliseconds. */
export function parseDuration (value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value * 1000)
  if (typeof value !== 'string') return undefined
  const m = DURATION_RE.exec(value.trim())
  if (m == null) return undefined
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000
  return Math.round(n * factor)
}

/** Sizes: a number is bytes; strings take B, KiB, MiB, GiB (and KB, MB, GB). Returns bytes. */
export function parseSize (value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value)
  if (typeof value !== 'string') return undefined
  const m = SIZE_RE.exec(value.trim())
  if (m == null) return undefined
  return Math.round(Number(m[1]) * (SIZE_UNITS[m[2] ?? 'B'] ?? 1))
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  return `${typeof value} ${JSON.stringify(value)}`
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function expectedOf (spec: FieldSpec): string {
  switch (spec.kind) {
    case 'string': return spec.oneOf != null ? `one of ${spec.oneOf.join(' | ')}` : (spec.patternHelp ?? 'a string')
    case 'int': return `an integer from ${spec.min} to ${spec.max}`
    case 'number': return `a number from ${spec.min} to ${spec.max}`
    case 'bool': return 'true or false'
    case 'duration': return `a duration from ${spec.min}ms to ${spec.max}ms (a number of seconds, or e.g. 500ms, 30s, 2m)`
    case 'size': return `a size from ${spec.min} to ${spec.max} bytes (a number of bytes, or e.g. 64KiB, 1MiB)`
    case 'strings': return 'a list of strings'
    case 'labels': return 'a mapping of string keys to string values'
    case 'numbers': return 'a mapping of string keys to non-negative numbers'
    case 'handlers': return 'a mapping of task type to {builtin: echo|sha256|sleep|fail} or {command: [argv...], timeout?, max_output?, env?, cwd?}'
  }
}

/** Validates one field; returns the typed value. `undefined` means "not set and no default". */
export function readField (file: string, path: string, spec: FieldSpec, value: unknown): unknown {
  const fail = (): never => { throw new ConfigError(file, path, expectedOf(spec), describe(value)) }
  if (value === undefined || value === null) {
    if (spec.kind === 'handlers') return {}
    if ('default' in spec && spec.default !== undefined) return spec.default
    if ('optional' in spec && spec.optional === true) return undefined
    if (value === null) fail()
    return undefined
  }
  switch (spec.kind) {
    case 'string': {
      if (typeof value !== 'string' && typeof value !== 'number') fail()
      const s = typeof value === 'string' ? value : String(Number(value))
      if (spec.oneOf != null && !spec.oneOf.includes(s)) fail()
      if (spec.pattern != null && !spec.pattern.test(s)) fail()
      return s
    }
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min || value > spec.max) fail()
      return value
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < spec.min || value > spec.max) fail()
      return value
    }
    case 'bool': {
      if (typeof value !== 'boolean') fail()
      return value
    }
    case 'duration': {
      const ms = parseDuration(value)
      if (ms === undefined || ms < spec.min || ms > spec.max) fail()
      return ms
    }
    case 'size': {
      const bytes = parseSize(value)
      if (bytes === undefined || bytes < spec.min || bytes > spec.max) fail()
      return bytes
    }
    case 'strings': {
      if (!Array.isArray(value)) fail()
      const list = value as unknown[]
      list.forEach((item, i) => {
        if (typeof item !== 'string' || item.trim() === '') {
          throw new ConfigError(file, `${path}[${i}]`, 'a non-empty string', describe(item))
        }
      })
      return list.map(s => (s as string).trim())
    }
    case 'labels': {
      if (!isRecord(value)) fail()
      const out: Record<string, string> = {}
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          throw new ConfigError(file, `${path}.${k}`, 'a string value', describe(v))
        }
        out[k] = String(v)
      }
      return out
    }
    case 'numbers': {
      if (!isRecord(value)) fail()
      const out: Record<string, number> = {}
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
          throw new ConfigError(file, `${path}.${k}`, 'a non-negative number', describe(v))
        }
        out[k] = v
      }
      return out
    }
    case 'handlers':
      if (!isRecord(value)) fail()
      return value
  }
}

/** Rejects keys the schema does not know, naming the nearest known key when it looks like a typo. */
export function rejectUnknownKeys (file: string, path: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const hint = known.find(k => editDistance(k, key) <= 2)
      const where = path === '' ? key : `${path}.${key}`
      throw new ConfigError(file, where, hint != null ? `a known key (did you mean "${hint}"?)` : `one of the known keys: ${known.join(', ')}`, 'an unknown key')
    }
  }
}

function editDistance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length] ?? 0
}

export { isRecord, describe }
