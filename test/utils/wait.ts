/**
 * Waiting on conditions, never on fixed sleeps: every wait polls a condition until a deadline that
 * is generous on purpose (a noisy 2-core machine may be many times slower than a laptop) and fails
 * with a message that says what was awaited and what was last seen.
 */
import { setTimeout as delay } from 'node:timers/promises'

export interface WaitOptions {
  /** default 30 s */
  timeoutMs?: number
  /** default 50 ms */
  intervalMs?: number
  /** what the wait is for, for the error message */
  what?: string
  /** what to report about the state when the deadline passes */
  describe?: () => unknown
}

/** Polls `check` until it returns a value other than undefined/false, and returns that value. */
export async function waitFor<T> (check: () => T | undefined | false | Promise<T | undefined | false>, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const state = options.describe != null ? ` last state: ${safeJson(options.describe())}` : ''
      const error = lastError instanceof Error ? ` last error: ${lastError.message}` : lastError != null ? ` last error: ${safeJson(lastError)}` : ''
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${options.what ?? 'a condition'}.${state}${error}`)
    }
    await delay(options.intervalMs ?? 50)
  }
}

/** Resolves with the promise's value, or rejects when it has not settled within `timeoutMs`. */
export async function withTimeout<T> (promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)) }, timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function safeJson (v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString() : x)
  } catch {
    return String(v)
  }
}
