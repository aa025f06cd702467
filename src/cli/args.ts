/** Turning a command line into arguments, and argument values into numbers. */

/** A mistake in how a command was typed; the REPL prints it with the command's usage, one-shot exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  /** the command it concerns and its usage line, once known */
  readonly command?: { name: string, usage: string }

  constructor (message: string, command?: { name: string, usage: string }) {
    super(message)
    if (command !== undefined) this.command = command
  }
}

export const MAX_LINE_LENGTH = 64 * 1024

/**
 * Splits a line into words like a shell does, without expansion: whitespace separates words,
 * single quotes keep everything, double quotes keep everything but `\"` and `\\`, and a backslash
 * outside quotes escapes the next character.
 */
export function splitWords (line: string): string[] {
  if (line.length > MAX_LINE_LENGTH) throw new UsageError(`the line is longer than ${MAX_LINE_LENGTH} characters`)
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i]
      else word += c
    } else if (c === "'" || c === '"') {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (quote !== undefined) throw new UsageError(`missing closing ${quote} quote`)
  if (inWord) words.push(word)
  return words
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `500ms`, `30s`, `1.5m`, `2h` to milliseconds */
export function parseDuration (text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim())
  const ms = match === null ? NaN : Number(match[1]) * (DURATION_UNITS[match[2]!] ?? NaN)
  if (!Number.isFinite(ms) || ms < 1 || ms > Number.MAX_SAFE_INTEGER) {
    throw new UsageError(`${what} must be a duration with a unit, like 500ms, 30s, 2m or 1h (got "${text}")`)
  }
  return Math.round(ms)
}

export function parsePositiveInt (text: string, what: string, max = 1_000_000): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${what} must be a whole number from 1 to ${max} (got "${text}")`)
  }
  return n
}

/** `a,b, c` to `['a', 'b', 'c']` */
export function parseList (text: string): string[] {
  return text.split(',').map(s => s.trim()).filter(s => s !== '')
}
