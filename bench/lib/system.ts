/** What a load scenario drives: the p2p network or the BullMQ baseline, behind one interface. */
import type { Child } from './procs.ts'

export type SystemName = 'p2p' | 'bullmq'

export interface Outcome {
  ok: boolean
  /** final status ('succeeded', 'failed', ... for p2p; 'completed' / 'failed' for BullMQ) */
  status: string
  /** performance.now() when the submitter learned the result */
  at: number
}

export interface Submitted {
  /** resolves when the result is back at the submitter */
  done: Promise<Outcome>
}

export interface TaskSystem {
  readonly name: SystemName
  /** submits one task (default: a no-op `echo` with an empty payload); resolves once it is accepted (journaled / in Redis) */
  submit: (task?: { type: string, payload: string, selector?: string }) => Promise<Submitted>
  /** results delivered for a task that had already completed, since start */
  completedTwice: () => number
  /** worker processes (and redis-server for BullMQ), for CPU accounting and probes */
  children: () => Child[]
  stop: () => Promise<void>
}
