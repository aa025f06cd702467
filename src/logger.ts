/**
 * Structured logs: one JSON object a line (for Kubernetes log pipelines), or readable lines when
 * stdout is a terminal. Logs go to stderr so stdout stays free for command output.
 */
import type { LogLevel } from './config/types.ts'

const LEVELS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: 100 }

export interface Logger {
  trace(msg: string, fields?: Record<string, unknown>): void
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(bindings: Record<string, unknown>): Logger
}

export interface LoggerInit {
  level: LogLevel
  format: 'auto' | 'json' | 'pretty'
  bindings?: Record<string, unknown>
  write?: (line: string) => void
}

function errorFields (value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code }
  return value
}

export function createLogger (init: LoggerInit): Logger {
  const threshold = LEVELS[init.level]
  const pretty = init.format === 'pretty' || (init.format === 'auto' && process.stderr.isTTY)
  const write = init.write ?? ((line: string) => { process.stderr.write(line + '\n') })
  const bindings = init.bindings ?? {}
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < threshold) return
    const all: Record<string, unknown> = { ...bindings, ...fields }
    for (const [k, v] of Object.entries(all)) all[k] = errorFields(v)
    if (pretty) {
      const extra = Object.entries(all).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
      write(`${new Date().toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${extra === '' ? '' : ' ' + extra}`)
    } else {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...all }))
    }
  }
  return {
    trace: (m, f) => { emit('trace', m, f) },
    debug: (m, f) => { emit('debug', m, f) },
    info: (m, f) => { emit('info', m, f) },
    warn: (m, f) => { emit('warn', m, f) },
    error: (m, f) => { emit('error', m, f) },
    child: (b) => createLogger({ ...init, bindings: { ...bindings, ...b } })
  }
}

export const silentLogger: Logger = createLogger({ level: 'silent', format: 'json' })
