/**
 * Matching and placement: which workers may run a task, and in which order to offer it. Pure.
 */
import { matchesSelector, type Requirement } from './selector.ts'

export interface WorkerInfo {
  peerId: string
  capabilities: readonly string[]
  labels: Readonly<Record<string, string>>
  taskTypes: readonly string[]
  slots: number
  /** running tasks as of the latest heartbeat */
  running: number
  load: number
  draining?: boolean
}

export interface TaskNeeds {
  type: string
  requires: readonly string[]
  selector: readonly Requirement[]
}

export type MismatchReason = 'capability' | 'handler' | 'selector' | 'no_slots'

/** Why a worker cannot run a task, or undefined when it can (ignoring how busy it is now). */
export function mismatch (w: WorkerInfo, t: TaskNeeds): MismatchReason | undefined {
  if (w.slots <= 0 || w.draining === true) return 'no_slots'
  if (!t.requires.every(c => w.capabilities.includes(c))) return 'capability'
  if (!w.taskTypes.includes(t.type)) return 'handler'
  if (!matchesSelector(t.selector, w.labels)) return 'selector'
  return undefined
}

export function canRun (w: WorkerInfo, t: TaskNeeds): boolean {
  return mismatch(w, t) === undefined
}

export interface RankContext {
  /** attempts this submitter has placed on each worker and not seen end */
  inflight: (peerId: string) => number
  rttMs: (peerId: string) => number | undefined
  /** 0..1, 0.5 for a worker never seen */
  reputation: (peerId: string) => number
  /** workers on which this task already failed */
  failedOn: ReadonlySet<string>
  /** workers that refused recently and have not shown a free slot since */
  full: (peerId: string) => boolean
}

/** Free slots as this submitter estimates them: the heartbeat's view, corrected by its own placements. */
export function estimatedFree (w: WorkerInfo, inflight: number): number {
  return Math.max(0, w.slots - Math.max(w.running, inflight))
}

/**
 * Candidates with a free slot, best first: most free capacity, then reputation, low load and RTT;
 * workers where this task already failed go last (used only when no other can serve).
 */
export function rankCandidates (workers: readonly WorkerInfo[], task: TaskNeeds, ctx: RankContext): WorkerInfo[] {
  const scored: Array<{ w: WorkerInfo, score: number }> = []
  // avoid workers where the task failed while any other capable worker exists, even a busy one:
  // it frees a slot soon, while the failed one may be cut off and only time out the offer
  const others = workers.some(w => canRun(w, task) && !ctx.failedOn.has(w.peerId))
  for (const w of workers) {
    if (!canRun(w, task) || ctx.full(w.peerId) || (others && ctx.failedOn.has(w.peerId))) continue
    const free = estimatedFree(w, ctx.inflight(w.peerId))
    if (free <= 0) continue
    const rtt = ctx.rttMs(w.peerId) ?? 5
    const score = (free / w.slots) * 4 + ctx.reputation(w.peerId) * 2 - Math.min(w.load, 4) * 0.25 - Math.min(rtt, 1000) / 250 -
      (ctx.failedOn.has(w.peerId) ? 100 : 0)
    scored.push({ w, score })
  }
  scored.sort((a, b) => b.score - a.score || a.w.peerId.localeCompare(b.w.peerId))
  return scored.map(s => s.w)
}

/** Explains in one sentence why no known worker can ever take a task. */
export function explainNoWorker (workers: readonly WorkerInfo[], task: TaskNeeds, selectorText: string): string {
  if (workers.length === 0) return 'no worker is known on this network'
  // what each worker lacks as if it had slots: a draining worker with the capability is not a
  // worker without it
  const reasons = workers.map(w => mismatch({ ...w, slots: Math.max(w.slots, 1), draining: false }, task))
  if (reasons.every(r => r === 'capability')) return `no worker advertises the capabilities [${task.requires.join(', ')}]`
  if (reasons.every(r => r === 'capability' || r === 'handler')) return `no worker with [${task.requires.join(', ')}] has a handler for task type "${task.type}"`
  if (reasons.every(r => r !== undefined)) return `no capable worker has labels matching selector "${selectorText}"`
  return `every worker that could run task type "${task.type}" is draining or has no slots`
}
