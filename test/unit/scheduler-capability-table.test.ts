/**
 * The capability table: advertisements ordered by seq, heartbeats by their own seq, refusals and
 * draining, and expiry of silent peers.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CapabilityTable, type AdvertisementInput, type HeartbeatInput } from '../../src/scheduler/capability-table.ts'

const T0 = 1_000_000

function ad (peerId: string, seq: bigint, extra: Partial<AdvertisementInput> = {}): AdvertisementInput {
  return { peerId, role: 'worker', capabilities: ['compute'], labels: { zone: 'a' }, taskTypes: ['compute'], slots: 4, addrs: ['/ip4/127.0.0.1/tcp/1'], seq, ...extra }
}

function hb (peerId: string, seq: bigint, extra: Partial<HeartbeatInput> = {}): HeartbeatInput {
  return { peerId, seq, running: 0, freeSlots: 4, queue: 0, load: 0, ...extra }
}

describe('CapabilityTable', () => {
  it('classifies advertisements as new, same, changed or stale by seq', () => {
    const table = new CapabilityTable(5000)
    const steps: Array<[AdvertisementInput, 'new' | 'changed' | 'same' | 'stale']> = [
      [ad('w', 10n), 'new'],
      [ad('w', 11n), 'same'],
      // an equal seq is a repeat of the same advertisement, not an older one
      [ad('w', 11n), 'same'],
      [ad('w', 12n, { labels: { zone: 'b' } }), 'changed'],
      [ad('w', 13n, { labels: { zone: 'b' }, slots: 8 }), 'changed'],
      [ad('w', 14n, { labels: { zone: 'b' }, slots: 8, capabilities: ['compute', 'gpu'] }), 'changed'],
      [ad('w', 15n, { labels: { zone: 'b' }, slots: 8, capabilities: ['compute', 'gpu'], taskTypes: ['compute', 'x'] }), 'changed'],
      [ad('w', 16n, { labels: { zone: 'b' }, slots: 8, capabilities: ['compute', 'gpu'], taskTypes: ['compute', 'x'], role: 'relay' }), 'changed'],
      [ad('w', 9n, { labels: { zone: 'z' } }), 'stale']
    ]
    for (const [a, want] of steps) assert.equal(table.advertise(a, T0), want, `seq ${a.seq}`)
    const e = table.get('w')
    assert.equal(e?.advertisedSeq, 16n)
    assert.deepEqual(e?.labels, { zone: 'b' }, 'a stale advertisement must not overwrite a newer one')
  })

  it('applies heartbeats in seq order only, and keeps load across advertisements', () => {
    const table = new CapabilityTable(5000)
    assert.equal(table.heartbeat(hb('unknown', 1n), T0), false, 'a heartbeat of a peer never advertised is dropped')
    assert.equal(table.get('unknown'), undefined)
    table.advertise(ad('w', 1n), T0)
    assert.equal(table.heartbeat(hb('w', 5n, { running: 3, freeSlots: 1, load: 0.75 }), T0 + 1), true)
    assert.equal(table.heartbeat(hb('w', 4n, { running: 0, freeSlots: 4 }), T0 + 2), false, 'older heartbeat ignored')
    assert.equal(table.heartbeat(hb('w', 5n, { running: 0, freeSlots: 4 }), T0 + 2), false, 'repeated heartbeat ignored')
    let e = table.get('w')
    assert.equal(e?.running, 3)
    assert.equal(e?.freeSlots, 1)
    assert.equal(e?.lastHeartbeat, T0 + 1)
    assert.equal(table.heartbeat(hb('w', 6n, { running: 4, freeSlots: 0, load: 1 }), T0 + 3), false, 'no free slot: no reason to place')
    table.advertise(ad('w', 2n), T0 + 4)
    e = table.get('w')
    assert.equal(e?.running, 4, 'an advertisement keeps the latest heartbeat view')
    assert.equal(e?.heartbeatSeq, 6n)
  })

  it('marks a worker full on refusal until a heartbeat shows a free slot', () => {
    const table = new CapabilityTable(5000)
    table.advertise(ad('w', 1n), T0)
    table.markFull('w', T0 + 1)
    assert.equal(table.get('w')?.fullSince, T0 + 1)
    table.heartbeat(hb('w', 1n, { running: 4, freeSlots: 0 }), T0 + 2)
    assert.equal(table.get('w')?.fullSince, T0 + 1)
    table.heartbeat(hb('w', 2n, { running: 3, freeSlots: 1 }), T0 + 3)
    assert.equal(table.get('w')?.fullSince, undefined)
    table.markFull('nobody')
    assert.equal(table.get('nobody'), undefined)
  })

  it('keeps a draining mark until a heartbeat shows activity', () => {
    const table = new CapabilityTable(5000)
    table.advertise(ad('w', 1n), T0)
    table.markDraining('w')
    table.heartbeat(hb('w', 1n, { running: 0, freeSlots: 0 }), T0 + 1)
    assert.equal(table.get('w')?.draining, true)
    table.heartbeat(hb('w', 2n, { running: 1, freeSlots: 3 }), T0 + 2)
    assert.equal(table.get('w')?.draining, false)
  })

  it('expires peers silent longer than the expiry; heartbeats, advertisements and touch keep them', () => {
    const table = new CapabilityTable(5000)
    table.advertise(ad('a', 1n), T0)
    table.advertise(ad('b', 1n), T0)
    table.advertise(ad('c', 1n), T0)
    table.heartbeat(hb('b', 1n), T0 + 4000)
    table.touch('c', T0 + 4000)
    assert.deepEqual(table.expire(T0 + 5000), [], 'exactly at the expiry is not past it')
    assert.deepEqual(table.expire(T0 + 5001), ['a'])
    assert.deepEqual(table.all().map(e => e.peerId).sort(), ['b', 'c'])
    assert.deepEqual(table.expire(T0 + 9001).sort(), ['b', 'c'])
    assert.deepEqual(table.all(), [])
    // an expired peer that comes back is new again
    assert.equal(table.advertise(ad('a', 2n), T0 + 9002), 'new')
  })

  it('brings an expired peer back with its next heartbeat, until it has been silent for long', () => {
    const table = new CapabilityTable(5000)
    table.advertise(ad('w', 1n, { labels: { zone: 'q' } }), T0)
    table.heartbeat(hb('w', 1n), T0)
    assert.deepEqual(table.expire(T0 + 5001), ['w'])
    assert.equal(table.get('w'), undefined)
    assert.deepEqual(table.workers(), [])
    assert.equal(table.heartbeat(hb('w', 1n), T0 + 6000), false, 'an old heartbeat does not revive it')
    assert.equal(table.get('w'), undefined)
    assert.equal(table.heartbeat(hb('w', 2n, { running: 1, freeSlots: 3 }), T0 + 6000), true, 'a late heartbeat does')
    assert.deepEqual(table.get('w')?.labels, { zone: 'q' }, 'with what it advertised')
    assert.equal(table.get('w')?.running, 1)
    // a stale advertisement cannot overwrite the dormant one either
    table.expire(T0 + 11_001)
    assert.equal(table.advertise(ad('w', 0n), T0 + 11_002), 'stale')
    // silent for ten expiry periods: forgotten
    table.expire(T0 + 6000 + 50_001)
    assert.equal(table.heartbeat(hb('w', 3n), T0 + 6000 + 50_002), false)
    assert.equal(table.get('w'), undefined)
  })

  it('lists as workers only entries with slots', () => {
    const table = new CapabilityTable(5000)
    table.advertise(ad('w', 1n), T0)
    table.advertise(ad('boot', 1n, { role: 'bootstrap', slots: 0, capabilities: [], taskTypes: [] }), T0)
    table.advertise(ad('drained', 1n, { slots: 0 }), T0)
    assert.deepEqual(table.workers().map(e => e.peerId), ['w'])
    assert.equal(table.all().length, 3)
    assert.equal(table.remove('w'), true)
    assert.equal(table.remove('w'), false)
    assert.deepEqual(table.workers(), [])
  })

  it('setExpiry changes how long a silent peer stays, and size() counts live entries', () => {
    const table = new CapabilityTable(5000)
    table.advertise(ad('a', 1n), T0)
    table.advertise(ad('b', 1n), T0)
    assert.equal(table.size(), 2)
    table.setExpiry(20_000)
    assert.deepEqual(table.expire(T0 + 10_000), [])
    assert.equal(table.size(), 2)
    table.setExpiry(5000)
    assert.deepEqual(table.expire(T0 + 10_000).sort(), ['a', 'b'])
    assert.equal(table.size(), 0)
  })

  it('extendAll gives every live entry a full expiry period from now, never moving one back', () => {
    // a node that starts following heartbeats switches from the advertisements' long expiry to
    // the heartbeats' short one: without the extension its entries would all expire at the switch
    const table = new CapabilityTable(300_000)
    table.advertise(ad('old', 1n), T0)
    table.advertise(ad('fresh', 1n), T0 + 50_000)
    table.extendAll(T0 + 40_000)
    table.setExpiry(10_000)
    assert.deepEqual(table.expire(T0 + 45_000), [], 'both within the new expiry of the switch')
    assert.deepEqual(table.expire(T0 + 51_000), ['old'], 'extended to the switch, not beyond')
    assert.deepEqual(table.expire(T0 + 59_000), [], 'the fresher entry keeps its own time')
    assert.deepEqual(table.expire(T0 + 61_000), ['fresh'])
  })
})
