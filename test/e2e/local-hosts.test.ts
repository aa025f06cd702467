/**
 * The deployment in network namespaces (what `./test.sh --local` runs): bootstrap and relay on a
 * WAN, a worker behind NAT, all from config/*.yaml with the Deployments' environment and the
 * Service names in /etc/hosts. The worker lists both roles among its peers and answers
 * `task compute hello`; the bootstrap's task reaches the NATed worker.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Testbed, listNamespaces, netnsSupport } from '../hosts/netns.ts'
import { HELLO_DIGEST, LocalNetwork, REPO_DIR, smokeTest } from '../hosts/local-network.ts'
import type { NodeStatus } from '../../src/node-api.ts'

const support = netnsSupport()
const skip = !support.ok
  ? support.reason
  : !existsSync(join(REPO_DIR, 'src/main.ts'))
      ? 'src/main.ts does not exist yet: there is no node to start'
      : false

describe('local hosts: the Kubernetes layout in network namespaces', { skip, timeout: 300_000 }, () => {
  let bed: Testbed | undefined
  let net: LocalNetwork | undefined
  before(async () => {
    bed = await Testbed.create()
    net = await LocalNetwork.start(bed, { workers: 1 })
  })
  after(async () => {
    await net?.stop()
    await bed?.teardown()
    if (bed != null) assert.deepEqual(listNamespaces().filter(ns => ns.startsWith(bed!.prefix)), [])
  })

  it('a NATed worker joins through the bootstrap, sees the relay, and serves tasks from both sides', async () => {
    assert.equal(net!.workers[0]?.host.kind, 'nated')
    const result = await smokeTest(net!)
    assert.equal(result.fromWorker.result, HELLO_DIGEST)
    assert.equal(result.fromBootstrap.result, HELLO_DIGEST)
    // only the worker has the compute capability: the bootstrap's task ran there, behind the NAT
    const known = await net!.peers(net!.bootstrap)
    assert.ok(known.some(p => p.peerId === result.fromBootstrap.worker && p.role === 'worker'),
      `the bootstrap's task ran on ${result.fromBootstrap.worker ?? '?'}, not on a worker it knows`)
  })

  it('the NATed worker holds a reservation on the relay', async () => {
    const worker = net!.workers[0]!
    const reservations = await net!.waitFor('a relay reservation on the NATed worker', 20_000, async () => {
      const status = await net!.api<NodeStatus>(worker, '/api/v1/status')
      return (status?.relayReservations.length ?? 0) > 0 ? status!.relayReservations : undefined
    }, 1000)
    assert.ok(reservations.some(r => r.includes(net!.relay.peerId!)), JSON.stringify(reservations))
  })
})
