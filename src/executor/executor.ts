import type { HandlerSpec } from '../config/types.ts'
import { BUILTIN_HANDLERS, MAX_TIMER_MS } from './builtins.ts'
import { createCommandHandler } from './command.ts'
import { ExecutionError, errorMessage } from './errors.ts'
import type { ExecutionResult, Handler, SpawnInfo } from './types.ts'

/**
 * How long a handler may take to wind down after its signal fired before the attempt is reported
 * anyway. Our handlers stop promptly (a killed process group exits at once); this only bounds a handler
 * that ignores its signal, so a stuck one cannot hold a caller past its timeout indefinitely.
 */
export const ABORT_GRACE_MS = 5000

export interface ExecutorInit {
  handlers: Record<string, HandlerSpec>
  /** how many attempts may run at once; leases beyond this are refused */
  slots: number
  /** used when neither the run nor the handler sets a timeout */
  defaultTimeoutMs: number
  /** a command handler started a process (for debug logs) */
  onSpawn?: (info: SpawnInfo) => void
}

export interface RunOptions {
  /**
   * aborting it cancels the attempt: code `cancelled`, or the code of an `ExecutionError` given as the
   * abort reason (e.g. `timeout` for a scheduler-side deadline)
   */
  signal?: AbortSignal
  /** per-attempt timeout; overrides the handler's and the default */
  timeoutMs?: number
}

/** A reserved slot. `release()` is idempotent so every exit path may call it. */
export interface SlotLease {
  release: () => void
}

export const EXECUTOR_CHANGE_EVENT = 'change'

/**
 * Dispatched when `running`/`freeSlots` have changed, so a worker can advertise capacity promptly.
 * Changes within one synchronous burst are coalesced into one event on the next microtask: listeners
 * see the settled state, and a listener that takes a lease cannot re-enter the call that freed it.
 */
export class ExecutorChangeEvent extends Event {
  readonly running: number
  readonly freeSlots: number

  constructor (running: number, freeSlots: number) {
    super(EXECUTOR_CHANGE_EVENT)
    this.running = running
    this.freeSlots = freeSlots
  }
}

interface RegisteredHandler {
  handler: Handler
  timeoutMs?: number
}

/**
 * Runs task attempts with the configured handlers, within a fixed number of slots.
 *
 * Slots are reserved separately from running (`tryAcquire`, then `run`) because the scheduler commits
 * to a task when it accepts an offer, before the payload has arrived; counting only running handlers
 * would let it accept more offers than it can serve.
 */
export class Executor extends EventTarget {
  readonly slots: number
  private readonly defaultTimeoutMs: number
  private readonly handlers: Map<string, RegisteredHandler>
  /** one controller per in-flight run, for abortAll */
  private readonly inFlight = new Set<AbortController>()
  private leased = 0
  private maxLeased = 0
  private changePending = false

  constructor (init: ExecutorInit) {
    super()
    if (!Number.isInteger(init.slots) || init.slots < 0) {
      throw new RangeError(`executor slots must be a non-negative integer, got ${init.slots}`)
    }
    this.slots = init.slots
    this.defaultTimeoutMs = init.defaultTimeoutMs
    this.handlers = new Map(Object.entries(init.handlers).map(([type, spec]) => [type, createHandler(type, spec, init.onSpawn)]))
  }

  types (): string[] {
    return [...this.handlers.keys()]
  }

  has (type: string): boolean {
    return this.handlers.has(type)
  }

  /** slots currently leased */
  get running (): number {
    return this.leased
  }

  get freeSlots (): number {
    return this.slots - this.leased
  }

  /** the most slots ever leased at once; never above `slots` */
  get maxObservedRunning (): number {
    return this.maxLeased
  }

  tryAcquire (): SlotLease | undefined {
    if (this.leased >= this.slots) return undefined
    this.leased++
    this.maxLeased = Math.max(this.maxLeased, this.leased)
    let released = false
    this.emitChange()
    return {
      release: () => {
        if (released) return
        released = true
        this.leased--
        this.emitChange()
      }
    }
  }

  /**
   * Runs one attempt. Never rejects: every failure, including an unknown type or a handler that
   * throws, is a result with a code. Does not lease a slot; callers hold one from `tryAcquire`.
   */
  async run (type: string, payload: Uint8Array, options: RunOptions = {}): Promise<ExecutionResult> {
    const started = performance.now()
    const elapsed = (): number => Math.round(performance.now() - started)

    const registered = this.handlers.get(type)
    if (registered === undefined) {
      return { ok: false, code: 'unknown_type', error: `no handler for task type "${type}"`, durationMs: elapsed() }
    }

    const timeoutMs = clampTimeout(options.timeoutMs ?? registered.timeoutMs ?? this.defaultTimeoutMs, this.defaultTimeoutMs)
    const controller = new AbortController()
    const timer = setTimeout(() => {
      controller.abort(new ExecutionError('timeout', `timed out after ${timeoutMs}ms`))
    }, timeoutMs)
    const callerSignal = options.signal
    const onCallerAbort = (): void => {
      const reason: unknown = callerSignal?.reason
      controller.abort(reason instanceof ExecutionError ? reason : cancelledError(reason))
    }
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true })
    if (callerSignal?.aborted === true) onCallerAbort()
    this.inFlight.add(controller)

    const grace = abandonAfterAbort(controller.signal)
    try {
      // async wrapper: a handler that throws synchronously still becomes a result
      const attempt = (async () => registered.handler(payload, { signal: controller.signal }))()
      const output = await Promise.race([attempt, grace.promise])
      // abort wins over a result that lost the race by a tick, so a timeout is reported as one
      if (controller.signal.aborted) return failure(controller.signal.reason, elapsed())
      return { ok: true, output, durationMs: elapsed() }
    } catch (err) {
      return failure(controller.signal.aborted ? controller.signal.reason : err, elapsed())
    } finally {
      grace.cancel()
      clearTimeout(timer)
      callerSignal?.removeEventListener('abort', onCallerAbort)
      this.inFlight.delete(controller)
    }
  }

  /** Cancels every in-flight run (code `cancelled`), e.g. on shutdown. Leases stay with their holders. */
  abortAll (reason?: unknown): void {
    const error = cancelledError(reason)
    for (const controller of this.inFlight) controller.abort(error)
  }

  private emitChange (): void {
    if (this.changePending) return
    this.changePending = true
    queueMicrotask(() => {
      this.changePending = false
      this.dispatchEvent(new ExecutorChangeEvent(this.running, this.freeSlots))
    })
  }
}

function createHandler (type: string, spec: HandlerSpec, onSpawn: ExecutorInit['onSpawn']): RegisteredHandler {
  if ('builtin' in spec) return { handler: BUILTIN_HANDLERS[spec.builtin] }
  const handler = createCommandHandler(spec, {
    onSpawn: onSpawn === undefined ? undefined : (pid) => { onSpawn({ type, pid, command: spec.command }) }
  })
  return { handler, timeoutMs: spec.timeoutMs }
}

/** Rejects `ABORT_GRACE_MS` after the signal fires, bounding a handler that ignores it. */
function abandonAfterAbort (signal: AbortSignal): { promise: Promise<never>, cancel: () => void } {
  let timer: NodeJS.Timeout | undefined
  let onAbort = (): void => {}
  const promise = new Promise<never>((_resolve, reject) => {
    onAbort = (): void => {
      // our controllers always abort with an ExecutionError
      timer = setTimeout(() => { reject(signal.reason as ExecutionError) }, ABORT_GRACE_MS)
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  return {
    promise,
    cancel: () => {
      signal.removeEventListener('abort', onAbort)
      clearTimeout(timer)
    }
  }
}

function clampTimeout (ms: number, fallback: number): number {
  if (Number.isNaN(ms)) return Math.min(Math.max(fallback, 1), MAX_TIMER_MS)
  return Math.min(Math.max(ms, 1), MAX_TIMER_MS)
}

function cancelledError (reason: unknown): ExecutionError {
  return new ExecutionError('cancelled', reason === undefined ? 'cancelled' : `cancelled: ${errorMessage(reason)}`)
}

function failure (err: unknown, durationMs: number): ExecutionResult {
  if (err instanceof ExecutionError) return { ok: false, code: err.code, error: err.message, durationMs }
  return { ok: false, code: 'handler_error', error: errorMessage(err), durationMs }
}
