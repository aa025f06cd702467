/**
 * Bootstrap entries as operators write them: full multiaddrs with or without /p2p/<id>, DNS
 * multiaddrs such as /dns4/p2p-bootstrap.net-test.svc.cluster.local/tcp/4001, id@host:port, and
 * host:port. Parsing is pure; resolution uses the system resolver (getaddrinfo), so /etc/hosts,
 * Kubernetes cluster DNS and search domains all work.
 */
import { lookup } from 'node:dns/promises'

export interface BootstrapEntry {
  /** the entry as written, for logs */
  text: string
  host: string
  port: number
  /** needs a DNS lookup */
  dns: boolean
  family: 4 | 6 | 0
  peerId?: string
}

export class BootstrapEntryError extends Error {
  readonly code = 'ERR_BOOTSTRAP_ENTRY'
  constructor (readonly entry: string, reason: string) {
    super(`bootstrap peer "${entry}": ${reason}; expected a multiaddr such as /ip4/10.0.0.1/tcp/4001[/p2p/<id>], /dns4/<name>/tcp/4001, <id>@<host>:<port> or <host>:<port>`)
    this.name = 'BootstrapEntryError'
  }
}

const PEER_ID_RE = /^(12D3Koo[1-9A-HJ-NP-Za-km-z]{40,}|Qm[1-9A-HJ-NP-Za-km-z]{44}|bafz[a-z2-7]+)$/

export function parseBootstrapEntry (text: string, defaultPort = 4001): BootstrapEntry {
  const entry = text.trim()
  if (entry.startsWith('/')) {
    const parts = entry.split('/').slice(1)
    const [proto, host, tcp, port, p2p, id, ...rest] = parts
    if (proto == null || host == null || host === '') throw new BootstrapEntryError(text, 'no host')
    if (!['ip4', 'ip6', 'dns4', 'dns6', 'dns', 'dnsaddr'].includes(proto)) throw new BootstrapEntryError(text, `unsupported protocol /${proto}`)
    if (tcp !== 'tcp' || port == null || !/^\d+$/.test(port)) throw new BootstrapEntryError(text, 'no /tcp/<port>')
    if (p2p != null && (p2p !== 'p2p' || id == null || !PEER_ID_RE.test(id) || rest.length > 0)) {
      throw new BootstrapEntryError(text, 'only /p2p/<peer id> may follow /tcp/<port>')
    }
    const family = proto === 'ip4' || proto === 'dns4' ? 4 : proto === 'ip6' || proto === 'dns6' ? 6 : 0
    return { text: entry, host, port: checkPort(text, port), dns: proto.startsWith('dns'), family, peerId: id }
  }
  let rest = entry
  let peerId: string | undefined
  const at = entry.indexOf('@')
  if (at >= 0) {
    peerId = entry.slice(0, at)
    rest = entry.slice(at + 1)
    if (!PEER_ID_RE.test(peerId)) throw new BootstrapEntryError(text, `"${peerId}" is not a peer ID`)
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(rest)
  if (m == null) throw new BootstrapEntryError(text, 'cannot read host and port')
  const host = (m[1] ?? m[2]) as string
  const port = checkPort(text, m[3] ?? String(defaultPort))
  const isV4 = /^\d+\.\d+\.\d+\.\d+$/.test(host)
  const isV6 = m[1] != null
  return { text: entry, host, port, dns: !isV4 && !isV6, family: isV4 ? 4 : isV6 ? 6 : 0, peerId }
}

function checkPort (text: string, port: string): number {
  const n = Number(port)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new BootstrapEntryError(text, `port ${port} is out of range`)
  return n
}

/** Resolves an entry to dialable multiaddr strings (every address a DNS name has). */
export async function resolveBootstrapEntry (entry: BootstrapEntry): Promise<string[]> {
  let ips: Array<{ address: string, family: number }>
  if (entry.dns) {
    ips = await lookup(entry.host, { all: true, ...(entry.family !== 0 ? { family: entry.family } : {}) })
  } else {
    ips = [{ address: entry.host, family: entry.family === 6 ? 6 : 4 }]
  }
  const suffix = entry.peerId != null ? `/p2p/${entry.peerId}` : ''
  return [...new Set(ips.map(ip => `/${ip.family === 6 ? 'ip6' : 'ip4'}/${ip.address}/tcp/${entry.port}${suffix}`))]
}
