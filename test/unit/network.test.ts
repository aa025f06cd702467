import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BootstrapEntryError, parseBootstrapEntry, resolveBootstrapEntry } from '../../src/network/bootstrap-list.ts'
import { isHealthy, newHealthRecord, recordFailure, recordSuccess, shouldPrune } from '../../src/network/peer-health.ts'
import { announceAddress } from '../../src/network/libp2p.ts'
import { parseTopic, tasksTopic } from '../../src/protocol/names.ts'

const ID = '12D3KooWNz7hDDXVN9PyJBnRmduhdzwFLinqr5b4WDtsTW28kQcQ'

describe('bootstrap entries', () => {
  const ok: Array<[string, Partial<ReturnType<typeof parseBootstrapEntry>>]> = [
    [`/ip4/10.0.0.1/tcp/4001/p2p/${ID}`, { host: '10.0.0.1', port: 4001, dns: false, peerId: ID }],
    ['/ip4/10.0.0.1/tcp/4001', { host: '10.0.0.1', port: 4001, peerId: undefined }],
    ['/dns4/p2p-bootstrap.net-test.svc.cluster.local/tcp/4001', { host: 'p2p-bootstrap.net-test.svc.cluster.local', dns: true, family: 4 }],
    [`${ID}@bootstrap.local:4002`, { host: 'bootstrap.local', port: 4002, peerId: ID, dns: true }],
    ['127.0.0.1:5000', { host: '127.0.0.1', port: 5000, dns: false }],
    ['[::1]:5000', { host: '::1', port: 5000, family: 6 }]
  ]
  for (const [text, want] of ok) {
    it(`parses ${text}`, () => {
      const e = parseBootstrapEntry(text)
      for (const [k, v] of Object.entries(want)) assert.deepEqual(e[k as keyof typeof e], v, k)
    })
  }
  for (const text of ['/udp/1', '/ip4/1.2.3.4/udp/4001', 'notanid@host:1', 'host:99999', `/ip4/1.2.3.4/tcp/1/p2p/${ID}/extra`]) {
    it(`refuses ${text}`, () => { assert.throws(() => parseBootstrapEntry(text), BootstrapEntryError) })
  }
  it('resolves names through the system resolver (so /etc/hosts works)', async () => {
    assert.deepEqual(await resolveBootstrapEntry(parseBootstrapEntry(`${ID}@localhost:4001`)), [`/ip4/127.0.0.1/tcp/4001/p2p/${ID}`])
  })
  it('announce entries become multiaddrs', () => {
    assert.equal(announceAddress('10.1.2.3', 4001), '/ip4/10.1.2.3/tcp/4001')
    assert.equal(announceAddress('10.1.2.3:5', 4001), '/ip4/10.1.2.3/tcp/5')
    assert.equal(announceAddress('node.example', 4001), '/dns4/node.example/tcp/4001')
    assert.equal(announceAddress('/ip4/1.1.1.1/tcp/1', 4001), '/ip4/1.1.1.1/tcp/1')
  })
})

describe('peer health', () => {
  const now = 10_000_000
  it('a peer that answered recently with few attempts is healthy', () => {
    const r = newHealthRecord(now)
    recordFailure(r)
    recordSuccess(r, 3, now)
    assert.equal(isHealthy(r, now), true)
  })
  it('a silent peer is unhealthy after 5 minutes and pruned after an hour', () => {
    const r = newHealthRecord(now)
    recordSuccess(r, 3, now)
    assert.equal(isHealthy(r, now + 5 * 60_000 + 1), false)
    assert.equal(shouldPrune(r, now + 30 * 60_000), false)
    assert.equal(shouldPrune(r, now + 60 * 60_000 + 1), true)
  })
  it('a success rate at or under 50% over 5+ attempts is unhealthy', () => {
    const r = newHealthRecord(now)
    for (let i = 0; i < 3; i++) recordFailure(r)
    for (let i = 0; i < 3; i++) recordSuccess(r, 1, now)
    assert.equal(isHealthy(r, now), false)
    recordSuccess(r, 1, now)
    assert.equal(isHealthy(r, now), true)
  })
})

describe('topic names', () => {
  it('round-trips and rejects other shapes', () => {
    assert.deepEqual(parseTopic(tasksTopic('pv', 'compute')), { protocolVersion: 'pv', kind: 'tasks', capability: 'compute' })
    assert.deepEqual(parseTopic('pv/heartbeat/1'), { protocolVersion: 'pv', kind: 'heartbeat' })
    assert.equal(parseTopic('pv/unknown/1'), undefined)
    assert.equal(parseTopic('pv/heartbeat/2'), undefined)
  })
})
