import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { isLoopbackAddr, withoutShadowedLoopback } from '../../src/network/addresses.ts'

const R = '12D3KooWEsJ9515FUxdMB9aNCurSMS2zwyd4nRSactdpXsB4FYYz'
const R2 = '12D3KooWLCeEfmTCvLqhva5YzhG5bBh3EVQ84PhfvEopK3G3RwCi'
const W = '12D3KooWJKBfKK6wo4bVEiXxei8riY6x94tQKEZq41cGkvAmmjYg'
const circuit = (relayAddr: string, relay = R): string => `${relayAddr}/p2p/${relay}/p2p-circuit/p2p/${W}`

void describe('withoutShadowedLoopback', () => {
  const cases: Array<{ name: string, in: string[], out: string[] }> = [
    {
      name: 'a relay on 0.0.0.0: drops its loopback address',
      in: [`/ip4/127.0.0.1/tcp/4001/p2p/${R}`, `/ip4/10.0.0.5/tcp/4001/p2p/${R}`],
      out: [`/ip4/10.0.0.5/tcp/4001/p2p/${R}`]
    },
    {
      name: 'a NATed worker: drops the circuit through the relay\'s loopback address',
      in: [circuit('/ip4/10.0.0.5/tcp/4001'), circuit('/ip4/127.0.0.1/tcp/4001')],
      out: [circuit('/ip4/10.0.0.5/tcp/4001')]
    },
    {
      name: 'a circuit through loopback is kept when that relay has no other address',
      in: [circuit('/ip4/10.0.0.5/tcp/4001'), circuit('/ip4/127.0.0.1/tcp/4002', R2)],
      out: [circuit('/ip4/10.0.0.5/tcp/4001'), circuit('/ip4/127.0.0.1/tcp/4002', R2)]
    },
    {
      name: 'direct and circuit addresses are judged apart',
      in: [`/ip4/127.0.0.1/tcp/4003/p2p/${W}`, circuit('/ip4/10.0.0.5/tcp/4001')],
      out: [`/ip4/127.0.0.1/tcp/4003/p2p/${W}`, circuit('/ip4/10.0.0.5/tcp/4001')]
    },
    {
      name: 'a devnet on 127.0.0.1 keeps everything',
      in: [`/ip4/127.0.0.1/tcp/4003/p2p/${W}`, circuit('/ip4/127.0.0.1/tcp/4001')],
      out: [`/ip4/127.0.0.1/tcp/4003/p2p/${W}`, circuit('/ip4/127.0.0.1/tcp/4001')]
    },
    {
      name: 'IPv6 loopback, and a DNS name counts as routable',
      in: [`/ip6/::1/tcp/4001/p2p/${R}`, `/dns4/relay.example/tcp/4001/p2p/${R}`, `/ip4/127.3.0.1/tcp/4001/p2p/${R}`],
      out: [`/dns4/relay.example/tcp/4001/p2p/${R}`]
    },
    { name: 'nothing', in: [], out: [] }
  ]
  for (const c of cases) {
    void it(c.name, () => {
      assert.deepEqual(withoutShadowedLoopback(c.in.map(a => multiaddr(a))).map(String), c.out)
    })
  }

  void it('isLoopbackAddr looks at the first component only', () => {
    assert.equal(isLoopbackAddr(multiaddr('/ip4/127.0.0.1/tcp/1')), true)
    assert.equal(isLoopbackAddr(multiaddr('/ip6/::1/tcp/1')), true)
    assert.equal(isLoopbackAddr(multiaddr('/ip4/10.0.0.1/tcp/1')), false)
    assert.equal(isLoopbackAddr(multiaddr(`/ip4/10.0.0.1/tcp/1/p2p/${R}/p2p-circuit`)), false)
    assert.equal(isLoopbackAddr(multiaddr('/dns4/localhost/tcp/1')), false)
  })
})
