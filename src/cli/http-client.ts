/**
 * A {@link RemoteNodeApi} over a running node's HTTP API, so the REPL and one-shot commands attach
 * to that node instead of starting a second one.
 */
import { connect } from 'node:net'
import { TERMINAL_STATUSES } from '../node-api.ts'
import { toSubmitBody } from '../api/wire.ts'
import { RemoteApiError } from './remote-api.ts'
import type { RemoteNodeApi } from './remote-api.ts'
import type { CapabilityView, LedgerEntry, NetworkStats, NodeStatus, PeerView, Readiness, TaskView } from '../node-api.ts'

export interface HttpNodeApiOptions {
  /** the node's api.token, needed to submit and cancel when it has one */
  token?: string
  /** per request, default 10 s (a long-poll adds its own window) */
  timeoutMs?: number
  /** how long one long-poll of wait() may be held by the node, default 25 s */
  longPollMs?: number
}

export const HTTP_CLIENT_DEFAULTS = { timeoutMs: 10_000, longPollMs: 25_000 } as const

/** The base URL for a node's `api` config; a wildcard listen address is reached on loopback. */
export function apiBaseUrl (api: { host: string, port: number }): string {
  const host = api.host === '0.0.0.0' || api.host === '' ? '127.0.0.1' : api.host === '::' ? '::1' : api.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${api.port}`
}

/**
 * true when a node's API answers /healthz at `baseUrl` within `timeoutMs`. A TCP connect comes
 * first: `p2p-node --config FILE` probes before it starts a node, and when nothing listens (a
 * container starting) the answer needs no HTTP client. Node's `fetch` (undici) costs a process
 * ~13 MiB of resident memory for good once loaded, which a node that only probed would keep.
 */
export async function probeApi (baseUrl: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  const url = new URL('/healthz', baseUrl)
  if (!await listening(url, timeoutMs)) return false
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) })
    const body = await res.json() as { status?: unknown }
    return res.ok && body.status === 'ok'
  } catch {
    return false
  }
}

/** whether something accepts a TCP connection on the URL's host and port */
async function listening (url: URL, timeoutMs: number): Promise<boolean> {
  const port = Number(url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : url.port)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  return new Promise(resolve => {
    const socket = connect({ host, port, timeout: timeoutMs })
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.once('connect', () => { done(true) })
    socket.once('timeout', () => { done(false) })
    socket.once('error', () => { done(false) })
  })
}

export function createHttpNodeApi (baseUrl: string, options: HttpNodeApiOptions = {}): RemoteNodeApi {
  const base = baseUrl.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? HTTP_CLIENT_DEFAULTS.timeoutMs
  const longPollMs = options.longPollMs ?? HTTP_CLIENT_DEFAULTS.longPollMs

  interface Call { method?: 'GET' | 'POST' | 'DELETE', body?: unknown, signal?: AbortSignal, timeoutMs?: number, accept?: number[] }

  async function call<T> (path: string, opts: Call = {}): Promise<{ status: number, body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? timeoutMs)
    const signal = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal])
    let res: Response
    let text: string
    try {
      res = await fetch(`${base}${path}`, {
        method: opts.method ?? 'GET',
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal
      })
      text = await res.text()
    } catch (err) {
      if (opts.signal?.aborted === true) throw opts.signal.reason
      const reason = timeout.aborted ? `no answer within ${opts.timeoutMs ?? timeoutMs} ms` : causeMessage(err)
      throw new RemoteApiError(`cannot reach the node API at ${base} (${reason}); is the node running with api.enabled?`, 'unreachable', 0, { cause: err })
    }
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new RemoteApiError(`the node API at ${base} answered ${res.status} with something that is not JSON; is ${base} a p2p-node API?`, 'bad_response', res.status)
    }
    if (!res.ok && !(opts.accept ?? []).includes(res.status)) {
      const error = (body as { error?: { code?: unknown, message?: unknown } }).error
      throw new RemoteApiError(
        typeof error?.message === 'string' ? error.message : `the node API answered ${res.status}`,
        typeof error?.code === 'string' ? error.code : 'http_error',
        res.status)
    }
    return { status: res.status, body: body as T }
  }

  const taskPath = (id: string): string => `/api/v1/tasks/${encodeURIComponent(id)}`

  return {
    status: async () => (await call<NodeStatus>('/api/v1/status')).body,
    peers: async (opts) => (await call<PeerView[]>(
      opts?.healthy === undefined ? '/api/v1/peers' : `/api/v1/peers?healthy=${opts.healthy}`)).body,
    networkStats: async () => (await call<NetworkStats>('/api/v1/network/stats')).body,
    capabilities: async () => (await call<CapabilityView[]>('/api/v1/capabilities')).body,
    ledger: async () => (await call<LedgerEntry[]>('/api/v1/ledger')).body,
    submit: async (request) => (await call<TaskView>('/api/v1/tasks', { method: 'POST', body: toSubmitBody(request) })).body,
    get: async (id) => {
      const { status, body } = await call<TaskView>(taskPath(id), { accept: [404] })
      return status === 404 ? undefined : body
    },
    list: async (opts) => {
      const query = new URLSearchParams()
      if (opts?.status !== undefined) query.set('status', opts.status)
      if (opts?.limit !== undefined) query.set('limit', String(opts.limit))
      const qs = query.toString()
      return (await call<TaskView[]>(`/api/v1/tasks${qs === '' ? '' : `?${qs}`}`)).body
    },
    cancel: async (id) => (await call<TaskView>(taskPath(id), { method: 'DELETE' })).body,
    wait: async (id, opts) => {
      // long-polls in bounded windows, so no single request outlives proxies' or fetch's own timeouts
      for (;;) {
        opts?.signal?.throwIfAborted()
        const poll: Call = { timeoutMs: longPollMs + timeoutMs }
        if (opts?.signal !== undefined) poll.signal = opts.signal
        const { body } = await call<TaskView>(`${taskPath(id)}?wait=true&wait_ms=${longPollMs}`, poll)
        if (TERMINAL_STATUSES.has(body.status)) return body
      }
    },
    readiness: async () => {
      const { body } = await call<Readiness>('/readyz', { accept: [503] })
      return body.reason === undefined ? { ready: body.ready } : { ready: body.ready, reason: body.reason }
    }
  }
}

function causeMessage (err: unknown): string {
  const cause = (err as { cause?: { code?: unknown, message?: unknown } }).cause
  if (typeof cause?.code === 'string') return cause.code
  if (typeof cause?.message === 'string') return cause.message
  return err instanceof Error ? err.message : String(err)
}
