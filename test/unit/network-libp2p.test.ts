/**
 * The libp2p composition: TLS is loaded lazily (only when a peer negotiates it), and it still
 * works, against a plain js-libp2p node that offers nothing but TLS, on 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { yamux } from '@chainsafe/libp2p-yamux'
import { RELAY_V2_HOP_CODEC as RELAY_HOP } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { PROTOCOL, tls } from '@libp2p/tls'
import { createLibp2p, type Libp2p } from 'libp2p'
import { LOCAL_CONFIG_DIR } from '../../src/cli/devnet.ts'
import { loadConfigFile } from '../../src/config/index.ts'
import { TLS_PROTOCOL, connectionPingIntervalMs, createP2PLibp2p, type P2PLibp2p } from '../../src/network/libp2p.ts'
import { RELAY_V2_HOP_CODEC } from '../../src/network/relay-watchdog.ts'
import { waitFor } from '../utils/wait.ts'

describe('libp2p composition', () => {
  const stops: Array<() => Promise<void>> = []
  after(async () => { for (const s of stops.reverse()) await s() })

  it('pings connections as often as the node heartbeats, and never more often than libp2p does', () => {
    assert.equal(connectionPingIntervalMs(30_000), 30_000)
    assert.equal(connectionPingIntervalMs(60_000), 60_000)
    assert.equal(connectionPingIntervalMs(1000), 10_000)
  })

  it('names the TLS protocol as @libp2p/tls does, and the relay hop protocol as @libp2p/circuit-relay-v2 does', () => {
    assert.equal(TLS_PROTOCOL, PROTOCOL)
    assert.equal(RELAY_V2_HOP_CODEC, RELAY_HOP)
  })

  it('accepts a peer that speaks only TLS (loaded on first use)', async () => {
    const config = loadConfigFile(join(LOCAL_CONFIG_DIR, 'worker.yaml'), {
      env: {},
      overrides: { 'node.data_dir': '/nonexistent', 'network.enable_dht': false, 'network.enable_relay': false }
    })
    const ours: P2PLibp2p = await createP2PLibp2p({ config, privateKey: await generateKeyPair('Ed25519') })
    await ours.start()
    stops.push(async () => { await ours.stop() })
    const tlsOnly: Libp2p = await createLibp2p({
      transports: [tcp()],
      connectionEncrypters: [tls()],
      streamMuxers: [yamux()]
    })
    stops.push(async () => { await tlsOnly.stop() })
    const conn = await tlsOnly.dial(ours.getMultiaddrs()[0] ?? assert.fail('no address'), { signal: AbortSignal.timeout(20_000) })
    assert.equal(conn.encryption, PROTOCOL)
    // the listener registers its side of the connection a moment after the dialer returns
    const inbound = await waitFor(() => ours.getConnections(tlsOnly.peerId)[0], { timeoutMs: 20_000, what: 'the inbound connection' })
    assert.equal(inbound.encryption, PROTOCOL)
  })
})
