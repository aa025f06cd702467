/**
 * The HTTP wire format of requests, in one place for the server (parse, strictly) and the HTTP
 * client (build). Responses are the NodeApi views serialised as they are.
 */
import { badRequest } from './errors.ts'
import type { SubmitRequest, TaskStatus } from '../node-api.ts'

/** Body of `POST /api/v1/tasks`. */
export interface SubmitBody {
  type: string
  payload: string
  /** how `payload` is encoded; default utf8 */
  payload_encoding?: 'utf8' | 'base64'
  requires?: string[]
  selector?: string
  timeout_ms?: number
  max_attempts?: number
  queue_timeout_ms?: number
  deadline_ms?: number
}

export const LIMITS = {
  typeLength: 128,
  requires: 64,
  capabilityLength: 128,
  selectorLength: 1024,
  maxAttempts: 1000,
  listLimit: 10_000,
  /** longest a `GET /api/v1/tasks/:id?wait=true` holds the request before answering with the current state */
  longPollMs: 60_000
} as const

// a Record, so a status added to TaskStatus does not compile until it is listed here
const STATUS_KEYS: Record<TaskStatus, true> = {
  queued: true, running: true, succeeded: true, failed: true, timed_out: true, queue_timeout: true, no_capable_worker: true, cancelled: true
}
export const TASK_STATUSES = Object.keys(STATUS_KEYS) as readonly TaskStatus[]

const BODY_FIELDS = new Set<keyof SubmitBody>([
  'type', 'payload', 'payload_encoding', 'requires', 'selector', 'timeout_ms', 'max_attempts', 'queue_timeout_ms', 'deadline_ms'
])

export function toSubmitBody (request: SubmitRequest): SubmitBody {
  const body: SubmitBody = typeof request.payload === 'string'
    ? { type: request.type, payload: request.payload }
    : { type: request.type, payload: Buffer.from(request.payload).toString('base64'), payload_encoding: 'base64' }
  if (request.requires !== undefined) body.requires = request.requires
  if (request.selector !== undefined) body.selector = request.selector
  if (request.timeoutMs !== undefined) body.timeout_ms = request.timeoutMs
  if (request.maxAttempts !== undefined) body.max_attempts = request.maxAttempts
  if (request.queueTimeoutMs !== undefined) body.queue_timeout_ms = request.queueTimeoutMs
  if (request.deadlineMs !== undefined) body.deadline_ms = request.deadlineMs
  return body
}

/** Validates a parsed JSON body field by field; throws a 400 naming the first bad field. */
export function parseSubmitBody (json: unknown): SubmitRequest {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badRequest('request body must be a JSON object like {"type": "compute", "payload": "hello"}')
  }
  const body = json as Record<string, unknown>
  for (const key of Object.keys(body)) {
    if (!BODY_FIELDS.has(key as keyof SubmitBody)) {
      throw badRequest(`unknown field "${key}"; allowed fields: ${[...BODY_FIELDS].join(', ')}`)
    }
  }
  const type = body.type
  if (typeof type !== 'string' || type === '' || type.length > LIMITS.typeLength || /\s/.test(type)) {
    throw badRequest(`"type" must be a non-empty string without spaces, at most ${LIMITS.typeLength} characters`)
  }
  if (typeof body.payload !== 'string') throw badRequest('"payload" must be a string (use "payload_encoding": "base64" for bytes)')
  const encoding = body.payload_encoding ?? 'utf8'
  if (encoding !== 'utf8' && encoding !== 'base64') throw badRequest('"payload_encoding" must be "utf8" or "base64"')
  const request: SubmitRequest = { type, payload: encoding === 'base64' ? decodeBase64(body.payload) : body.payload }

  if (body.requires !== undefined) {
    const requires = body.requires
    if (!Array.isArray(requires) || requires.length > LIMITS.requires ||
        !requires.every((r): r is string => typeof r === 'string' && r !== '' && r.length <= LIMITS.capabilityLength)) {
      throw badRequest(`"requires" must be an array of at most ${LIMITS.requires} non-empty strings`)
    }
    request.requires = requires
  }
  if (body.selector !== undefined) {
    if (typeof body.selector !== 'string' || body.selector.length > LIMITS.selectorLength) {
      throw badRequest(`"selector" must be a string of at most ${LIMITS.selectorLength} characters, e.g. "zone=b"`)
    }
    request.selector = body.selector
  }
  const timeoutMs = positiveInt(body, 'timeout_ms')
  if (timeoutMs !== undefined) request.timeoutMs = timeoutMs
  const maxAttempts = positiveInt(body, 'max_attempts', LIMITS.maxAttempts)
  if (maxAttempts !== undefined) request.maxAttempts = maxAttempts
  const queueTimeoutMs = positiveInt(body, 'queue_timeout_ms')
  if (queueTimeoutMs !== undefined) request.queueTimeoutMs = queueTimeoutMs
  const deadlineMs = positiveInt(body, 'deadline_ms')
  if (deadlineMs !== undefined) request.deadlineMs = deadlineMs
  return request
}

function positiveInt (body: Record<string, unknown>, field: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const value = body[field]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw badRequest(`"${field}" must be an integer from 1 to ${max}`)
  }
  return value
}

function decodeBase64 (text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw badRequest('"payload" is not valid base64')
  }
  return new Uint8Array(Buffer.from(text, 'base64'))
}

/** `true`/`1` and `false`/`0`; absent gives `undefined`. */
export function parseBooleanParam (params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name)
  if (value === null) return undefined
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw badRequest(`query parameter "${name}" must be true or false`)
}

export function parseIntParam (params: URLSearchParams, name: string, max: number): number | undefined {
  const value = params.get(name)
  if (value === null) return undefined
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw badRequest(`query parameter "${name}" must be an integer from 1 to ${max}`)
  }
  return n
}

export function parseStatusParam (params: URLSearchParams): TaskStatus | undefined {
  const value = params.get('status')
  if (value === null) return undefined
  const status = TASK_STATUSES.find(s => s === value)
  if (status === undefined) throw badRequest(`query parameter "status" must be one of ${TASK_STATUSES.join(', ')}`)
  return status
}
