/** Why an attempt failed; a closed set so the scheduler can map each code to retry/terminal semantics. */
export type ExecutionFailureCode = 'unknown_type' | 'handler_error' | 'timeout' | 'cancelled' | 'output_too_large'

/**
 * The one error handlers throw to choose a failure code. Anything else a handler throws is reported as
 * `handler_error` with its message, so handlers only need this for the other codes.
 */
export class ExecutionError extends Error {
  readonly code: ExecutionFailureCode

  constructor (code: ExecutionFailureCode, message: string) {
    super(message)
    this.name = 'ExecutionError'
    this.code = code
  }
}

export function errorMessage (err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'string') return err
  return String(err)
}
