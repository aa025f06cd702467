import type { ExecutionFailureCode } from './errors.ts'

export interface HandlerContext {
  /** aborted on timeout, cancellation or shutdown; the reason is an `ExecutionError` */
  signal: AbortSignal
}

/** Runs one attempt. Resolves with the result bytes, or throws (an `ExecutionError` to pick the code). */
export type Handler = (payload: Uint8Array, context: HandlerContext) => Promise<Uint8Array>

export type ExecutionResult =
  | { ok: true, output: Uint8Array, durationMs: number }
  | { ok: false, code: ExecutionFailureCode, error: string, durationMs: number }

/** Reported when a command handler has started its process, e.g. to log the pid of a stuck task. */
export interface SpawnInfo {
  type: string
  pid: number
  command: readonly string[]
}
