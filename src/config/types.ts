import type { Role } from '../node-api.ts'

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'

export type HandlerSpec =
  | { builtin: 'echo' | 'sha256' | 'sleep' | 'fail' }
  | {
    command: string[]
    /** per-attempt execution timeout for this handler, overrides tasks.default_timeout */
    timeoutMs?: number
    /** stdout beyond this fails the attempt */
    maxOutputBytes: number
    env?: Record<string, string>
    cwd?: string
  }

/** The validated, defaulted configuration. Durations are in milliseconds, sizes in bytes. */
export interface Config {
  /** the file the config came from, for messages */
  source: string
  node: {
    role: Role
    listenHost: string
    listenPort: number
    /** false: listen on no TCP address, reachable only through relays */
    listenTcp: boolean
    /** addresses announced to other peers instead of the listen addresses (multiaddr or host[:port]) */
    announce: string[]
    capabilities: string[]
    labels: Record<string, string>
    maxConnections: number
    heartbeatIntervalMs: number
    dataDir: string
    /** path of an Ed25519 key file (protobuf-encoded private key); default <dataDir>/identity.key */
    identityFile?: string
  }
  network: {
    protocolVersion: string
    bootstrapPeers: string[]
    /** DNS names (e.g. a headless Service) resolved periodically; every A record is dialled on listenPort */
    dnsDiscovery: string[]
    meshNetwork: boolean
    enableMdns: boolean
    enableRelay: boolean
    enableDht: boolean
    connectionTimeoutMs: number
    /** libp2p private network (pnet) swarm key file */
    privateKeyFile?: string
    /** back-off before re-bootstrapping after losing every peer */
    rebootstrapBackoffMs: number
    /** peer exchange dials only while connected to fewer peers than this */
    targetPeers: number
  }
  relay: {
    maxReservations: number
    reservationTtlMs: number
    /** bytes one relayed connection may carry in each direction */
    dataLimitBytes: number
    /** how long one relayed connection may last */
    durationLimitMs: number
  }
  tasks: {
    slots: number
    /** accepted tasks that may wait for a slot (tasks.prefetch; default: slots) */
    prefetch: number
    defaultTimeoutMs: number
    maxAttempts: number
    queueTimeoutMs: number
    deadlineMs: number
    /** max payload / result size accepted */
    maxPayloadBytes: number
    handlers: Record<string, HandlerSpec>
    /** credits per second of execution, per task type (default 1) */
    weights: Record<string, number>
    /** subscribe to the TaskResponse summaries on `<pv>/results/1` */
    observeResults: boolean
  }
  api: {
    enabled: boolean
    host: string
    port: number
    token?: string
  }
  log: {
    level: LogLevel
    format: 'auto' | 'json' | 'pretty'
  }
  security: {
    /** when non-empty, only these peer IDs may connect (connection gater) */
    allowPeers: string[]
  }
}
