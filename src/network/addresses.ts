/**
 * Which of a node's own addresses are worth announcing (identify, advertisements, the addresses a
 * relay hands out in reservations). Pure, for the libp2p announce filter.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

/** the address starts with a loopback IP (127.0.0.0/8, ::1) */
export function isLoopbackAddr (ma: Multiaddr): boolean {
  const first = ma.getComponents()[0]
  if (first?.name === 'ip4') return first.value?.startsWith('127.') === true
  if (first?.name === 'ip6') return first.value === '::1' || first.value === '0:0:0:0:0:0:0:1'
  return false
}

/** 'direct', or the relay's peer ID for a `/…/p2p/<relay>/p2p-circuit/…` address */
function groupOf (ma: Multiaddr): string {
  const s = ma.toString()
  const i = s.indexOf('/p2p-circuit')
  if (i < 0) return 'direct'
  return /\/p2p\/([^/]+)$/.exec(s.slice(0, i))?.[1] ?? 'circuit'
}

/**
 * Drops loopback addresses a remote peer cannot use, where the node has a usable alternative: its
 * loopback listen address when it has a non-loopback one, and a relay circuit through the relay's
 * loopback address when there is a circuit through another address of the same relay. A relay
 * listening on 0.0.0.0 announced 127.0.0.1 next to its real address and put both in every
 * reservation, so NATed workers advertised `/ip4/127.0.0.1/…/p2p-circuit/p2p/<self>`: a remote
 * peer dialling it reaches whatever listens on its own loopback (in Kubernetes, itself on 4001)
 * and fails the handshake. When every address is loopback (a devnet on 127.0.0.1) all are kept.
 */
export function withoutShadowedLoopback (addrs: Multiaddr[]): Multiaddr[] {
  const routable = new Set<string>()
  for (const a of addrs) if (!isLoopbackAddr(a)) routable.add(groupOf(a))
  return addrs.filter(a => !isLoopbackAddr(a) || !routable.has(groupOf(a)))
}
