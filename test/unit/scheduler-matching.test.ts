/**
 * The pure parts of the scheduler, table-driven: label selectors, matching and ranking of workers,
 * retry back-off, reputation and credits.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { bestCandidate, canRun, estimatedFree, explainNoWorker, mismatch, rankCandidates, type MismatchReason, type RankContext, type TaskNeeds, type WorkerInfo } from '../../src/scheduler/matching.ts'
import { claimDelayMs, credits, leaseTimeoutMs, reputation, retryBackoffMs } from '../../src/scheduler/policy.ts'
import { matchesSelector, parseSelector, SelectorError, type Requirement } from '../../src/scheduler/selector.ts'

describe('parseSelector', () => {
  const ok: Array<[string, Requirement[]]> = [
    ['', []],
    ['   ', []],
    ['zone=b', [{ key: 'zone', op: '=', value: 'b' }]],
    ['zone==b', [{ key: 'zone', op: '=', value: 'b' }]],
    [' zone = b ', [{ key: 'zone', op: '=', value: 'b' }]],
    ['tier!=spot', [{ key: 'tier', op: '!=', value: 'spot' }]],
    ['zone=', [{ key: 'zone', op: '=', value: '' }]],
    ['region in (eu,us)', [{ key: 'region', op: 'in', values: ['eu', 'us'] }]],
    ['region in ( eu , us )', [{ key: 'region', op: 'in', values: ['eu', 'us'] }]],
    ['gpu notin (none)', [{ key: 'gpu', op: 'notin', values: ['none'] }]],
    ['example.com/zone=b', [{ key: 'example.com/zone', op: '=', value: 'b' }]],
    ['zone=b,tier!=spot,region in (eu,us)', [
      { key: 'zone', op: '=', value: 'b' },
      { key: 'tier', op: '!=', value: 'spot' },
      { key: 'region', op: 'in', values: ['eu', 'us'] }
    ]],
    ['region in (eu,us),zone=b', [
      { key: 'region', op: 'in', values: ['eu', 'us'] },
      { key: 'zone', op: '=', value: 'b' }
    ]]
  ]
  for (const [text, want] of ok) {
    it(`reads ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseSelector(text), want)
    })
  }

  const bad: Array<[string, RegExp]> = [
    ['zone', /cannot read "zone"/],
    ['=b', /cannot read/],
    ['zone=b,', /cannot read ""/],
    [',zone=b', /cannot read ""/],
    ['zone=b c', /cannot read/],
    ['zone=!b', /cannot read/],
    ['zone > b', /cannot read/],
    ['region in ()', /empty set/],
    ['region in ( , )', /empty set/],
    ['region in (eu', /cannot read/],
    ['region in eu,us', /cannot read/],
    ['region in (eu))', /cannot read/],
    ['region in (e u)', /cannot read/],
    ['region in (eu,"us")', /cannot read/],
    ['_zone=b', /cannot read/],
    [`zone=${'v'.repeat(64)}`, /cannot read/],
    [`${'k'.repeat(64)}=v`, /cannot read/]
  ]
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text)} with a SelectorError that shows an example`, () => {
      assert.throws(() => parseSelector(text), (err: unknown) => {
        assert.ok(err instanceof SelectorError, `not a SelectorError: ${String(err)}`)
        assert.equal(err.code, 'ERR_SELECTOR')
        assert.match(err.message, message)
        assert.match(err.message, /expected e\.g\. "zone=b"/)
        return true
      })
    })
  }
})

describe('matchesSelector', () => {
  const labels = { zone: 'b', tier: 'spot', region: 'eu' }
  const table: Array<[string, Record<string, string>, boolean]> = [
    ['', {}, true],
    ['', labels, true],
    ['zone=b', labels, true],
    ['zone=a', labels, false],
    ['zone=b', {}, false],
    ['zone!=a', labels, true],
    ['zone!=b', labels, false],
    // Kubernetes semantics: != and notin hold when the label is absent
    ['gpu!=yes', labels, true],
    ['gpu notin (yes)', labels, true],
    ['region in (eu,us)', labels, true],
    ['region in (us,asia)', labels, false],
    ['gpu in (yes)', labels, false],
    ['region notin (eu)', labels, false],
    ['region notin (us)', labels, true],
    ['zone=b,tier!=spot', labels, false],
    ['zone=b,tier=spot,region in (eu)', labels, true],
    ['zone=', { zone: '' }, true],
    ['zone=', {}, false]
  ]
  for (const [selector, l, want] of table) {
    it(`${JSON.stringify(selector)} on ${JSON.stringify(l)} is ${want}`, () => {
      assert.equal(matchesSelector(parseSelector(selector), l), want)
    })
  }
})

function worker (peerId: string, extra: Partial<WorkerInfo> = {}): WorkerInfo {
  return { peerId, capabilities: ['compute', 'storage'], labels: { zone: 'a' }, taskTypes: ['compute', 'echo'], slots: 4, running: 0, load: 0, ...extra }
}

function needs (type: string, extra: { requires?: string[], selector?: string } = {}): TaskNeeds {
  return { type, requires: extra.requires ?? [type], selector: parseSelector(extra.selector ?? '') }
}

function ctx (extra: Partial<RankContext> = {}): RankContext {
  return { inflight: () => 0, rttMs: () => undefined, reputation: () => 0.5, failedOn: new Set(), full: () => false, ...extra }
}

describe('mismatch and canRun', () => {
  const table: Array<[string, WorkerInfo, TaskNeeds, MismatchReason | undefined]> = [
    ['a matching worker', worker('w'), needs('compute'), undefined],
    ['requires a subset of capabilities', worker('w'), needs('compute', { requires: ['compute', 'storage'] }), undefined],
    ['a missing capability', worker('w'), needs('compute', { requires: ['compute', 'gpu'] }), 'capability'],
    ['no handler for the type', worker('w'), needs('resize', { requires: ['compute'] }), 'handler'],
    ['a capability but no handler (default requires)', worker('w', { capabilities: ['compute', 'resize'] }), needs('resize'), 'handler'],
    ['a selector that does not match', worker('w'), needs('compute', { selector: 'zone=b' }), 'selector'],
    ['a selector that matches', worker('w', { labels: { zone: 'b' } }), needs('compute', { selector: 'zone=b' }), undefined],
    ['no slots at all', worker('w', { slots: 0 }), needs('compute'), 'no_slots'],
    ['draining', worker('w', { draining: true }), needs('compute'), 'no_slots'],
    // being busy is not a mismatch: the worker can run it later
    ['busy', worker('w', { running: 4, load: 1 }), needs('compute'), undefined]
  ]
  for (const [name, w, t, want] of table) {
    it(`${name}: ${want ?? 'can run'}`, () => {
      assert.equal(mismatch(w, t), want)
      assert.equal(canRun(w, t), want === undefined)
    })
  }
})

describe('estimatedFree', () => {
  const table: Array<[number, number, number, number]> = [
    // slots, running (heartbeat), inflight (own placements), free
    [4, 0, 0, 4],
    [4, 1, 0, 3],
    [4, 0, 3, 1],
    [4, 2, 3, 1],
    [4, 4, 0, 0],
    [4, 6, 0, 0],
    [4, 0, 9, 0]
  ]
  for (const [slots, running, inflight, want] of table) {
    it(`${slots} slots, ${running} running, ${inflight} in flight: ${want} free`, () => {
      assert.equal(estimatedFree(worker('w', { slots, running }), inflight), want)
    })
  }
})

describe('rankCandidates', () => {
  const ids = (ws: WorkerInfo[]): string[] => ws.map(w => w.peerId)

  it('leaves out workers that cannot run the task, are full or refused', () => {
    const ws = [
      worker('ok'),
      worker('no-cap', { capabilities: ['storage'] }),
      worker('no-handler', { taskTypes: ['echo'] }),
      worker('wrong-zone', { labels: { zone: 'z' } }),
      worker('busy', { running: 4 }),
      worker('refused'),
      worker('draining', { draining: true })
    ]
    const ranked = rankCandidates(ws, needs('compute', { selector: 'zone=a' }), ctx({ full: p => p === 'refused' }))
    assert.deepEqual(ids(ranked), ['ok'])
  })

  it('prefers more free capacity, then reputation, then low load and RTT', () => {
    const table: Array<[string, WorkerInfo[], Partial<RankContext>, string[]]> = [
      ['free capacity', [worker('a', { running: 3 }), worker('b', { running: 1 })], {}, ['b', 'a']],
      ['own placements count as running', [worker('a'), worker('b')], { inflight: p => p === 'a' ? 3 : 0 }, ['b', 'a']],
      ['reputation', [worker('a'), worker('b')], { reputation: p => p === 'b' ? 0.9 : 0.2 }, ['b', 'a']],
      ['load', [worker('a', { load: 3 }), worker('b', { load: 0 })], {}, ['b', 'a']],
      ['RTT', [worker('a'), worker('b')], { rttMs: p => p === 'a' ? 400 : 2 }, ['b', 'a']],
      ['ties broken by peer ID, deterministically', [worker('b'), worker('a'), worker('c')], {}, ['a', 'b', 'c']]
    ]
    for (const [name, ws, c, want] of table) {
      assert.deepEqual(ids(rankCandidates(ws, needs('compute'), ctx(c))), want, name)
    }
  })

  it('avoids workers where the task already failed while another capable worker exists, even a full one', () => {
    const ws = [worker('failed-here'), worker('busy-other', { running: 3 })]
    assert.deepEqual(ids(rankCandidates(ws, needs('compute'), ctx({ failedOn: new Set(['failed-here']) }))), ['busy-other'])
    const full = [worker('failed-here'), worker('full-other', { running: 4 })]
    assert.deepEqual(ids(rankCandidates(full, needs('compute'), ctx({ failedOn: new Set(['failed-here']) }))), [])
    const only = [worker('failed-here'), worker('no-handler', { taskTypes: [] })]
    assert.deepEqual(ids(rankCandidates(only, needs('compute'), ctx({ failedOn: new Set(['failed-here']) }))), ['failed-here'])
  })

  it('returns nothing when every capable worker is full', () => {
    assert.deepEqual(rankCandidates([worker('a', { running: 4 }), worker('b')], needs('compute'), ctx({ inflight: () => 4 })), [])
  })
})

describe('bestCandidate', () => {
  it('is the first of rankCandidates, or undefined when it is empty', () => {
    // few peer IDs and coarse values, so ties and every exclusion come up often
    const arbWorker = fc.record({
      peerId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'B', 'Qm1', 'Qm2'),
      slots: fc.integer({ min: 0, max: 4 }),
      running: fc.integer({ min: 0, max: 5 }),
      load: fc.integer({ min: 0, max: 5 }),
      draining: fc.boolean(),
      zone: fc.constantFrom('a', 'b'),
      handler: fc.boolean(),
      prefetch: fc.constantFrom(0, 0, 2)
    }).map(w => worker(w.peerId, { slots: w.slots, prefetch: w.prefetch, running: w.running, load: w.load, draining: w.draining, labels: { zone: w.zone }, taskTypes: w.handler ? ['compute'] : ['echo'] }))
    const arbCase = fc.record({
      workers: fc.uniqueArray(arbWorker, { selector: w => w.peerId, maxLength: 9 }),
      selector: fc.constantFrom('', 'zone=a'),
      inflight: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 4 })),
      rtt: fc.dictionary(fc.constantFrom('a', 'b', 'd'), fc.constantFrom(1, 5, 400)),
      reputation: fc.dictionary(fc.constantFrom('a', 'c', 'e'), fc.constantFrom(0.2, 0.5, 0.9)),
      failedOn: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'Qm1'), { maxLength: 3 }),
      full: fc.uniqueArray(fc.constantFrom('b', 'e', 'Qm2'), { maxLength: 2 })
    })
    fc.assert(fc.property(arbCase, c => {
      const context = ctx({
        inflight: p => c.inflight[p] ?? 0,
        rttMs: p => c.rtt[p],
        reputation: p => c.reputation[p] ?? 0.5,
        failedOn: new Set(c.failedOn),
        full: p => (c.full as string[]).includes(p)
      })
      const task = needs('compute', { selector: c.selector })
      assert.equal(bestCandidate(c.workers, task, context)?.peerId, rankCandidates(c.workers, task, context)[0]?.peerId)
    }), { numRuns: 2000, seed: 7 })
  })
})

describe('prefetch places', () => {
  it('estimatedFree counts them as room beyond the slots', () => {
    assert.equal(estimatedFree(worker('w', { slots: 4, prefetch: 4, running: 4 }), 0), 4)
    assert.equal(estimatedFree(worker('w', { slots: 4, prefetch: 4, running: 0 }), 6), 2)
    assert.equal(estimatedFree(worker('w', { slots: 4, prefetch: 4, running: 0 }), 8), 0)
  })

  it('a worker with a free slot ranks above every one with only prefetch places left, whatever its reputation, load or RTT', () => {
    fc.assert(fc.property(
      fc.record({ inflight: fc.integer({ min: 0, max: 3 }), load: fc.integer({ min: 0, max: 8 }), rtt: fc.integer({ min: 0, max: 5000 }), rep: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ inflight: fc.integer({ min: 4, max: 7 }), load: fc.integer({ min: 0, max: 8 }), rtt: fc.integer({ min: 0, max: 5000 }), rep: fc.double({ min: 0, max: 1, noNaN: true }) }),
      (slot, queue) => {
        const ws = [worker('has-slot', { slots: 4, prefetch: 4, load: slot.load }), worker('prefetch-only', { slots: 4, prefetch: 4, load: queue.load })]
        const c = ctx({
          inflight: p => p === 'has-slot' ? slot.inflight : queue.inflight,
          rttMs: p => p === 'has-slot' ? slot.rtt : queue.rtt,
          reputation: p => p === 'has-slot' ? slot.rep : queue.rep
        })
        assert.deepEqual(rankCandidates(ws, needs('compute'), c).map(w => w.peerId), ['has-slot', 'prefetch-only'])
        assert.equal(bestCandidate(ws, needs('compute'), c)?.peerId, 'has-slot')
      }), { numRuns: 500, seed: 11 })
  })
})

describe('explainNoWorker', () => {
  const table: Array<[string, WorkerInfo[], TaskNeeds, string, RegExp]> = [
    ['no workers', [], needs('compute'), '', /no worker is known on this network/],
    ['no capability', [worker('a'), worker('b', { capabilities: [] })], needs('resize'), '', /no worker advertises the capabilities \[resize\]/],
    ['capability without handler', [worker('a', { capabilities: ['resize'] })], needs('resize'), '', /has a handler for task type "resize"/],
    ['selector', [worker('a'), worker('b', { labels: { zone: 'b' } })], needs('compute', { selector: 'zone=c' }), 'zone=c', /labels matching selector "zone=c"/],
    ['only workers without slots', [worker('a', { slots: 0, capabilities: [], taskTypes: [] })], needs('compute'), '', /no worker advertises the capabilities \[compute\]/],
    // a capable worker that is draining is not "no worker with the capability"
    ['capable workers all draining', [worker('a', { draining: true }), worker('b', { slots: 0 })], needs('compute'), '', /draining|no free slots|no slots/]
  ]
  for (const [name, ws, t, sel, want] of table) {
    it(name, () => {
      assert.match(explainNoWorker(ws, t, sel), want)
    })
  }
})

describe('policy', () => {
  it('retryBackoffMs: 100 ms doubling to 5 s, within +-20% jitter', () => {
    const table: Array<[number, number]> = [[0, 100], [1, 100], [2, 200], [3, 400], [4, 800], [6, 3200], [7, 5000], [50, 5000]]
    for (const [attempt, base] of table) {
      assert.equal(retryBackoffMs(attempt, () => 0.5), base, `attempt ${attempt} midpoint`)
      assert.equal(retryBackoffMs(attempt, () => 0), Math.round(base * 0.8), `attempt ${attempt} low`)
      assert.equal(retryBackoffMs(attempt, () => 0.999999), Math.round(base * 1.2), `attempt ${attempt} high`)
    }
    for (let i = 0; i < 200; i++) {
      const v = retryBackoffMs(3)
      assert.ok(v >= 320 && v <= 480, `jittered back-off ${v} outside 320..480`)
    }
  })

  it('leaseTimeoutMs: three missed renewals and a margin', () => {
    assert.equal(leaseTimeoutMs(500), 2000)
    assert.equal(leaseTimeoutMs(2000), 6500)
  })

  it('reputation: success rate with a uniform prior', () => {
    const table: Array<[number, number, number]> = [[0, 0, 0.5], [1, 0, 2 / 3], [0, 1, 1 / 3], [9, 1, 10 / 12], [100, 0, 101 / 102]]
    for (const [completed, failed, want] of table) assert.equal(reputation(completed, failed), want, `${completed}/${failed}`)
    assert.ok(reputation(10, 0) > reputation(0, 10))
    assert.ok(reputation(10, 0) > reputation(1, 0), 'more evidence, more trust')
  })

  it('credits: seconds times weight, at least 1 ms worth', () => {
    const table: Array<[number, number, number]> = [[1500, 1, 1.5], [1000, 2, 2], [0, 1, 0.001], [-5, 1, 0.001], [2000, 0, 0], [1, 0.5, 0.001], [333, 3, 0.999]]
    for (const [ms, weight, want] of table) assert.equal(credits(ms, weight), want, `${ms} ms x ${weight}`)
  })

  it('claimDelayMs: idle workers answer before busy ones', () => {
    assert.equal(claimDelayMs(0, 4, () => 0), 0)
    assert.equal(claimDelayMs(4, 4, () => 0), 80)
    assert.equal(claimDelayMs(0, 0, () => 0), 80)
    assert.ok(claimDelayMs(0, 4, () => 0.99) < claimDelayMs(4, 4, () => 0))
  })
})
