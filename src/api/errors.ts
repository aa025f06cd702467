/** An error the API answers with its own status and `{"error": {"code", "message"}}` body. */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  readonly status: number
  readonly code: string
  readonly headers: Record<string, string>

  constructor (status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.status = status
    this.code = code
    this.headers = headers
  }
}

/**
 * Error codes a NodeApi implementation may put on `err.code` to choose the HTTP status; the message
 * of such an error is shown to the client, so it must say what to do. Anything else is answered as
 * a 500 with a generic message, never the error's own text or stack.
 */
export const NODE_ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_argument: 400,
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unavailable: 503,
  draining: 503
}

/** Maps any thrown value to the error the client sees. */
export function toHttpError (err: unknown): HttpError {
  if (err instanceof HttpError) return err
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string') {
      const status = NODE_ERROR_STATUS[code]
      if (status !== undefined) return new HttpError(status, code, err.message)
    }
  }
  return new HttpError(500, 'internal', 'internal error; see the node log for details')
}

export function badRequest (message: string): HttpError {
  return new HttpError(400, 'bad_request', message)
}
