import { createHash, timingSafeEqual } from 'node:crypto'
import { HttpError, badRequest } from './errors.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Reads the request body up to `maxBytes` and parses it as JSON. */
export async function readJsonBody (req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = (): HttpError =>
    new HttpError(413, 'payload_too_large', `request body is larger than ${maxBytes} bytes; send a smaller payload`)
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) {
    // answer without reading what would be thrown away, and drop the connection after the reply
    throw tooLarge()
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw tooLarge()
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw badRequest('request body is empty; send a JSON object')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`)
  }
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers
  })
  res.end(text)
}

export function sendError (res: ServerResponse, err: HttpError): void {
  const headers = { ...err.headers }
  // an unread request body would otherwise be parsed as the next request on this connection
  if (err.status === 413 || err.status === 401) headers.connection = 'close'
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, headers)
}

/** Constant-time check of `Authorization: Bearer <token>`; throws 401 when it does not match. */
export function requireBearer (req: IncomingMessage, token: string): void {
  const header = req.headers.authorization ?? ''
  const match = /^Bearer\s+(.+)$/i.exec(header)
  const given = match?.[1]?.trim() ?? ''
  // hashing first makes both sides the same length, so timingSafeEqual never leaks the length
  const ok = given !== '' && timingSafeEqual(digest(given), digest(token))
  if (!ok) {
    throw new HttpError(401, 'unauthorized',
      header === ''
        ? 'this route needs an API token: send "Authorization: Bearer <api.token>"'
        : 'the API token is wrong: send the api.token configured on this node',
      { 'www-authenticate': 'Bearer' })
  }
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
