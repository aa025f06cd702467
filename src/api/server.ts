/**
 * The node's HTTP API over a {@link NodeApi}: REST under /api/v1, /healthz, /readyz and /metrics.
 * node:http only; every request is bounded (body size, connections, long-poll time), and every
 * error is answered as `{"error": {"code", "message"}}` without internals.
 */
import { createServer } from 'node:http'
import { HttpError, toHttpError } from './errors.ts'
import { readJsonBody, requireBearer, sendError, sendJson } from './http-io.ts'
import { LIMITS, parseBooleanParam, parseIntParam, parseStatusParam, parseSubmitBody } from './wire.ts'
import type { NodeApi, TaskView } from '../node-api.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'

export interface ApiServerInit {
  host: string
  /** 0 picks a free port */
  port: number
  /** when set, POST and DELETE need `Authorization: Bearer <token>` */
  token?: string
  /** served at /metrics; without it /metrics answers 404 */
  registry?: Registry
  /** default 1 MiB */
  maxBodyBytes?: number
  /** default 256 */
  maxConnections?: number
  /** /readyz answers 503 while this returns true (the node is draining before shutdown) */
  isDraining?: () => boolean
  /** called with unexpected errors (answered as 500 without details) */
  onError?: (err: unknown) => void
}

export interface ApiServer {
  /** base URL clients use, e.g. http://127.0.0.1:8080 */
  url: string
  port: number
  /** stops accepting, ends waiting requests with 503, and closes every connection; idempotent */
  close(): Promise<void>
}

export const API_DEFAULTS = {
  maxBodyBytes: 1024 * 1024,
  maxConnections: 256,
  /** how long close() lets in-flight requests finish before cutting their connections */
  closeGraceMs: 2_000,
  /** default long-poll of GET /api/v1/tasks/:id?wait=true */
  longPollMs: 30_000
} as const

type Method = 'GET' | 'POST' | 'DELETE'

interface RequestContext {
  req: IncomingMessage
  params: URLSearchParams
  id: string
  /** aborted when the client goes away or the server closes */
  signal: AbortSignal
}

type Reply =
  | { status: number, body: unknown }
  | { status: number, text: string, contentType: string }

type Handler = (ctx: RequestContext) => Promise<Reply | undefined>

interface Route {
  /** a fixed path, or a prefix followed by one path segment (`:id`) */
  path: string
  withId?: boolean
  methods: Partial<Record<Method, Handler>>
}

const SHUTDOWN = new Error('the node is shutting down')

export async function startApiServer (api: NodeApi, init: ApiServerInit): Promise<ApiServer> {
  const maxBodyBytes = init.maxBodyBytes ?? API_DEFAULTS.maxBodyBytes
  const inflight = new Set<AbortController>()
  let closing: Promise<void> | undefined

  /** waits for the task's end; undefined when the client went away, 503 when the server closes */
  async function waitForEnd (id: string, signal: AbortSignal): Promise<TaskView | undefined> {
    try {
      return await api.wait(id, { signal })
    } catch (err) {
      if (!signal.aborted) throw err
      if (signal.reason === SHUTDOWN) {
        throw new HttpError(503, 'unavailable', `the node is shutting down; ask for GET /api/v1/tasks/${id} later`)
      }
      return undefined
    }
  }

  async function submit ({ req, params, signal }: RequestContext): Promise<Reply | undefined> {
    if (init.token !== undefined) requireBearer(req, init.token)
    const wait = parseBooleanParam(params, 'wait') ?? false
    const request = parseSubmitBody(await readJsonBody(req, maxBodyBytes))
    const task = await api.submit(request)
    if (!wait) return { status: 202, body: task }
    const final = await waitForEnd(task.id, signal)
    return final === undefined ? undefined : { status: 200, body: final }
  }

  async function getTask ({ id, params, signal }: RequestContext): Promise<Reply | undefined> {
    const task = findTask(api, id)
    const wait = parseBooleanParam(params, 'wait') ?? false
    if (!wait) return { status: 200, body: task }
    // long-poll, bounded: answers with the current state when the window passes, and the client asks again
    const windowMs = parseIntParam(params, 'wait_ms', LIMITS.longPollMs) ?? API_DEFAULTS.longPollMs
    const window = AbortSignal.timeout(windowMs)
    const final = await waitForEnd(id, AbortSignal.any([signal, window]))
    if (final !== undefined) return { status: 200, body: final }
    return window.aborted && !signal.aborted ? { status: 200, body: findTask(api, id) } : undefined
  }

  const routes: Route[] = [
    { path: '/healthz', methods: { GET: async () => ({ status: 200, body: { status: 'ok' } }) } },
    {
      path: '/readyz',
      methods: {
        GET: async () => {
          if (init.isDraining?.() === true) return { status: 503, body: { ready: false, reason: 'draining' } }
          const readiness = api.readiness()
          return readiness.ready
            ? { status: 200, body: { ready: true } }
            : { status: 503, body: { ready: false, reason: readiness.reason ?? 'not ready' } }
        }
      }
    },
    {
      path: '/metrics',
      methods: {
        GET: async () => {
          if (init.registry === undefined) throw new HttpError(404, 'not_found', 'metrics are not enabled on this node')
          return { status: 200, text: await init.registry.metrics(), contentType: init.registry.contentType }
        }
      }
    },
    { path: '/api/v1/status', methods: { GET: async () => ({ status: 200, body: api.status() }) } },
    {
      path: '/api/v1/peers',
      methods: {
        GET: async ({ params }) => {
          const healthy = parseBooleanParam(params, 'healthy')
          return { status: 200, body: api.peers(healthy === undefined ? undefined : { healthy }) }
        }
      }
    },
    { path: '/api/v1/network/stats', methods: { GET: async () => ({ status: 200, body: api.networkStats() }) } },
    { path: '/api/v1/capabilities', methods: { GET: async () => ({ status: 200, body: api.capabilities() }) } },
    { path: '/api/v1/ledger', methods: { GET: async () => ({ status: 200, body: api.ledger() }) } },
    {
      path: '/api/v1/tasks',
      methods: {
        POST: submit,
        GET: async ({ params }) => {
          const status = parseStatusParam(params)
          const limit = parseIntParam(params, 'limit', LIMITS.listLimit)
          const options: { status?: typeof status, limit?: number } = {}
          if (status !== undefined) options.status = status
          if (limit !== undefined) options.limit = limit
          return { status: 200, body: api.list(options) }
        }
      }
    },
    {
      path: '/api/v1/tasks/',
      withId: true,
      methods: {
        GET: getTask,
        DELETE: async ({ req, id }) => {
          if (init.token !== undefined) requireBearer(req, init.token)
          findTask(api, id)
          return { status: 200, body: await api.cancel(id) }
        }
      }
    }
  ]

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController()
    inflight.add(controller)
    res.on('close', () => {
      inflight.delete(controller)
      if (!res.writableFinished) controller.abort(new Error('client went away'))
    })
    try {
      const { path, params } = splitUrl(req.url ?? '/')
      const { handler, id } = findRoute(routes, req.method ?? 'GET', path)
      const reply = await handler({ req, params, id, signal: controller.signal })
      if (reply === undefined || res.destroyed) return
      if (closing !== undefined) res.setHeader('connection', 'close')
      if ('text' in reply) {
        res.writeHead(reply.status, { 'content-type': reply.contentType, 'cache-control': 'no-store' })
        res.end(reply.text)
      } else {
        sendJson(res, reply.status, reply.body)
      }
    } catch (err) {
      const httpError = toHttpError(err)
      if (httpError.status === 500) init.onError?.(err)
      if (res.headersSent) {
        res.destroy()
      } else if (!res.destroyed) {
        if (closing !== undefined) res.setHeader('connection', 'close')
        sendError(res, httpError)
      }
    }
  }

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 30_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      init.onError?.(err)
      res.destroy()
    })
  })
  server.maxConnections = init.maxConnections ?? API_DEFAULTS.maxConnections

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE'
        ? new Error(`API port ${init.port} on ${init.host} is in use: another node may already run there (attach to it instead) or set api.port`, { cause: err })
        : err)
    }
    server.once('error', onError)
    server.listen(init.port, init.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port

  return {
    url: `http://${urlHost(init.host)}:${port}`,
    port,
    close: async () => {
      closing ??= (async () => {
        const closed = new Promise<void>(resolve => server.close(() => { resolve() }))
        for (const controller of inflight) controller.abort(SHUTDOWN)
        server.closeIdleConnections()
        const grace = new Promise<void>(resolve => setTimeout(resolve, API_DEFAULTS.closeGraceMs).unref())
        await Promise.race([closed, grace])
        server.closeAllConnections()
        await closed
      })()
      return closing
    }
  }
}

function findTask (api: NodeApi, id: string): TaskView {
  const task = api.get(id)
  if (task === undefined) throw new HttpError(404, 'not_found', `no task with id "${id}"; GET /api/v1/tasks lists the known ones`)
  return task
}

function splitUrl (raw: string): { path: string, params: URLSearchParams } {
  const q = raw.indexOf('?')
  let path = q === -1 ? raw : raw.slice(0, q)
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  return { path, params: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)) }
}

function findRoute (routes: Route[], method: string, path: string): { handler: Handler, id: string } {
  for (const route of routes) {
    let id = ''
    if (route.withId === true) {
      if (!path.startsWith(route.path)) continue
      const segment = path.slice(route.path.length)
      if (segment === '' || segment.includes('/')) continue
      try {
        id = decodeURIComponent(segment)
      } catch {
        throw new HttpError(400, 'bad_request', 'the task id in the path is not valid percent-encoding')
      }
    } else if (route.path !== path) {
      continue
    }
    const handler = route.methods[method as Method]
    if (handler === undefined) {
      const allow = Object.keys(route.methods).join(', ')
      throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path}; use ${allow}`, { allow })
    }
    return { handler, id }
  }
  throw new HttpError(404, 'not_found', `no route ${path}; the API lives under /api/v1 (status, peers, network/stats, capabilities, tasks, ledger)`)
}

function urlHost (host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}
