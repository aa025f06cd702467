import { createHash } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import type { HandlerSpec } from '../config/types.ts'
import { ExecutionError } from './errors.ts'
import type { Handler } from './types.ts'

export type BuiltinName = Extract<HandlerSpec, { builtin: string }>['builtin']

/** setTimeout's ceiling; longer delays overflow and fire immediately */
export const MAX_TIMER_MS = 2 ** 31 - 1

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** enough of a bad payload to recognise it in an error message without echoing a large blob */
function preview (text: string): string {
  return text.length > 32 ? `${text.slice(0, 32)}…` : text
}

const echo: Handler = async (payload) => payload

const sha256: Handler = async (payload) => encoder.encode(createHash('sha256').update(payload).digest('hex'))

const sleep: Handler = async (payload, { signal }) => {
  const text = decoder.decode(payload).trim()
  const ms = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN
  if (!(ms <= MAX_TIMER_MS)) {
    throw new ExecutionError('handler_error', `sleep: payload must be a whole number of milliseconds up to ${MAX_TIMER_MS}, got "${preview(text)}"`)
  }
  // rejects with an AbortError; the executor reports the signal's reason (timeout or cancelled) instead
  await delay(ms, undefined, { signal })
  return encoder.encode(`slept ${ms}ms`)
}

const fail: Handler = async (payload) => {
  const text = decoder.decode(payload)
  throw new ExecutionError('handler_error', text === '' ? 'fail: failed as requested' : text)
}

/** Typed over the closed set of builtin names, so a new name does not compile until it has a handler. */
export const BUILTIN_HANDLERS: Readonly<Record<BuiltinName, Handler>> = { echo, sha256, sleep, fail }
