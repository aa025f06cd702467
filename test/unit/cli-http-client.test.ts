import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { startApiServer } from '../../src/api/server.ts'
import { apiBaseUrl, createHttpNodeApi, probeApi } from '../../src/cli/http-client.ts'
import { runRepl } from '../../src/cli/repl.ts'
import { RemoteApiError, toRemoteApi } from '../../src/cli/remote-api.ts'
import { FakeNodeApi } from '../utils/fake-node-api.ts'
import { freePort } from '../utils/processes.ts'
import type { ApiServer } from '../../src/api/server.ts'
import type { AddressInfo } from 'node:net'

const TOKEN = 't0ken'
const HELLO_SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

void describe('HTTP client NodeApi', () => {
  const fake = new FakeNodeApi()
  let server: ApiServer
  before(async () => { server = await startApiServer(fake, { host: '127.0.0.1', port: 0, token: TOKEN }) })
  after(async () => { await server.close() })

  void it('answers every read the way the in-process adapter does', async () => {
    const remote = createHttpNodeApi(server.url, { token: TOKEN })
    const local = toRemoteApi(fake)
    assert.deepEqual(await remote.status(), await local.status())
    assert.deepEqual(await remote.peers(), await local.peers())
    assert.deepEqual(await remote.peers({ healthy: true }), await local.peers({ healthy: true }))
    assert.deepEqual(await remote.networkStats(), await local.networkStats())
    assert.deepEqual(await remote.capabilities(), await local.capabilities())
    assert.deepEqual(await remote.ledger(), await local.ledger())
    assert.deepEqual(await remote.readiness(), { ready: true })
    fake.readinessValue = { ready: false, reason: 'no peers' }
    assert.deepEqual(await remote.readiness(), { ready: false, reason: 'no peers' })
    fake.readinessValue = { ready: true }
  })

  void it('submits, waits over long-polls, gets, lists and cancels', async () => {
    const remote = createHttpNodeApi(server.url, { token: TOKEN, longPollMs: 30 })
    const task = await remote.submit({ type: 'compute', payload: 'hello', requires: ['compute'], timeoutMs: 5000 })
    assert.equal(task.status, 'queued')
    const done = await remote.wait(task.id)
    assert.equal(done.result, HELLO_SHA256)
    assert.deepEqual(await remote.get(task.id), done)
    assert.equal(await remote.get('missing'), undefined)

    const bytes = await remote.submit({ type: 'echo', payload: new Uint8Array([104, 105]) })
    assert.equal((await remote.wait(bytes.id)).result, 'hi')

    const slow = await remote.submit({ type: 'sleep', payload: '1000' })
    // several long-poll windows pass before the task ends
    setTimeout(() => { fake.finish(slow.id, { status: 'succeeded', result: 'late' }) }, 120)
    assert.equal((await remote.wait(slow.id)).result, 'late')

    const listed = await remote.list({ status: 'succeeded', limit: 2 })
    assert.equal(listed.length, 2)
    const running = await remote.submit({ type: 'sleep', payload: '1000' })
    assert.equal((await remote.cancel(running.id)).status, 'cancelled')
  })

  void it('stops waiting when the signal aborts', async () => {
    const remote = createHttpNodeApi(server.url, { token: TOKEN })
    const task = await remote.submit({ type: 'sleep', payload: '1000' })
    const controller = new AbortController()
    const waiting = remote.wait(task.id, { signal: controller.signal })
    setTimeout(() => { controller.abort(new Error('stop')) }, 30)
    await assert.rejects(waiting, /stop/)
    await fake.cancel(task.id)
  })

  void it('turns API errors into RemoteApiError with code and status', async () => {
    const noToken = createHttpNodeApi(server.url)
    await assert.rejects(noToken.submit({ type: 'echo', payload: 'x' }), (err: unknown) => {
      assert.ok(err instanceof RemoteApiError)
      assert.equal(err.status, 401)
      assert.equal(err.code, 'unauthorized')
      assert.match(err.message, /Authorization: Bearer/)
      return true
    })
    const remote = createHttpNodeApi(server.url, { token: TOKEN })
    await assert.rejects(remote.cancel('missing'), { name: 'RemoteApiError', code: 'not_found', status: 404 })
    await assert.rejects(remote.wait('missing'), { code: 'not_found' })
  })

  void it('says what to do when nothing answers', async () => {
    const port = await freePort()
    const remote = createHttpNodeApi(`http://127.0.0.1:${port}`)
    await assert.rejects(remote.status(), (err: unknown) => {
      assert.ok(err instanceof RemoteApiError)
      assert.equal(err.code, 'unreachable')
      assert.match(err.message, /cannot reach the node API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); is the node running with api\.enabled\?/)
      return true
    })
  })

  void it('the piped REPL works through it', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let text = ''
    output.on('data', (chunk: Buffer) => { text += chunk.toString() })
    input.end('peers\ntask compute hello\ntask-status nope\n')
    const result = await runRepl(createHttpNodeApi(server.url, { token: TOKEN }), { input, output, interactive: false })
    assert.equal(result.ok, false, 'task-status of an unknown id fails')
    assert.match(text, /12D3Ko…AA1234 +worker/)
    assert.match(text, new RegExp(`^result +${HELLO_SHA256}$`, 'm'))
    assert.match(text, /error: no task with id "nope"/)
  })
})

void describe('probeApi', () => {
  void it('is true for a node API and false otherwise', async () => {
    const server = await startApiServer(new FakeNodeApi(), { host: '127.0.0.1', port: 0 })
    try {
      assert.equal(await probeApi(server.url, 1000), true)
    } finally {
      await server.close()
    }
    assert.equal(await probeApi(`http://127.0.0.1:${await freePort()}`, 1000), false)
    // something else on the port: answers, but not as a node API
    const other = createServer((_req, res) => { res.end('hello') })
    await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve))
    try {
      assert.equal(await probeApi(`http://127.0.0.1:${(other.address() as AddressInfo).port}`, 1000), false)
    } finally {
      await new Promise(resolve => other.close(resolve))
    }
  })

  void it('answers false without an HTTP request when nothing listens (no fetch, no undici, in a starting node)', async () => {
    const realFetch = globalThis.fetch
    let calls = 0
    globalThis.fetch = async (...args: Parameters<typeof fetch>) => { calls++; return realFetch(...args) }
    try {
      assert.equal(await probeApi(`http://127.0.0.1:${await freePort()}`, 1000), false)
      assert.equal(calls, 0)
      const server = await startApiServer(new FakeNodeApi(), { host: '127.0.0.1', port: 0 })
      try {
        assert.equal(await probeApi(server.url, 1000), true)
        assert.equal(calls, 1, 'a listening port is asked over HTTP')
      } finally {
        await server.close()
      }
    } finally {
      globalThis.fetch = realFetch
    }
  })

  void it('gives up after its timeout', async () => {
    const silent = createServer(() => { /* never answers */ })
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    try {
      const started = Date.now()
      assert.equal(await probeApi(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 100), false)
      assert.ok(Date.now() - started < 1000)
    } finally {
      silent.closeAllConnections()
      await new Promise(resolve => silent.close(resolve))
    }
  })
})

void describe('apiBaseUrl', () => {
  void it('reaches a wildcard listen address on loopback', () => {
    assert.equal(apiBaseUrl({ host: '0.0.0.0', port: 8080 }), 'http://127.0.0.1:8080')
    assert.equal(apiBaseUrl({ host: '::', port: 8080 }), 'http://[::1]:8080')
    assert.equal(apiBaseUrl({ host: '10.0.0.5', port: 80 }), 'http://10.0.0.5:80')
  })
})
