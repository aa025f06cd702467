/**
 * YAML -> validated, defaulted, typed Config. Merge order: defaults < YAML < environment < overrides
 * (CLI flags), applied once here.
 */
import { readFileSync } from 'node:fs'
import { isAbsolute, resolve, dirname } from 'node:path'
import { parseDocument } from 'yaml'
import { DEFAULT_MAX_OUTPUT, ENV_OVERRIDES, SCHEMA } from './defaults.ts'
import { ConfigError } from './errors.ts'
import { describe, isRecord, parseDuration, parseSize, readField, rejectUnknownKeys, type FieldSpec } from './schema.ts'
import type { Config, HandlerSpec } from './types.ts'

export { ConfigError } from './errors.ts'
export { SCHEMA, ENV_OVERRIDES } from './defaults.ts'
export type { Config, HandlerSpec, LogLevel } from './types.ts'

type Raw = Record<string, Record<string, unknown>>

/** Dotted-path overrides, e.g. { 'node.listen_port': 0 } (CLI flags, tests, the devnet). */
export type ConfigOverrides = Record<string, unknown>

export interface ParseOptions {
  env?: NodeJS.ProcessEnv
  overrides?: ConfigOverrides
  /** relative paths in the config (data_dir, key files) resolve against this; default: the file's directory */
  baseDir?: string
}

export function loadConfigFile (path: string, options: ParseOptions = {}): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(path, '', 'a readable YAML file', (err as NodeJS.ErrnoException).code ?? String(err))
  }
  return parseConfig(text, path, { baseDir: dirname(resolve(path)), ...options })
}

export function parseConfig (text: string, source: string, options: ParseOptions = {}): Config {
  const doc = parseDocument(text, { uniqueKeys: true })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const where = e?.linePos?.[0] != null ? `line ${e.linePos[0].line}` : ''
    throw new ConfigError(source, where, 'valid YAML', e?.message.split('\n')[0] ?? 'a syntax error')
  }
  const data: unknown = doc.toJS() ?? {}
  if (!isRecord(data)) throw new ConfigError(source, '', 'a mapping with sections node, network, ...', describe(data))
  rejectUnknownKeys(source, '', data, Object.keys(SCHEMA))

  const raw: Raw = {}
  for (const [section, fields] of Object.entries(SCHEMA)) {
    const value = data[section] ?? {}
    if (!isRecord(value)) throw new ConfigError(source, section, 'a mapping', describe(value))
    rejectUnknownKeys(source, section, value, Object.keys(fields))
    raw[section] = { ...value }
  }

  applyEnv(raw, options.env ?? {}, source)
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    const [section, key] = path.split('.')
    if (section == null || key == null || raw[section] == null) throw new ConfigError('overrides', path, 'a known section.key')
    raw[section][key] = value
  }

  const read = (section: keyof typeof SCHEMA, key: string): unknown => {
    const fields: Record<string, FieldSpec> = SCHEMA[section]
    const spec = fields[key]
    if (spec == null) throw new Error(`no schema for ${section}.${key}`)
    return readField(source, `${section}.${key}`, spec, raw[section]?.[key])
  }
  const str = (s: keyof typeof SCHEMA, k: string): string => read(s, k) as string
  const optStr = (s: keyof typeof SCHEMA, k: string): string | undefined => read(s, k) as string | undefined
  const num = (s: keyof typeof SCHEMA, k: string): number => read(s, k) as number
  const bool = (s: keyof typeof SCHEMA, k: string): boolean => read(s, k) as boolean
  const list = (s: keyof typeof SCHEMA, k: string): string[] => read(s, k) as string[]

  const baseDir = options.baseDir ?? process.cwd()
  const path = (p: string | undefined): string | undefined => p == null ? undefined : (isAbsolute(p) ? p : resolve(baseDir, p))

  const role = str('node', 'role') as Config['node']['role']
  const config: Config = {
    source,
    node: {
      role,
      listenHost: str('node', 'listen_host'),
      listenPort: num('node', 'listen_port'),
      listenTcp: bool('node', 'listen_tcp'),
      announce: list('node', 'announce'),
      capabilities: list('node', 'capabilities'),
      labels: read('node', 'labels') as Record<string, string>,
      maxConnections: num('node', 'max_connections'),
      heartbeatIntervalMs: num('node', 'heartbeat_interval'),
      dataDir: path(str('node', 'data_dir')) ?? baseDir,
      identityFile: path(optStr('node', 'identity_file'))
    },
    network: {
      protocolVersion: str('network', 'protocol_version'),
      bootstrapPeers: list('network', 'bootstrap_peers'),
      dnsDiscovery: list('network', 'dns_discovery'),
      meshNetwork: bool('network', 'mesh_network'),
      enableMdns: bool('network', 'enable_mdns'),
      enableRelay: bool('network', 'enable_relay'),
      enableDht: bool('network', 'enable_dht'),
      connectionTimeoutMs: num('network', 'connection_timeout'),
      privateKeyFile: path(optStr('network', 'private_key_file')),
      rebootstrapBackoffMs: num('network', 'rebootstrap_backoff'),
      targetPeers: num('network', 'target_peers')
    },
    relay: {
      maxReservations: num('relay', 'max_reservations'),
      reservationTtlMs: num('relay', 'reservation_ttl'),
      dataLimitBytes: num('relay', 'data_limit'),
      durationLimitMs: num('relay', 'duration_limit')
    },
    tasks: {
      slots: num('tasks', 'slots'),
      prefetch: (read('tasks', 'prefetch') as number | undefined) ?? num('tasks', 'slots'),
      defaultTimeoutMs: num('tasks', 'default_timeout'),
      maxAttempts: num('tasks', 'max_attempts'),
      queueTimeoutMs: num('tasks', 'queue_timeout'),
      deadlineMs: num('tasks', 'deadline'),
      maxPayloadBytes: num('tasks', 'max_payload'),
      handlers: readHandlers(source, read('tasks', 'handlers') as Record<string, unknown>, baseDir),
      weights: read('tasks', 'weights') as Record<string, number>,
      observeResults: read('tasks', 'observe_results') as boolean
    },
    api: {
      enabled: bool('api', 'enabled'),
      host: str('api', 'host'),
      port: num('api', 'port'),
      token: optStr('api', 'token')
    },
    log: {
      level: str('log', 'level') as Config['log']['level'],
      format: str('log', 'format') as Config['log']['format']
    },
    security: {
      allowPeers: list('security', 'allow_peers')
    }
  }
  checkConsistency(config)
  return config
}

/** Environment overrides are strings; convert to the type the schema expects before validation. */
function applyEnv (raw: Raw, env: NodeJS.ProcessEnv, source: string): void {
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name]
    if (value == null || value === '') continue
    const [section, key] = path.split('.') as [keyof typeof SCHEMA, string]
    const fields: Record<string, FieldSpec> = SCHEMA[section]
    const spec = fields[key]
    const target = raw[section]
    if (spec == null || target == null) continue
    switch (spec.kind) {
      case 'strings': target[key] = value.split(',').map(s => s.trim()).filter(s => s !== ''); break
      case 'int': case 'number': {
        const n = Number(value)
        if (!Number.isFinite(n)) throw new ConfigError(`${source} (environment ${name})`, path, 'a number', JSON.stringify(value))
        target[key] = n
        break
      }
      case 'bool': target[key] = value === 'true' || value === '1'; break
      default: target[key] = value
    }
  }
}

const BUILTINS = ['echo', 'sha256', 'sleep', 'fail'] as const
const TASK_TYPE_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/

function readHandlers (file: string, value: Record<string, unknown>, baseDir: string): Record<string, HandlerSpec> {
  const out: Record<string, HandlerSpec> = {}
  for (const [type, spec] of Object.entries(value)) {
    const path = `tasks.handlers.${type}`
    if (!TASK_TYPE_RE.test(type)) throw new ConfigError(file, path, 'a task type of letters, digits, ".", "_" or "-"', JSON.stringify(type))
    if (!isRecord(spec)) throw new ConfigError(file, path, '{builtin: ...} or {command: [...]}', describe(spec))
    if ('builtin' in spec) {
      rejectUnknownKeys(file, path, spec, ['builtin'])
      if (!(BUILTINS as readonly unknown[]).includes(spec.builtin)) {
        throw new ConfigError(file, `${path}.builtin`, `one of ${BUILTINS.join(' | ')}`, describe(spec.builtin))
      }
      out[type] = { builtin: spec.builtin as (typeof BUILTINS)[number] }
      continue
    }
    if (!('command' in spec)) throw new ConfigError(file, path, 'a "builtin" or a "command" key', 'neither')
    rejectUnknownKeys(file, path, spec, ['command', 'timeout', 'max_output', 'env', 'cwd'])
    const command = spec.command
    if (!Array.isArray(command) || command.length === 0 || !command.every(a => typeof a === 'string' && a !== '')) {
      throw new ConfigError(file, `${path}.command`, 'a non-empty list of argv strings (no shell is used)', describe(command))
    }
    let timeoutMs: number | undefined
    if (spec.timeout != null) {
      timeoutMs = parseDuration(spec.timeout)
      if (timeoutMs == null || timeoutMs <= 0) throw new ConfigError(file, `${path}.timeout`, 'a positive duration such as 60s', describe(spec.timeout))
    }
    let maxOutputBytes = DEFAULT_MAX_OUTPUT
    if (spec.max_output != null) {
      const size = parseSize(spec.max_output)
      if (size == null || size <= 0) throw new ConfigError(file, `${path}.max_output`, 'a positive size such as 1MiB', describe(spec.max_output))
      maxOutputBytes = size
    }
    const env = spec.env == null ? undefined : readField(file, `${path}.env`, { kind: 'labels' }, spec.env) as Record<string, string>
    let cwd: string | undefined
    if (spec.cwd != null) {
      if (typeof spec.cwd !== 'string') throw new ConfigError(file, `${path}.cwd`, 'a directory path', describe(spec.cwd))
      cwd = resolve(baseDir, spec.cwd)
    }
    const argv = command as string[]
    out[type] = { command: argv, timeoutMs, maxOutputBytes, env, cwd }
  }
  return out
}

function checkConsistency (config: Config): void {
  const { source } = config
  if (config.node.role === 'worker' && config.tasks.slots === 0 && Object.keys(config.tasks.handlers).length > 0) {
    throw new ConfigError(source, 'tasks.slots', 'at least 1 slot on a worker that has handlers', '0')
  }
  if (config.tasks.queueTimeoutMs > config.tasks.deadlineMs) {
    throw new ConfigError(source, 'tasks.queue_timeout', `at most tasks.deadline (${config.tasks.deadlineMs}ms)`, `${config.tasks.queueTimeoutMs}ms`)
  }
  if (config.api.token != null && config.api.token.length < 16) {
    throw new ConfigError(source, 'api.token', 'a token of at least 16 characters', `${config.api.token.length} characters`)
  }
}
