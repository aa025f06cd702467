/**
 * The narrow facade every operator surface (REPL, one-shot CLI, HTTP API, metrics) uses to talk to a
 * node. There is no second path around it: the HTTP client in `cli/` implements the same interface
 * over HTTP, so the REPL works the same in-process and attached to a running node.
 */
export type Role = 'bootstrap' | 'relay' | 'worker'

export type TaskStatus =
  | 'queued' // journaled, waiting for a worker (offered, or broadcast and waiting for claims)
  | 'running' // an attempt has been granted and is running on a worker
  | 'succeeded'
  | 'failed' // the handler failed on every attempt (max_attempts reached)
  | 'timed_out' // execution timeout on the last attempt, or the total deadline passed
  | 'queue_timeout' // waited longer than the queue timeout for a worker
  | 'no_capable_worker' // no known worker can ever take it
  | 'cancelled'

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'succeeded', 'failed', 'timed_out', 'queue_timeout', 'no_capable_worker', 'cancelled'
])

export interface SubmitRequest {
  type: string
  /** UTF-8 text or raw bytes */
  payload: string | Uint8Array
  /** capabilities the worker must have; default: [type] */
  requires?: string[]
  /** label selector, e.g. "zone=b,tier!=spot,region in (eu,us)" */
  selector?: string
  /** execution timeout per attempt */
  timeoutMs?: number
  maxAttempts?: number
  /** how long the task may wait for a worker */
  queueTimeoutMs?: number
  /** total deadline from submission */
  deadlineMs?: number
}

export interface AttemptView {
  attempt: number
  worker: string
  startedAt: number
  endedAt?: number
  outcome?: 'succeeded' | 'failed' | 'timed_out' | 'lost' | 'cancelled' | 'refused'
  error?: string
}

export interface TaskView {
  id: string
  type: string
  status: TaskStatus
  requires: string[]
  selector?: string
  submittedAt: number
  endedAt?: number
  attempts: number
  maxAttempts: number
  /** peer ID of the worker whose result completed the task */
  worker?: string
  /** result as UTF-8 text when it is valid UTF-8, else base64 with resultEncoding 'base64' */
  result?: string
  resultEncoding?: 'utf8' | 'base64'
  error?: string
  durationMs?: number
  history: AttemptView[]
}

export interface PeerView {
  peerId: string
  role?: Role
  addresses: string[]
  connected: boolean
  rttMs?: number
  healthy: boolean
  lastSeen?: number
  successes: number
  failures: number
  capabilities: string[]
  labels: Record<string, string>
  /** credits this node's ledger owes the peer for completed tasks */
  credits: number
  reputation?: number
}

export interface NodeStatus {
  peerId: string
  role: Role
  protocolVersion: string
  version: string
  addresses: string[]
  uptimeMs: number
  connectedPeers: number
  healthyPeers: number
  capabilities: string[]
  labels: Record<string, string>
  slots: number
  running: number
  draining: boolean
  tasks: { queued: number, running: number, succeeded: number, failed: number, other: number }
  relayReservations: string[]
  /** subscribed to the heartbeat topic: hears every worker's load (bootstraps, relays, submitters) */
  followsLoad: boolean
}

export interface NetworkStats {
  total_peers: number
  healthy_peers: number
  data_sent: number
  data_received: number
  uptime: number
}

export interface CapabilityView {
  peerId: string
  role: Role
  capabilities: string[]
  labels: Record<string, string>
  taskTypes: string[]
  slots: number
  freeSlots: number
  running: number
  queue: number
  load: number
  lastHeartbeat?: number
  self: boolean
}

export interface LedgerEntry {
  worker: string
  credits: number
  completed: number
  failed: number
  meanLatencyMs: number
  reputation: number
}

export interface Readiness { ready: boolean, reason?: string }

export interface NodeApi {
  status(): NodeStatus
  peers(options?: { healthy?: boolean }): PeerView[]
  networkStats(): NetworkStats
  capabilities(): CapabilityView[]
  /** journals the task and returns at once; use wait() for the outcome */
  submit(request: SubmitRequest): Promise<TaskView>
  get(id: string): TaskView | undefined
  list(options?: { status?: TaskStatus, limit?: number }): TaskView[]
  cancel(id: string): Promise<TaskView>
  /** resolves when the task reaches a terminal status */
  wait(id: string, options?: { signal?: AbortSignal }): Promise<TaskView>
  ledger(): LedgerEntry[]
  readiness(): Readiness
}
