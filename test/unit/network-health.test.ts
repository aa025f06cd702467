/**
 * Peer health: when a ping is due (pure), and the HealthMonitor between two real libp2p nodes on
 * 127.0.0.1: a peer that talks costs no pings, a silent one is pinged, one that stops answering is
 * unhealthy after MAX_CONSECUTIVE_FAILURES pings and healthy again once it is heard from. The
 * monitor's own timer is parked (tickMs of an hour) and rounds are driven by hand with explicit
 * clock values, so nothing depends on timer accuracy.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { LOCAL_CONFIG_DIR } from '../../src/cli/devnet.ts'
import { loadConfigFile } from '../../src/config/index.ts'
import { createLogger } from '../../src/logger.ts'
import { HealthMonitor } from '../../src/network/health-monitor.ts'
import { createP2PLibp2p, type P2PLibp2p } from '../../src/network/libp2p.ts'
import { MAX_CONSECUTIVE_FAILURES, RATE_WINDOW, isHealthy, newHealthRecord, pingDue, recordFailure, recordSeen, recordSuccess } from '../../src/network/peer-health.ts'
import { waitFor } from '../utils/wait.ts'

describe('peer health: when a ping is due', () => {
  const t = 10_000_000
  const interval = 15_000
  const retry = 5_000
  it('a peer never pinged nor heard from is due at once', () => {
    assert.equal(pingDue(newHealthRecord(t), t, interval, retry), true)
  })
  it('a peer heard from recently is not due, one silent for the interval is', () => {
    const r = newHealthRecord(t)
    recordSeen(r, t)
    assert.equal(pingDue(r, t + interval - 1, interval, retry), false)
    assert.equal(pingDue(r, t + interval, interval, retry), true)
  })
  it('messages postpone the next ping; the last ping counts as well', () => {
    const r = newHealthRecord(t)
    recordSuccess(r, 2, t)
    recordSeen(r, t + 10_000)
    assert.equal(pingDue(r, t + 20_000, interval, retry), false)
    assert.equal(pingDue(r, t + 25_000, interval, retry), true)
  })
  it('the success rate covers the recent pings only', () => {
    const r = newHealthRecord(t)
    for (let i = 0; i < 20; i++) recordFailure(r, t)
    for (let i = 0; i < RATE_WINDOW / 2 + 1; i++) recordSuccess(r, 1, t)
    assert.equal(isHealthy(r, t), true)
  })
  it('after a failed ping the peer is retried sooner, and is unhealthy after MAX_CONSECUTIVE_FAILURES', () => {
    const r = newHealthRecord(t)
    for (let i = 0; i < 10; i++) recordSuccess(r, 1, t)
    recordFailure(r, t + 20_000)
    assert.equal(pingDue(r, t + 20_000 + retry - 1, interval, retry), false)
    assert.equal(pingDue(r, t + 20_000 + retry, interval, retry), true)
    for (let i = 1; i < MAX_CONSECUTIVE_FAILURES; i++) recordFailure(r, t + 20_000 + i * retry)
    // 10 successes of 13 attempts: the rate alone would still call it healthy
    assert.equal(isHealthy(r, t + 40_000), false)
    recordSeen(r, t + 41_000)
    assert.equal(isHealthy(r, t + 41_000), true)
  })
})

describe('HealthMonitor between two libp2p nodes', () => {
  let a: P2PLibp2p | undefined
  let b: P2PLibp2p | undefined
  let monitor: HealthMonitor | undefined
  const PING = '/ipfs/ping/1.0.0'

  const make = async (): Promise<P2PLibp2p> => {
    const config = loadConfigFile(join(LOCAL_CONFIG_DIR, 'worker.yaml'), {
      env: {},
      overrides: { 'node.data_dir': '/nonexistent', 'network.enable_dht': false, 'network.enable_relay': false }
    })
    const node = await createP2PLibp2p({ config, privateKey: await generateKeyPair('Ed25519') })
    await node.start()
    return node
  }

  before(async () => {
    a = await make()
    b = await make()
    monitor = new HealthMonitor({ libp2p: a, logger: createLogger({ level: 'silent', format: 'json' }) }, {
      pingIntervalMs: 10_000, retryMs: 5_000, tickMs: 3_600_000, timeoutMs: 5_000, isMember: () => true
    })
    monitor.start()
  })

  after(async () => {
    monitor?.stop()
    await a?.stop()
    await b?.stop()
  })

  it('pings a new peer once, not a talking one, a silent one again, and notices one that stops answering', async () => {
    assert.ok(a != null && b != null && monitor != null)
    const m = monitor
    const peer = b.peerId.toString()
    await a.dial(b.getMultiaddrs()[0] ?? assert.fail('b has no address'), { signal: AbortSignal.timeout(10_000) })
    // identify -> the first ping (an RTT for placement at once)
    await waitFor(() => (m.get(peer)?.successes ?? 0) >= 1, { timeoutMs: 20_000, what: 'the first ping after identify', describe: () => m.get(peer) })
    assert.equal(m.pings, 1)

    // heard from just now: not due
    m.seen(peer)
    m.round(Date.now() + 5_000)
    assert.equal(m.pings, 1, 'a peer heard from within the interval is not pinged')

    // silent for the interval: pinged
    m.round(Date.now() + 11_000)
    assert.equal(m.pings, 2)
    await waitFor(() => (m.get(peer)?.successes ?? 0) >= 2, { timeoutMs: 20_000, what: 'the second ping', describe: () => m.get(peer) })

    // b stops answering pings (as a hung process would): unhealthy after MAX_CONSECUTIVE_FAILURES
    await b.unhandle(PING)
    for (let i = 1; i <= MAX_CONSECUTIVE_FAILURES; i++) {
      assert.equal(m.healthy(peer), true, `still healthy before failure ${i}`)
      m.round(Date.now() + 11_000)
      await waitFor(() => m.get(peer)?.consecutiveFailures === i, { timeoutMs: 20_000, what: `failed ping ${i}`, describe: () => m.get(peer) })
    }
    assert.equal(m.healthy(peer), false)
    assert.equal(m.pings, 2 + MAX_CONSECUTIVE_FAILURES)

    // heard from again: no longer down, but 2 of its last 5 pings answered is still unhealthy
    m.seen(peer)
    assert.equal(m.get(peer)?.consecutiveFailures, 0)
    assert.equal(m.healthy(peer), false)
    // answering pings again brings it back (over 50% of the recent pings)
    await b.handle(PING, async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    }, { runOnLimitedConnection: true })
    for (let i = 1; i <= 2; i++) {
      m.round(Date.now() + 11_000)
      await waitFor(() => m.get(peer)?.successes === 2 + i, { timeoutMs: 20_000, what: `ping ${i} after recovery`, describe: () => m.get(peer) })
    }
    assert.equal(m.healthy(peer), true)
  })
})
