/**
 * Periodic work spread over its period (src/periodic.ts): nodes started together must not heartbeat
 * and advertise in step (issue 7, sixth session: 50 workers' synchronised heartbeats every 30 s).
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { every, jitteredMs, PERIOD_JITTER } from '../../src/periodic.ts'

describe('every: a random first tick, then every period', () => {
  beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'setInterval'] }) })
  afterEach(() => { mock.timers.reset() })

  it('timers started together with different draws tick at different points of the period', () => {
    const ticks: Array<[string, number]> = []
    let now = 0
    const a = every(1000, () => { ticks.push(['a', now]) }, () => 0.25)
    const b = every(1000, () => { ticks.push(['b', now]) }, () => 0.75)
    for (; now < 3000; now += 50) mock.timers.tick(50)
    a.stop()
    b.stop()
    // ticks are seen at the end of the 50 ms step they fell in
    assert.deepEqual(ticks.filter(t => t[0] === 'a').map(t => t[1]), [200, 1200, 2200])
    assert.deepEqual(ticks.filter(t => t[0] === 'b').map(t => t[1]), [700, 1700, 2700])
  })

  it('stop before the first tick or after it: no more ticks', () => {
    let n = 0
    const early = every(1000, () => { n++ }, () => 0.5)
    early.stop()
    mock.timers.tick(5000)
    assert.equal(n, 0)
    const late = every(1000, () => { n++ }, () => 0)
    for (let t = 0; t < 1500; t += 100) mock.timers.tick(100)
    assert.equal(n, 2)
    late.stop()
    mock.timers.tick(5000)
    assert.equal(n, 2)
  })
})

describe('jitteredMs', () => {
  it('shortens a period by up to PERIOD_JITTER of it, never lengthens it', () => {
    assert.equal(jitteredMs(30_000, 0), 30_000)
    assert.equal(jitteredMs(30_000, 0.5), 30_000 * (1 - PERIOD_JITTER / 2))
    assert.ok(jitteredMs(30_000, 0.999) > 30_000 * (1 - PERIOD_JITTER))
    // draws outside [0, 1) are clamped
    assert.equal(jitteredMs(1000, -1), 1000)
    assert.equal(jitteredMs(1000, 2), 1000 * (1 - PERIOD_JITTER))
  })
})
