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
  /** accepted tasks that may wait for a slot on the worker (absent: 0) */
  prefetch?: number
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

/**
 * Room for more attempts as this submitter estimates it: slots and prefetch places less the
 * heartbeat's running count or this submitter's own placements there (accepted or offered),
 * whichever is more. With prefetch the room exceeds the free slots: more than `prefetch` means a
 * slot is free.
 */
export function estimatedFree (w: WorkerInfo, inflight: number): number {
  return Math.max(0, w.slots + (w.prefetch ?? 0) - Math.max(w.running, inflight))
}

/** What a free slot adds to a worker's score: more than reputation, load and RTT can (7 at most). */
const FREE_SLOT_SCORE = 16

/**
 * A worker's score for a task, or undefined when it is no candidate (cannot run it, full, refused,
 * no room, or the task failed there while another capable worker exists: `avoidFailed`). The
 * score prefers a free slot, then most free capacity, reputation, low load and RTT; a worker where
 * this task already failed scores last (used only when no other can serve).
 */
function candidateScore (w: WorkerInfo, task: TaskNeeds, ctx: RankContext, avoidFailed: boolean): number | undefined {
  const failed = ctx.failedOn.size > 0 && ctx.failedOn.has(w.peerId)
  if ((avoidFailed && failed) || !canRun(w, task) || ctx.full(w.peerId)) return undefined
  const free = estimatedFree(w, ctx.inflight(w.peerId))
  if (free <= 0) return undefined
  const rtt = ctx.rttMs(w.peerId) ?? 5
  const prefetch = w.prefetch ?? 0
  const freeSlots = free - prefetch
  // a free slot outweighs everything but an earlier failure here (reputation, load and RTT add up
  // to at most 7), so prefetch places are used only once no candidate has a free slot; among
  // those, the one with most places left
  const room = freeSlots > 0 ? FREE_SLOT_SCORE + (freeSlots / w.slots) * 4 : free / prefetch
  return room + ctx.reputation(w.peerId) * 2 - Math.min(w.load, 4) * 0.25 - Math.min(rtt, 1000) / 250 -
    (failed ? 100 : 0)
}

/**
 * Avoid workers where the task failed while any other capable worker exists, even a busy one: it
 * frees a slot soon, while the failed one may be cut off and only time out the offer.
 */
function avoidsFailed (workers: readonly WorkerInfo[], task: TaskNeeds, failedOn: ReadonlySet<string>): boolean {
  return failedOn.size > 0 && workers.some(w => !failedOn.has(w.peerId) && canRun(w, task))
}

/** Is (score a, worker a) ahead of (score b, worker b)? Ties go to the lower peer ID (code-unit order). */
function ahead (a: number, aId: string, b: number, bId: string): boolean {
  return a > b || (a === b && aId < bId)
}

/** Candidates with a free slot, best first (see candidateScore). */
export function rankCandidates (workers: readonly WorkerInfo[], task: TaskNeeds, ctx: RankContext): WorkerInfo[] {
  const avoidFailed = avoidsFailed(workers, task, ctx.failedOn)
  const scored: Array<{ w: WorkerInfo, score: number }> = []
  for (const w of workers) {
    const score = candidateScore(w, task, ctx, avoidFailed)
    if (score !== undefined) scored.push({ w, score })
  }
  scored.sort((a, b) => ahead(a.score, a.w.peerId, b.score, b.w.peerId) ? -1 : ahead(b.score, b.w.peerId, a.score, a.w.peerId) ? 1 : 0)
  return scored.map(s => s.w)
}

/**
 * The first of rankCandidates, in one pass and without sorting: placement asks for it once per
 * task, over every known worker (at 50 workers a sort per task was a share of the submitter's CPU
 * that grew with the network).
 */
export function bestCandidate (workers: readonly WorkerInfo[], task: TaskNeeds, ctx: RankContext): WorkerInfo | undefined {
  const avoidFailed = avoidsFailed(workers, task, ctx.failedOn)
  let best: WorkerInfo | undefined
  let bestScore = 0
  for (const w of workers) {
    const score = candidateScore(w, task, ctx, avoidFailed)
    if (score === undefined) continue
    if (best === undefined || ahead(score, w.peerId, bestScore, best.peerId)) { best = w; bestScore = score }
  }
  return best
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
