import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { startApiServer } from '../../src/api/server.ts'
import { createMetrics } from '../../src/metrics/index.ts'
import { FakeNodeApi } from '../utils/fake-node-api.ts'
import type { ApiServer } from '../../src/api/server.ts'
import type { TaskView } from '../../src/node-api.ts'

const TOKEN = 'secret-token'
const HELLO_SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are checked field by field below
interface Answer { status: number, headers: Headers, body: any }

async function call (base: string, method: string, path: string, init: { body?: string, token?: string, signal?: AbortSignal } = {}): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(base + path, { method, headers, body: init.body, signal: init.signal })
  const text = await res.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch { /* not JSON (/metrics): keep the text */ }
  return { status: res.status, headers: res.headers, body }
}

function assertError (answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body))
  assert.equal(answer.body.error.code, code)
  assert.equal(typeof answer.body.error.message, 'string')
  assert.doesNotMatch(String(answer.body.error.message), /\n\s+at /, 'no stack traces')
}

async function waitFor (check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

void describe('HTTP API', () => {
  const fake = new FakeNodeApi()
  const errors: unknown[] = []
  let draining = false
  let server: ApiServer
  let base: string

  before(async () => {
    const metrics = createMetrics({ api: fake, defaultMetrics: false })
    server = await startApiServer(fake, {
      host: '127.0.0.1', port: 0, token: TOKEN, registry: metrics.registry, maxBodyBytes: 1024,
      isDraining: () => draining, onError: err => errors.push(err)
    })
    base = server.url
  })
  after(async () => { await server.close() })

  void it('listens on the port it reports', () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(server.port > 0)
  })

  void it('GET /healthz', async () => {
    const a = await call(base, 'GET', '/healthz')
    assert.equal(a.status, 200)
    assert.deepEqual(a.body, { status: 'ok' })
  })

  void it('GET /readyz follows readiness and draining', async () => {
    assert.deepEqual((await call(base, 'GET', '/readyz')).body, { ready: true })
    fake.readinessValue = { ready: false, reason: 'no peers connected' }
    let a = await call(base, 'GET', '/readyz')
    assert.equal(a.status, 503)
    assert.deepEqual(a.body, { ready: false, reason: 'no peers connected' })
    fake.readinessValue = { ready: true }
    draining = true
    a = await call(base, 'GET', '/readyz')
    assert.equal(a.status, 503)
    assert.deepEqual(a.body, { ready: false, reason: 'draining' })
    draining = false
  })

  void it('GET /metrics serves the registry in the Prometheus text format', async () => {
    const a = await call(base, 'GET', '/metrics')
    assert.equal(a.status, 200)
    assert.match(a.headers.get('content-type') ?? '', /^text\/plain/)
    assert.match(String(a.body), /^p2p_node_info\{role="bootstrap",version="0.1.0",protocol_version="p2p-network"\} 1$/m)
    assert.match(String(a.body), /^p2p_peers_connected\{role="worker"\} 1$/m)
  })

  void it('GET /api/v1/status, network/stats, capabilities, ledger', async () => {
    const status = await call(base, 'GET', '/api/v1/status')
    assert.equal(status.status, 200)
    assert.equal(status.body.peerId, fake.status().peerId)
    const stats = await call(base, 'GET', '/api/v1/network/stats')
    assert.deepEqual(Object.keys(stats.body as object).sort(), ['data_received', 'data_sent', 'healthy_peers', 'total_peers', 'uptime'])
    const caps = await call(base, 'GET', '/api/v1/capabilities')
    assert.deepEqual(caps.body[0].taskTypes, ['compute', 'echo', 'fail', 'sleep'])
    const ledger = await call(base, 'GET', '/api/v1/ledger')
    assert.equal(ledger.body[0].credits, 12.5)
  })

  void it('GET /api/v1/peers filters on ?healthy', async () => {
    fake.peerList[0]!.healthy = false
    try {
      assert.equal((await call(base, 'GET', '/api/v1/peers')).body.length, 2)
      const healthy = await call(base, 'GET', '/api/v1/peers?healthy=true')
      assert.deepEqual((healthy.body as Array<{ role: string }>).map(p => p.role), ['worker'])
      assertError(await call(base, 'GET', '/api/v1/peers?healthy=maybe'), 400, 'bad_request')
    } finally {
      fake.peerList[0]!.healthy = true
    }
  })

  void describe('POST /api/v1/tasks', () => {
    void it('answers 401 without the bearer token, or with a wrong one', async () => {
      const body = JSON.stringify({ type: 'compute', payload: 'hello' })
      const missing = await call(base, 'POST', '/api/v1/tasks', { body })
      assertError(missing, 401, 'unauthorized')
      assert.equal(missing.headers.get('www-authenticate'), 'Bearer')
      assertError(await call(base, 'POST', '/api/v1/tasks', { body, token: 'wrong' }), 401, 'unauthorized')
      assertError(await call(base, 'POST', '/api/v1/tasks', { body, token: `${TOKEN}x` }), 401, 'unauthorized')
    })

    void it('submits and answers 202 with the task', async () => {
      const a = await call(base, 'POST', '/api/v1/tasks', { body: JSON.stringify({ type: 'compute', payload: 'hello' }), token: TOKEN })
      assert.equal(a.status, 202)
      assert.equal(typeof a.body.id, 'string')
      assert.equal(a.body.status, 'queued')
      const id = String(a.body.id)
      await waitFor(() => fake.get(id)?.status === 'succeeded')
      const got = await call(base, 'GET', `/api/v1/tasks/${a.body.id}`)
      assert.equal(got.body.result, HELLO_SHA256)
    })

    void it('passes every field through, converted to the NodeApi form', async () => {
      const body = {
        type: 'echo', payload: 'aGk=', payload_encoding: 'base64', requires: ['echo', 'gpu'], selector: 'zone=b',
        timeout_ms: 30000, max_attempts: 2, queue_timeout_ms: 5000, deadline_ms: 60000
      }
      const a = await call(base, 'POST', '/api/v1/tasks', { body: JSON.stringify(body), token: TOKEN })
      assert.equal(a.status, 202)
      const submitted = fake.submitted.at(-1)!
      assert.deepEqual(submitted, {
        type: 'echo', payload: new Uint8Array(Buffer.from('hi')), requires: ['echo', 'gpu'], selector: 'zone=b',
        timeoutMs: 30000, maxAttempts: 2, queueTimeoutMs: 5000, deadlineMs: 60000
      })
    })

    void it('?wait=true answers 200 with the finished task', async () => {
      const a = await call(base, 'POST', '/api/v1/tasks?wait=true', { body: JSON.stringify({ type: 'compute', payload: 'hello' }), token: TOKEN })
      assert.equal(a.status, 200)
      assert.equal(a.body.status, 'succeeded')
      assert.equal(a.body.result, HELLO_SHA256)
      const failed = await call(base, 'POST', '/api/v1/tasks?wait=true', { body: JSON.stringify({ type: 'fail', payload: 'x' }), token: TOKEN })
      assert.equal(failed.status, 200)
      assert.equal(failed.body.status, 'failed')
    })

    void it('?wait=true stops waiting when the client goes away', async () => {
      const controller = new AbortController()
      const pending = call(base, 'POST', '/api/v1/tasks?wait=true', { body: JSON.stringify({ type: 'sleep', payload: '100000' }), token: TOKEN, signal: controller.signal })
      await waitFor(() => fake.pendingWaits() === 1)
      controller.abort()
      await assert.rejects(pending)
      await waitFor(() => fake.pendingWaits() === 0)
    })

    const bad: Array<[string, string]> = [
      ['not JSON', '{"type": '],
      ['empty body', ''],
      ['an array', '[]'],
      ['a string', '"compute"'],
      ['type missing', '{"payload": "x"}'],
      ['type a number', '{"type": 1, "payload": "x"}'],
      ['type empty', '{"type": "", "payload": "x"}'],
      ['type with spaces', '{"type": "a b", "payload": "x"}'],
      ['payload missing', '{"type": "compute"}'],
      ['payload a number', '{"type": "compute", "payload": 5}'],
      ['payload an object', '{"type": "compute", "payload": {"a": 1}}'],
      ['bad encoding', '{"type": "compute", "payload": "x", "payload_encoding": "hex"}'],
      ['bad base64', '{"type": "compute", "payload": "***", "payload_encoding": "base64"}'],
      ['requires a string', '{"type": "compute", "payload": "x", "requires": "compute"}'],
      ['requires with a number', '{"type": "compute", "payload": "x", "requires": ["a", 1]}'],
      ['selector a number', '{"type": "compute", "payload": "x", "selector": 3}'],
      ['timeout_ms a string', '{"type": "compute", "payload": "x", "timeout_ms": "30s"}'],
      ['timeout_ms fractional', '{"type": "compute", "payload": "x", "timeout_ms": 1.5}'],
      ['timeout_ms negative', '{"type": "compute", "payload": "x", "timeout_ms": -1}'],
      ['max_attempts zero', '{"type": "compute", "payload": "x", "max_attempts": 0}'],
      ['max_attempts too many', '{"type": "compute", "payload": "x", "max_attempts": 100000}'],
      ['an unknown field', '{"type": "compute", "payload": "x", "timeout": 5}']
    ]
    for (const [what, body] of bad) {
      void it(`answers 400 for ${what}`, async () => {
        const before = fake.submitted.length
        assertError(await call(base, 'POST', '/api/v1/tasks', { body, token: TOKEN }), 400, 'bad_request')
        assert.equal(fake.submitted.length, before, 'nothing was submitted')
      })
    }

    void it('answers 413 for a body over maxBodyBytes', async () => {
      const body = JSON.stringify({ type: 'echo', payload: 'x'.repeat(2000) })
      assertError(await call(base, 'POST', '/api/v1/tasks', { body, token: TOKEN }), 413, 'payload_too_large')
    })

    void it('answers 413 for a chunked body that grows over maxBodyBytes', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${base}/api/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' } }, res => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.write('{"type": "echo", "payload": "')
        req.write('y'.repeat(1500))
        req.end('"}')
      })
      assert.equal(status, 413)
    })

    void it('maps a NodeApi error code to its status, with the message', async () => {
      fake.failNext = { method: 'submit', error: Object.assign(new Error('payload is larger than tasks.max_payload (1 KiB)'), { code: 'payload_too_large' }) }
      const a = await call(base, 'POST', '/api/v1/tasks', { body: '{"type": "echo", "payload": "x"}', token: TOKEN })
      assertError(a, 413, 'payload_too_large')
      assert.match(String(a.body.error.message), /max_payload/)
    })
  })

  void describe('GET /api/v1/tasks', () => {
    void it('lists with status and limit', async () => {
      const all = await call(base, 'GET', '/api/v1/tasks')
      assert.ok(all.body.length >= 2)
      const succeeded = await call(base, 'GET', '/api/v1/tasks?status=succeeded&limit=1')
      assert.equal(succeeded.body.length, 1)
      assert.equal(succeeded.body[0].status, 'succeeded')
    })

    for (const query of ['status=done', 'limit=0', 'limit=abc', 'limit=99999999']) {
      void it(`answers 400 for ?${query}`, async () => {
        assertError(await call(base, 'GET', `/api/v1/tasks?${query}`), 400, 'bad_request')
      })
    }

    void it('answers 404 for an unknown id', async () => {
      assertError(await call(base, 'GET', '/api/v1/tasks/no-such-task'), 404, 'not_found')
    })

    void it('?wait=true long-polls and answers with the current state when the window passes', async () => {
      const task = await fake.submit({ type: 'sleep', payload: '1000' })
      const started = Date.now()
      const a = await call(base, 'GET', `/api/v1/tasks/${task.id}?wait=true&wait_ms=100`)
      assert.equal(a.status, 200)
      assert.equal(a.body.status, 'running')
      assert.ok(Date.now() - started >= 90)
      setTimeout(() => { fake.finish(task.id, { status: 'succeeded', result: 'woke' }) }, 50)
      const done = await call(base, 'GET', `/api/v1/tasks/${task.id}?wait=true&wait_ms=5000`)
      assert.equal(done.body.status, 'succeeded')
      assert.equal(fake.pendingWaits(), 0)
    })
  })

  void describe('DELETE /api/v1/tasks/:id', () => {
    void it('cancels, and needs the token', async () => {
      const task = await fake.submit({ type: 'sleep', payload: '1000' })
      assertError(await call(base, 'DELETE', `/api/v1/tasks/${task.id}`), 401, 'unauthorized')
      const a = await call(base, 'DELETE', `/api/v1/tasks/${task.id}`, { token: TOKEN })
      assert.equal(a.status, 200)
      assert.equal(a.body.status, 'cancelled')
    })

    void it('answers 404 for an unknown id', async () => {
      assertError(await call(base, 'DELETE', '/api/v1/tasks/nope', { token: TOKEN }), 404, 'not_found')
    })
  })

  void it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    assertError(await call(base, 'GET', '/api/v2/status'), 404, 'not_found')
    assertError(await call(base, 'GET', '/'), 404, 'not_found')
    const put = await call(base, 'PUT', '/api/v1/tasks', { token: TOKEN })
    assertError(put, 405, 'method_not_allowed')
    assert.equal(put.headers.get('allow'), 'POST, GET')
    assertError(await call(base, 'POST', '/api/v1/status', { body: '{}' }), 405, 'method_not_allowed')
    assertError(await call(base, 'PATCH', '/api/v1/tasks/abc'), 405, 'method_not_allowed')
    assertError(await call(base, 'GET', '/api/v1/tasks/%E0%A4%A'), 400, 'bad_request')
  })

  void it('answers 500 for an unexpected error, without its details', async () => {
    fake.failNext = { method: 'status', error: new Error('database password is hunter2') }
    const a = await call(base, 'GET', '/api/v1/status')
    assertError(a, 500, 'internal')
    assert.doesNotMatch(JSON.stringify(a.body), /hunter2/)
    assert.equal((errors.at(-1) as Error).message, 'database password is hunter2')
  })
})

void describe('HTTP API without a token', () => {
  void it('lets POST through without Authorization', async () => {
    const fake = new FakeNodeApi()
    const server = await startApiServer(fake, { host: '127.0.0.1', port: 0 })
    try {
      const a = await call(server.url, 'POST', '/api/v1/tasks?wait=true', { body: '{"type": "echo", "payload": "hi"}' })
      assert.equal(a.status, 200)
      assert.equal((a.body as TaskView).result, 'hi')
      assertError(await call(server.url, 'GET', '/metrics'), 404, 'not_found')
    } finally {
      await server.close()
    }
  })

  void it('close() ends a waiting request with 503 and is idempotent', async () => {
    const fake = new FakeNodeApi()
    const server = await startApiServer(fake, { host: '127.0.0.1', port: 0 })
    const pending = call(server.url, 'POST', '/api/v1/tasks?wait=true', { body: '{"type": "sleep", "payload": "100000"}' })
    await waitFor(() => fake.pendingWaits() === 1)
    await Promise.all([server.close(), server.close()])
    assertError(await pending, 503, 'unavailable')
    assert.equal(fake.pendingWaits(), 0)
  })

  void it('says what to do when the port is taken', async () => {
    const fake = new FakeNodeApi()
    const first = await startApiServer(fake, { host: '127.0.0.1', port: 0 })
    try {
      await assert.rejects(startApiServer(fake, { host: '127.0.0.1', port: first.port }), /in use.*api\.port/)
    } finally {
      await first.close()
    }
  })
})
