/**
 * Every config key with its type, range and default: the one place defaults live. The loader, the
 * validator and the README's config table all read this table.
 */
import type { Schema } from './schema.ts'

const SECOND = 1000
const HOUR = 3600 * SECOND
const DAY = 24 * HOUR
const MiB = 1024 * 1024
const GiB = 1024 * MiB

export const ROLES = ['bootstrap', 'relay', 'worker'] as const
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const

/** protocol_version is used in protocol ids and topic names, so it must be path-safe */
const PROTOCOL_VERSION_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/

export const SCHEMA = {
  node: {
    role: { kind: 'string', default: 'worker', oneOf: ROLES },
    listen_host: { kind: 'string', default: '0.0.0.0' },
    listen_port: { kind: 'int', default: 4001, min: 0, max: 65535 },
    listen_tcp: { kind: 'bool', default: true },
    announce: { kind: 'strings', default: [] },
    capabilities: { kind: 'strings', default: [] },
    labels: { kind: 'labels', default: {} },
    max_connections: { kind: 'int', default: 100, min: 2, max: 100_000 },
    heartbeat_interval: { kind: 'duration', default: 30 * SECOND, min: 100, max: HOUR },
    data_dir: { kind: 'string', default: './data' },
    identity_file: { kind: 'string', optional: true }
  },
  network: {
    protocol_version: { kind: 'string', default: 'p2p-network', pattern: PROTOCOL_VERSION_RE, patternHelp: 'lowercase letters, digits, ".", "_" or "-" (at most 64), starting with a letter or digit' },
    bootstrap_peers: { kind: 'strings', default: [] },
    dns_discovery: { kind: 'strings', default: [] },
    mesh_network: { kind: 'bool', default: true },
    enable_mdns: { kind: 'bool', default: true },
    enable_relay: { kind: 'bool', default: true },
    enable_dht: { kind: 'bool', default: true },
    connection_timeout: { kind: 'duration', default: 30 * SECOND, min: 100, max: 10 * 60 * SECOND },
    private_key_file: { kind: 'string', optional: true },
    rebootstrap_backoff: { kind: 'duration', default: 5 * SECOND, min: 100, max: HOUR },
    // peer exchange dials peers heard of only while the node has fewer connections than this:
    // GossipSub's mesh degree (D = 6), so every node can fill its mesh without a full mesh of N²
    // (nodes that joined early also keep the connections later joiners open to them). Every
    // connection costs idle CPU: 16 idle workers used 5.8 % of a core each at 12, 3.7 % at 6
    target_peers: { kind: 'int', default: 6, min: 1, max: 100_000 }
  },
  relay: {
    max_reservations: { kind: 'int', default: 256, min: 1, max: 100_000 },
    reservation_ttl: { kind: 'duration', default: 2 * HOUR, min: SECOND, max: DAY },
    // the circuit-relay-v2 defaults (128 KiB, 2 min) cut task traffic; these carry real results
    data_limit: { kind: 'size', default: 4 * GiB, min: 64 * 1024, max: 1024 * GiB },
    duration_limit: { kind: 'duration', default: DAY, min: 10 * SECOND, max: 30 * DAY }
  },
  tasks: {
    slots: { kind: 'int', default: 4, min: 0, max: 10_000 },
    // accepted tasks that may wait for a slot on this worker; not set: as many as there are slots
    prefetch: { kind: 'int', min: 0, max: 10_000 },
    default_timeout: { kind: 'duration', default: 60 * SECOND, min: 10, max: DAY },
    max_attempts: { kind: 'int', default: 3, min: 1, max: 100 },
    queue_timeout: { kind: 'duration', default: 5 * 60 * SECOND, min: 10, max: 7 * DAY },
    deadline: { kind: 'duration', default: HOUR, min: 10, max: 30 * DAY },
    max_payload: { kind: 'size', default: 16 * MiB, min: 1024, max: 256 * MiB },
    handlers: { kind: 'handlers' },
    weights: { kind: 'numbers', default: {} },
    observe_results: { kind: 'bool', default: false }
  },
  api: {
    enabled: { kind: 'bool', default: true },
    host: { kind: 'string', default: '127.0.0.1' },
    port: { kind: 'int', default: 8080, min: 0, max: 65535 },
    token: { kind: 'string', optional: true }
  },
  log: {
    level: { kind: 'string', default: 'info', oneOf: LOG_LEVELS },
    format: { kind: 'string', default: 'auto', oneOf: ['auto', 'json', 'pretty'] }
  },
  security: {
    allow_peers: { kind: 'strings', default: [] }
  }
} as const satisfies Schema

/** Command handler output cap when the config names none. */
export const DEFAULT_MAX_OUTPUT = MiB

/**
 * Environment variables a pod sets, and the key each overrides. Lists are comma-separated.
 * Precedence: defaults < YAML < environment < CLI flags.
 */
export const ENV_OVERRIDES = {
  P2P_ROLE: 'node.role',
  P2P_LISTEN_HOST: 'node.listen_host',
  P2P_LISTEN_PORT: 'node.listen_port',
  P2P_ANNOUNCE: 'node.announce',
  P2P_DATA_DIR: 'node.data_dir',
  P2P_IDENTITY_FILE: 'node.identity_file',
  P2P_BOOTSTRAP_PEERS: 'network.bootstrap_peers',
  P2P_DNS_DISCOVERY: 'network.dns_discovery',
  P2P_PRIVATE_NETWORK_KEY_FILE: 'network.private_key_file',
  P2P_API_HOST: 'api.host',
  P2P_API_PORT: 'api.port',
  P2P_API_TOKEN: 'api.token',
  LOG_LEVEL: 'log.level'
} as const
