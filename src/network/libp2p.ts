/**
 * The libp2p composition per role (DESIGN.md section 2). This is the only file that knows which
 * js-libp2p modules a node runs; everything above it sees a `P2PLibp2p`.
 *
 * Modules a node may not need are imported only when its config uses them (DHT, relay, AutoNAT,
 * DCUtR, mDNS, pnet), and TLS only when a peer negotiates it: each js-libp2p package costs start-up
 * time and resident memory (issue 7: importing them all took ~1 s and ~110 MiB).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from './tcp.ts'
import type { TLSComponents } from '@libp2p/tls'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import type { ConnectionEncrypter, ConnectionGater, PrivateKey, ComponentLogger } from '@libp2p/interface'
import type { Config } from '../config/types.ts'
import { dhtProtocol, identifyPrefix } from '../protocol/names.ts'
import { withoutShadowedLoopback } from './addresses.ts'
import { GOSSIP_SCORE_THRESHOLDS, GOSSIP_SEEN_TTL_MS, gossipScoreParams } from './gossip-scoring.ts'

export interface P2PServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht?: KadDHT
}

export type P2PLibp2p = Libp2p<P2PServices>

export interface CreateLibp2pInit {
  config: Config
  privateKey: PrivateKey
  /** pnet swarm key bytes, when the network is private */
  swarmKey?: Uint8Array
  /** extra connection gater rules (allowlist) */
  connectionGater?: ConnectionGater
  metrics?: Libp2pOptions['metrics']
  logger?: ComponentLogger
}

/** a connection whose ping takes longer than this (at least) is closed (libp2p's default is 5 s) */
const CONNECTION_PING_MIN_TIMEOUT_MS = 15_000

/** libp2p's connection monitor pings every connection this often: the heartbeat interval, at least 10 s (libp2p's default). */
export function connectionPingIntervalMs (heartbeatIntervalMs: number): number {
  return Math.max(10_000, heartbeatIntervalMs)
}

/** New inbound connections accepted per second from one host (libp2p's default is 5). */
const INBOUND_THRESHOLD = 1000

export function listenAddresses (config: Config): string[] {
  const { node, network } = config
  const out: string[] = []
  if (node.listenTcp) {
    const family = node.listenHost.includes(':') ? 'ip6' : 'ip4'
    out.push(`/${family}/${node.listenHost}/tcp/${node.listenPort}`)
  }
  // Listening on /p2p-circuit makes the relay transport reserve a slot on relays it finds, so a
  // worker behind NAT (or in another cluster) stays reachable at /<relay>/p2p-circuit/p2p/<self>.
  if (node.role === 'worker' && network.enableRelay) out.push('/p2p-circuit')
  return out
}

/** host, host:port or a multiaddr -> a multiaddr string to announce */
export function announceAddress (entry: string, listenPort: number): string {
  if (entry.startsWith('/')) return entry
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(entry)
  const host = m?.[1] ?? entry
  const port = m?.[2] ?? String(listenPort)
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return `/ip4/${host}/tcp/${port}`
  if (host.includes(':')) return `/ip6/${host}/tcp/${port}`
  return `/dns4/${host}/tcp/${port}`
}

/** The task types a worker subscribes to (its task topics): configured capabilities plus handler types. */
function scoredCapabilities (config: Config): string[] {
  return [...new Set([...config.node.capabilities, ...Object.keys(config.tasks.handlers)])]
}

/** Keeps the announced addresses (with or without our /p2p suffix) and relay circuit addresses. */
export function announcedOrCircuit (announce: readonly string[]): (addrs: Multiaddr[]) => Multiaddr[] {
  const wanted = new Set(announce.map(a => multiaddr(a).toString()))
  return (addrs) => addrs.filter(a => {
    const s = a.toString()
    return s.includes('/p2p-circuit') || wanted.has(s) || wanted.has(s.replace(/\/p2p\/[^/]+$/, ''))
  })
}

export async function createP2PLibp2p (init: CreateLibp2pInit): Promise<P2PLibp2p> {
  const { config, privateKey } = init
  const { node, network, relay } = config
  const pv = network.protocolVersion
  const isInfra = node.role === 'bootstrap' || node.role === 'relay'

  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (network.enableMdns) {
    const { mdns } = await import('@libp2p/mdns')
    peerDiscovery.push(mdns({ serviceTag: `${pv}.local` }))
  }

  const services: Record<string, unknown> = {
    identify: identify({ protocolPrefix: identifyPrefix(pv), runOnLimitedConnection: true }),
    // two pingers share this protocol: libp2p's connection monitor (which aborts the connection
    // when its ping fails) and our HealthMonitor. With the default of one outbound (two inbound)
    // ping stream per connection, overlapping pings fail and the monitor drops healthy connections.
    ping: ping({ runOnLimitedConnection: true, maxOutboundStreams: 4, maxInboundStreams: 8 }),
    pubsub: gossipsub({
      // StrictSign: every message carries its author's key and signature; validators check the
      // payload's claimed sender against it.
      globalSignaturePolicy: 'StrictSign',
      allowPublishToZeroTopicPeers: true,
      ignoreDuplicatePublishError: true,
      emitSelf: false,
      floodPublish: !network.meshNetwork,
      runOnLimitedConnection: true,
      // gossip carries who can do what and how busy; the work itself moves on direct streams
      maxInboundDataLength: 1024 * 1024,
      doPX: isInfra,
      // issue 6: score tuned for our topics (P4 graylists senders of invalid messages; see
      // gossip-scoring.ts), and a duplicate cache as long as the freshness window so a still-fresh
      // message replayed is a duplicate, never a second delivery
      scoreParams: gossipScoreParams(pv, node.role === 'worker' ? scoredCapabilities(config) : []),
      scoreThresholds: GOSSIP_SCORE_THRESHOLDS,
      seenTTL: GOSSIP_SEEN_TTL_MS,
      fastMsgIdFn: fastMessageId
    })
  }
  if (network.enableDht) {
    const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
    services.dht = kadDHT({
      protocol: dhtProtocol(pv),
      clientMode: !isInfra,
      // keep private and loopback addresses: clusters and test networks live on them
      peerInfoMapper: passthroughMapper,
      logPrefix: `libp2p:${pv}:dht`,
      datastorePrefix: `/${pv}/dht`,
      metricsPrefix: `${pv.replace(/[^a-z0-9]/g, '_')}_dht`
    })
  }
  const relayModule = network.enableRelay ? await import('@libp2p/circuit-relay-v2') : undefined
  if (node.role === 'relay' && relayModule != null) {
    services.relay = relayModule.circuitRelayServer({
      reservations: {
        maxReservations: relay.maxReservations,
        reservationTtl: relay.reservationTtlMs,
        defaultDataLimit: BigInt(relay.dataLimitBytes),
        defaultDurationLimit: relay.durationLimitMs
      }
    })
    services.autoNAT = (await import('@libp2p/autonat')).autoNAT()
  }
  if (node.role === 'worker') {
    services.autoNAT = (await import('@libp2p/autonat')).autoNAT()
    if (network.enableRelay) services.dcutr = (await import('@libp2p/dcutr')).dcutr()
  }

  const announce = node.announce.map(a => announceAddress(a, node.listenPort))
  const options: Libp2pOptions<P2PServices> = {
    privateKey,
    nodeInfo: { name: 'p2p-network', version: '0.1.0', userAgent: `p2p-network/0.1.0 (${pv}; ${node.role})` },
    addresses: {
      listen: listenAddresses(config),
      // issue 6: libp2p's `announce` replaces every other address, the /p2p-circuit addresses of
      // relay reservations included, so a NATed worker that announces its pod IP had a reservation
      // nobody could learn (status.relayReservations stayed empty). Append the announced addresses
      // instead and filter the rest down to them plus relay circuits.
      ...(announce.length > 0 ? { appendAnnounce: announce } : {}),
      // no loopback address (direct, or a relay's inside a circuit) where a routable one exists
      announceFilter: announce.length > 0 ? (addrs) => withoutShadowedLoopback(announcedOrCircuit(announce)(addrs)) : withoutShadowedLoopback
    },
    transports: [
      tcp({ inboundSocketInactivityTimeout: 0, outboundSocketInactivityTimeout: 0 }),
      ...(relayModule != null ? [relayModule.circuitRelayTransport({ reservationCompletionTimeout: network.connectionTimeoutMs })] : [])
    ],
    // Noise first; TLS 1.3 for operators whose policy demands it. multistream-select negotiates.
    connectionEncrypters: [noise(), lazyTls()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: {
      maxConnections: node.maxConnections,
      dialTimeout: network.connectionTimeoutMs,
      // the 5/s default breaks any host with more than a handful of nodes (devnets, tests, NAT)
      inboundConnectionThreshold: INBOUND_THRESHOLD,
      maxIncomingPendingConnections: Math.max(10, Math.min(node.maxConnections, 256))
    },
    // libp2p pings every connection every 10 s and aborts it when a ping takes longer than an
    // adaptive timeout of at least 5 s. A node starved of CPU for 5 s (many nodes on a few cores,
    // a GC pause under load) then loses every connection at once, and the re-dials, identifies and
    // subscription exchanges that follow starve it further: a 25-node network on 2 loaded cores
    // kept 2 of its 24 connections at the gateway. A hung peer's tasks are caught by their leases
    // in seconds; its connection can wait a little longer.
    // Its pings run on every connection from both ends, each a new stream with a protocol
    // negotiation. Nodes that heartbeat every 30 s need not ping every 10 s: at that rate they were
    // about a third of an idle 16-worker network's CPU (0.22 → 0.15 cores with the heartbeat
    // interval, 0.11 with no monitor at all; docs/benchmarks.md).
    connectionMonitor: { pingInterval: connectionPingIntervalMs(node.heartbeatIntervalMs), pingTimeout: { minTimeout: CONNECTION_PING_MIN_TIMEOUT_MS } },
    ...(init.connectionGater != null ? { connectionGater: init.connectionGater } : {}),
    ...(init.swarmKey != null ? { connectionProtector: (await import('@libp2p/pnet')).preSharedKey({ psk: init.swarmKey }) } : {}),
    ...(init.metrics != null ? { metrics: init.metrics } : {}),
    ...(init.logger != null ? { logger: init.logger } : {}),
    services: services as Libp2pOptions<P2PServices>['services'],
    start: false
  }
  return createLibp2p(options)
}

/** the protocol id of @libp2p/tls (its PROTOCOL; a test checks they agree) */
export const TLS_PROTOCOL = '/tls/1.0.0'

/**
 * TLS 1.3 as a connection encrypter that imports @libp2p/tls on first use. Noise is offered first
 * and every node of ours speaks it, so TLS loads only when a peer insists on it; importing it costs
 * ~50 MiB (x509 and ASN.1 libraries) and a third of a second at every start otherwise.
 */
export function lazyTls (): (components: TLSComponents) => ConnectionEncrypter {
  return (components) => {
    let impl: Promise<ConnectionEncrypter> | undefined
    const load = async (): Promise<ConnectionEncrypter> => {
      impl ??= import('@libp2p/tls').then(m => m.tls()(components))
      return impl
    }
    return {
      protocol: TLS_PROTOCOL,
      secureInbound: async (connection, options) => (await load()).secureInbound(connection, options),
      secureOutbound: async (connection, options) => (await load()).secureOutbound(connection, options)
    }
  }
}

/**
 * GossipSub's fast message ID: without one it verifies the signature of every copy the mesh
 * delivers before it notices the duplicate (each message arrives from up to D peers), which was
 * most of a worker's gossip CPU. The ID is only cached after a copy passed signature checks, so a
 * forged copy cannot shadow the real message; under StrictSign (author, seqno) names a message.
 */
export function fastMessageId (msg: { topic: string, from?: Uint8Array, seqno?: Uint8Array }): string {
  if (msg.from == null || msg.seqno == null) return ''
  return `${msg.topic}/${Buffer.from(msg.from).toString('base64')}/${Buffer.from(msg.seqno).toString('base64')}`
}
