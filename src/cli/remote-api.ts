import type { NodeApi } from '../node-api.ts'

/**
 * The asynchronous form of {@link NodeApi}: every method returns a Promise, so the same REPL and
 * one-shot commands work against a node in this process and against one reached over HTTP.
 * Adding a method to NodeApi adds it here too, and the adapter below stops compiling until it
 * forwards it.
 */
export type RemoteNodeApi = {
  [K in keyof NodeApi]: NodeApi[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never
}

/** Wraps an in-process NodeApi into the async form (sync throws become rejections). */
export function toRemoteApi (api: NodeApi): RemoteNodeApi {
  return {
    status: async () => api.status(),
    peers: async (options) => api.peers(options),
    networkStats: async () => api.networkStats(),
    capabilities: async () => api.capabilities(),
    submit: async (request) => api.submit(request),
    get: async (id) => api.get(id),
    list: async (options) => api.list(options),
    cancel: async (id) => api.cancel(id),
    wait: async (id, options) => api.wait(id, options),
    ledger: async () => api.ledger(),
    readiness: async () => api.readiness()
  }
}

/** An error answered by a node's HTTP API, or the failure to reach it. */
export class RemoteApiError extends Error {
  override readonly name = 'RemoteApiError'
  /** error code from the API body (`not_found`, `bad_request`, …) or `unreachable` / `bad_response` */
  readonly code: string
  /** HTTP status; 0 when no answer arrived */
  readonly status: number

  constructor (message: string, code: string, status: number, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.status = status
  }
}
