/**
 * Hosts in Linux network namespaces, for tests that need a real network between nodes: a WAN
 * segment (a bridge) with public hosts on it, and private LANs behind NAT routers whose hosts can
 * reach the WAN but cannot be dialled from it.
 *
 * ```
 *   <p>wan: br0 (switch, no address)            10.251.0.0/24
 *     ├─ <p>bootstrap  eth0 10.251.0.2
 *     ├─ <p>relay      eth0 10.251.0.3
 *     └─ <p>r-home     eth0 10.251.0.4   MASQUERADE out of eth0, FORWARD in from eth0 only if ESTABLISHED
 *          lan0 (bridge) 10.252.1.1/24
 *            └─ <p>worker  eth0 10.252.1.2   default via 10.252.1.1
 * ```
 * A router made with `{ nat: 'hole-punchable' }` (for DCUtR) also has an IPv6 face on the WAN and
 * an IPv6 LAN; see {@link NatBehaviour} for what it lets in, and {@link WAN6_PREFIX} for the
 * addresses.
 *
 * Every namespace, link and address exists only inside namespaces this module creates: nothing is
 * added to the host's own namespace, no namespace has a route to anything outside the testbed, and
 * deleting the namespaces removes every link with them. Names carry a per-run prefix
 * (`p2pt-<pid>-<n>-`), so parallel runs do not collide and a later run can sweep what a killed
 * run left behind (namespaces whose pid is gone).
 *
 * Requires root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2 + iptables; see {@link netnsSupport}.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** every namespace this module creates starts with this */
export const NAMESPACE_PREFIX = 'p2pt-'
/** the WAN segment; private to the testbed's namespaces */
export const WAN_SUBNET = '10.251.0'
/** LAN n is 10.252.<n>.0/24 */
export const LAN_SUBNET_BASE = '10.252'
/**
 * The WAN's IPv6 segment, `3fff:0:0:1::/64`, for hosts that need an address libp2p treats as
 * public (DCUtR and the address manager ignore private ones). 3fff::/20 is the IPv6 documentation
 * prefix (RFC 9637, 2024): never routed on the internet, and absent from the private-address list
 * of @libp2p/utils 7 (`isPrivate`), which does list every IPv4 documentation and benchmarking range
 * (192.0.2/24, 198.51.100/24, 203.0.113/24, 198.18/15) and 2001:db8::/32, so no IPv4 range would do
 * without taking real, allocated address space. Like every other address here it exists only
 * inside the testbed's namespaces, which have no link and no route to anything outside.
 */
export const WAN6_PREFIX = '3fff:0:0:1'
/** the IPv6 LAN of hole-punchable router n is fd00:0:0:<n>::/64 (unique local, private to libp2p) */
export const LAN6_PREFIX_BASE = 'fd00:0:0'
/** the port a hole-punchable router maps to its first LAN host (the nodes' listen port) */
export const MAPPED_PORT = 4001
/** how long a hole-punchable router remembers an address its LAN sent to (s) */
export const HOLE_PUNCH_WINDOW_S = 60

/**
 * What a NAT router lets in.
 *
 * - `strict` (the default): IPv4 MASQUERADE and only replies in (conntrack ESTABLISHED/RELATED).
 *   Nothing on the LAN can be dialled; no hole can be punched (for TCP, see below).
 * - `hole-punchable`: the same on IPv4, plus an IPv6 face on the WAN ({@link WAN6_PREFIX}) that
 *   behaves as an address-restricted cone NAT (RFC 4787: endpoint-independent mapping,
 *   address-dependent filtering) for the listen port: the router maps
 *   `[<its WAN6 address>]:4001` to its first LAN host's port 4001, and lets a new inbound
 *   connection through that mapping only from an address that host sent a packet to in the last
 *   {@link HOLE_PUNCH_WINDOW_S} s (xt_recent). Outbound IPv6 is MASQUERADEd. So a peer the host
 *   never contacted cannot dial it, but when both sides dial each other at the same time (what
 *   DCUtR coordinates over the relay) each one's outbound SYN opens its own router for the other's.
 *
 * Why a static mapping for the listen port: a port-preserving Linux MASQUERADE maps each outbound
 * connection's *source* port. go-libp2p dials from its listen port (SO_REUSEPORT), so its mapping
 * is the listen port and a plain MASQUERADE NAT is hole-punchable for it. Node cannot do that
 * (`net.connect({ localPort })` on a port a server listens on fails with EADDRINUSE, even with
 * `reusePort` on the server), so js-libp2p's TCP dials leave from ephemeral ports, and the address
 * a NATed js-libp2p node is observed at is the mapping of an ephemeral port that no listener sits
 * behind. This router keeps, for port 4001, the mapping a go-libp2p node would get.
 */
export type NatBehaviour = 'strict' | 'hole-punchable'

const COMMAND_TIMEOUT_MS = 15_000
const STOP_GRACE_MS = 3_000

export interface CommandResult { stdout: string, stderr: string, code: number }

export interface Host {
  /** short name, e.g. "bootstrap" */
  readonly name: string
  /** the network namespace it lives in */
  readonly ns: string
  /** its address: on the WAN for public hosts and routers, on its LAN for NATed hosts */
  readonly address: string
  readonly kind: 'wan' | 'router' | 'nated'
  /** its IPv6 address: on the WAN ({@link WAN6_PREFIX}) or on a hole-punchable router's LAN; only when asked for */
  readonly address6?: string
}

export interface Router extends Host {
  readonly kind: 'router'
  /** the router's address on its LAN, the NATed hosts' gateway */
  readonly lanAddress: string
  /** e.g. 10.252.1.0/24 */
  readonly lanSubnet: string
  readonly nat: NatBehaviour
  /** hole-punchable routers: the LAN's IPv6 subnet, e.g. fd00:0:0:1::/64 */
  readonly lanSubnet6?: string
}

export interface NatRouterOptions {
  /** default 'strict' */
  nat?: NatBehaviour
}

export interface WanHostOptions {
  /** also give it an IPv6 address in {@link WAN6_PREFIX}; default false */
  ipv6?: boolean
}

export interface TestbedInit {
  /** log lines (commands run, teardown); default: none */
  log?: (line: string) => void
}

export interface SpawnInNsOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  stdio?: SpawnOptions['stdio']
}

/** Whether this process can build a testbed; `reason` says why not (for t.skip). */
export function netnsSupport (): { ok: true } | { ok: false, reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces need Linux' }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root (run as root, or in CI which runs as root)' }
  for (const tool of ['ip', 'iptables']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS })
    } catch {
      return { ok: false, reason: `${tool} is not installed (apt-get install -y iproute2 iptables)` }
    }
  }
  return { ok: true }
}

/**
 * Whether hole-punchable routers can be built here (on top of {@link netnsSupport}): ip6tables
 * with the nat table, the `recent` match (xt_recent) and `ss -K`. Tries them in a throw-away
 * namespace, which it deletes again.
 */
export function holePunchSupport (): { ok: true } | { ok: false, reason: string } {
  const base = netnsSupport()
  if (!base.ok) return base
  const ns = `${NAMESPACE_PREFIX}${process.pid}-probe-${runCounter++}`
  const step = (what: string, file: string, args: string[]): string | undefined => {
    try {
      execFileSync(file, args, { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS })
      return undefined
    } catch {
      return `${what} failed (${file} ${args.join(' ')})`
    }
  }
  try {
    const failed = step('creating a namespace', 'ip', ['netns', 'add', ns]) ??
      step('ip6tables NAT with the recent match (xt_recent)', 'ip', ['netns', 'exec', ns, 'ip6tables', '-w', '-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp',
        '-m', 'recent', '--name', 'probe', '--rcheck', '-j', 'DNAT', '--to-destination', `[${LAN6_PREFIX_BASE}::2]:${MAPPED_PORT}`]) ??
      step('ss (iproute2)', 'ip', ['netns', 'exec', ns, 'ss', '-K', 'dst', '[::1]'])
    return failed == null ? { ok: true } : { ok: false, reason: `hole-punchable NAT not available: ${failed}` }
  } finally {
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS }) } catch { /* never created */ }
  }
}

/** Run a command in the host namespace; rejects with its stderr when it fails. */
export async function run (file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv, timeoutMs?: number, cwd?: string } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024
    })
    return stdout
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string, killed?: boolean }
    const detail = e.killed === true ? `timed out after ${options.timeoutMs ?? COMMAND_TIMEOUT_MS} ms` : (e.stderr?.trim() ?? e.message)
    throw new Error(`${file} ${args.join(' ')}: ${detail}`, { cause: err })
  }
}

/** `ip netns list` names (the first word of each line). */
export function listNamespaces (): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS })
  return out.split('\n').map(line => line.split(' ')[0] ?? '').filter(name => name !== '')
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Kill every process inside a namespace (all started by a testbed) and delete it, synchronously. */
function destroyNamespaceSync (ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS })
    for (const pid of pids.split('\n').map(Number).filter(n => Number.isInteger(n) && n > 0)) {
      try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    }
  } catch { /* namespace already gone */ }
  try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS }) } catch { /* already gone */ }
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true })
}

/**
 * Remove namespaces (and their /etc/netns files) that earlier runs left behind: names
 * `p2pt-<pid>-...` whose pid no longer runs. Namespaces of live runs are left alone.
 */
export function sweepStaleNamespaces (log?: (line: string) => void): string[] {
  const removed: string[] = []
  const re = new RegExp(`^${NAMESPACE_PREFIX}(\\d+)-`)
  const candidates = new Set(listNamespaces())
  // a run killed between writing /etc/netns/<ns> and `ip netns add` leaves only the directory
  if (existsSync('/etc/netns')) {
    for (const entry of readdirSync('/etc/netns')) candidates.add(entry)
  }
  for (const ns of candidates) {
    const match = re.exec(ns)
    if (match == null) continue
    const pid = Number(match[1])
    if (pid === process.pid || pidAlive(pid)) continue
    log?.(`sweeping stale namespace ${ns} (pid ${pid} is gone)`)
    destroyNamespaceSync(ns)
    removed.push(ns)
  }
  return removed
}

const live = new Set<Testbed>()
let exitHooksInstalled = false

function installExitHooks (): void {
  if (exitHooksInstalled) return
  exitHooksInstalled = true
  // 'exit' handlers must be synchronous: destroyNamespaceSync is.
  process.on('exit', () => {
    for (const bed of live) bed.destroySync()
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const bed of live) bed.destroySync()
      process.kill(process.pid, signal)
    })
  }
}

let runCounter = 0

/**
 * A set of hosts in network namespaces. Create with {@link Testbed.create}, tear down with
 * {@link Testbed.teardown} in a `finally` (or `t.after`); an exit handler and the next run's sweep
 * catch what a crash leaves.
 */
export class Testbed {
  readonly prefix: string
  readonly wanNs: string
  private readonly log: (line: string) => void
  private readonly namespaces: string[] = []
  private readonly children = new Set<ChildProcess>()
  private readonly hostsByName = new Map<string, Host>()
  private wanPorts = 0
  private nextWanHost = 2
  private routers = 0
  private readonly lanHosts = new Map<string, number>()
  private tornDown = false

  private constructor (init: TestbedInit) {
    this.prefix = `${NAMESPACE_PREFIX}${process.pid}-${runCounter++}-`
    this.wanNs = `${this.prefix}wan`
    this.log = init.log ?? (() => {})
  }

  /** Sweep stale namespaces, then create the WAN switch. */
  static async create (init: TestbedInit = {}): Promise<Testbed> {
    const support = netnsSupport()
    if (!support.ok) throw new Error(support.reason)
    sweepStaleNamespaces(init.log)
    const bed = new Testbed(init)
    live.add(bed)
    installExitHooks()
    try {
      await bed.addNamespace(bed.wanNs)
      // no multicast snooping: without an MLD querier it can swallow IPv6 neighbour discovery
      await bed.ip(bed.wanNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0')
      await bed.ip(bed.wanNs, 'link', 'set', 'br0', 'up')
    } catch (err) {
      await bed.teardown()
      throw err
    }
    return bed
  }

  get hosts (): Host[] { return [...this.hostsByName.values()] }

  host (name: string): Host {
    const host = this.hostsByName.get(name)
    if (host == null) throw new Error(`no host named ${name} in this testbed`)
    return host
  }

  /** A host with an address on the WAN segment (dialable by every other host). */
  async addWanHost (name: string, options: WanHostOptions = {}): Promise<Host> {
    const ns = this.nsName(name)
    const { address, address6 } = await this.attachToWan(ns, options.ipv6 === true)
    const host: Host = { name, ns, address, kind: 'wan', ...(address6 != null ? { address6 } : {}) }
    this.hostsByName.set(name, host)
    return host
  }

  /**
   * A NAT router: a WAN address, a LAN bridge, MASQUERADE for the LAN, and a FORWARD policy that
   * lets only replies in. No port forwarding: nothing on its LAN can be dialled from the WAN.
   * `{ nat: 'hole-punchable' }` adds the IPv6 side described at {@link NatBehaviour}.
   */
  async addNatRouter (name: string, options: NatRouterOptions = {}): Promise<Router> {
    const nat = options.nat ?? 'strict'
    const ns = this.nsName(name)
    const { address, address6 } = await this.attachToWan(ns, nat === 'hole-punchable')
    const lan = ++this.routers
    if (lan > 250) throw new Error('at most 250 routers per testbed')
    const lanSubnet = `${LAN_SUBNET_BASE}.${lan}.0/24`
    const lanAddress = `${LAN_SUBNET_BASE}.${lan}.1`
    await this.ip(ns, 'link', 'add', 'lan0', 'type', 'bridge', 'mcast_snooping', '0')
    await this.ip(ns, 'addr', 'add', `${lanAddress}/24`, 'dev', 'lan0')
    await this.ip(ns, 'link', 'set', 'lan0', 'up')
    await this.execChecked(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'])
    const ipt = async (...args: string[]): Promise<void> => { await this.execChecked(ns, 'iptables', ['-w', ...args]) }
    await ipt('-t', 'nat', '-A', 'POSTROUTING', '-s', lanSubnet, '-o', 'eth0', '-j', 'MASQUERADE')
    await ipt('-P', 'FORWARD', 'DROP')
    await ipt('-A', 'FORWARD', '-i', 'lan0', '-o', 'eth0', '-j', 'ACCEPT')
    await ipt('-A', 'FORWARD', '-i', 'eth0', '-o', 'lan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
    // The router itself offers nothing to the WAN either.
    await ipt('-A', 'INPUT', '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
    await ipt('-A', 'INPUT', '-i', 'eth0', '-j', 'DROP')
    let lanSubnet6: string | undefined
    if (nat === 'hole-punchable') {
      lanSubnet6 = `${LAN6_PREFIX_BASE}:${lan.toString(16)}::/64`
      await this.ip(ns, '-6', 'addr', 'add', `${LAN6_PREFIX_BASE}:${lan.toString(16)}::1/64`, 'dev', 'lan0', 'nodad')
      await this.execChecked(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1'])
      const ip6t = async (...args: string[]): Promise<void> => { await this.execChecked(ns, 'ip6tables', ['-w', ...args]) }
      await ip6t('-t', 'nat', '-A', 'POSTROUTING', '-s', lanSubnet6, '-o', 'eth0', '-j', 'MASQUERADE')
      await ip6t('-P', 'FORWARD', 'DROP')
      // remember every address the LAN sends to (the filter of an address-restricted cone)
      await ip6t('-A', 'FORWARD', '-i', 'lan0', '-o', 'eth0', '-m', 'recent', '--name', 'sent', '--rdest', '--set', '-j', 'ACCEPT')
      await ip6t('-A', 'FORWARD', '-i', 'eth0', '-o', 'lan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      // new inbound connections only through the mapping (the DNAT added with the first LAN host)
      await ip6t('-A', 'FORWARD', '-i', 'eth0', '-o', 'lan0', '-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'ACCEPT')
      await ip6t('-A', 'INPUT', '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      // neighbour discovery
      await ip6t('-A', 'INPUT', '-i', 'eth0', '-p', 'ipv6-icmp', '-j', 'ACCEPT')
      await ip6t('-A', 'INPUT', '-i', 'eth0', '-j', 'DROP')
    }
    const router: Router = { name, ns, address, kind: 'router', lanAddress, lanSubnet, nat, ...(address6 != null && lanSubnet6 != null ? { address6, lanSubnet6 } : {}) }
    this.hostsByName.set(name, router)
    this.lanHosts.set(ns, 2)
    return router
  }

  /** A host on a router's LAN: reaches the WAN through the router's NAT, cannot be dialled from it. */
  async addNatedHost (name: string, router: Router): Promise<Host> {
    const ns = this.nsName(name)
    await this.addNamespace(ns)
    const n = this.lanHosts.get(router.ns)
    if (n == null) throw new Error(`${router.name} is not a router of this testbed`)
    if (n > 254) throw new Error(`the LAN of ${router.name} is full`)
    this.lanHosts.set(router.ns, n + 1)
    const address = router.lanAddress.replace(/\.1$/, `.${n}`)
    const port = `h${n}`
    await this.ip(router.ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    await this.ip(router.ns, 'link', 'set', port, 'master', 'lan0')
    await this.ip(router.ns, 'link', 'set', port, 'up')
    await this.ip(ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
    await this.ip(ns, 'link', 'set', 'eth0', 'up')
    await this.ip(ns, 'route', 'add', 'default', 'via', router.lanAddress)
    let address6: string | undefined
    if (router.nat === 'hole-punchable' && router.address6 != null) {
      const prefix = router.lanSubnet6!.replace(/::\/64$/, '')
      address6 = `${prefix}::${n.toString(16)}`
      await this.ip(ns, '-6', 'addr', 'add', `${address6}/64`, 'dev', 'eth0', 'nodad')
      await this.ip(ns, '-6', 'route', 'add', 'default', 'via', `${prefix}::1`)
      if (n === 2) {
        // the router's one mapping: its WAN6 port 4001 -> this host's port 4001, only from
        // addresses this host sent to within the window (see NatBehaviour)
        await this.execChecked(router.ns, 'ip6tables', ['-w', '-t', 'nat', '-A', 'PREROUTING', '-i', 'eth0', '-d', router.address6,
          '-p', 'tcp', '--dport', String(MAPPED_PORT), '-m', 'recent', '--name', 'sent', '--rsource', '--rcheck', '--seconds', String(HOLE_PUNCH_WINDOW_S),
          '-j', 'DNAT', '--to-destination', `[${address6}]:${MAPPED_PORT}`])
      }
    }
    const host: Host = { name, ns, address, kind: 'nated', ...(address6 != null ? { address6 } : {}) }
    this.hostsByName.set(name, host)
    return host
  }

  /**
   * Write /etc/hosts (and a resolv.conf pointing at nothing) for every host: `ip netns exec`
   * bind-mounts /etc/netns/<ns>/* over /etc/*, so names resolve the same in every namespace and
   * no DNS query can leave the testbed.
   */
  writeHostsFiles (names: Record<string, string | string[]>): void {
    const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback']
    for (const [name, addresses] of Object.entries(names)) {
      for (const address of Array.isArray(addresses) ? addresses : [addresses]) lines.push(`${address} ${name}`)
    }
    for (const host of this.hostsByName.values()) {
      const dir = `/etc/netns/${host.ns}`
      mkdirSync(dir, { recursive: true })
      writeFileSync(`${dir}/hosts`, `${lines.join('\n')}\n`)
      writeFileSync(`${dir}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n')
    }
  }

  /** Run a command inside a host's namespace; never rejects for a non-zero exit (see `code`). */
  async exec (host: Host | string, file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv, timeoutMs?: number, cwd?: string, input?: string } = {}): Promise<CommandResult> {
    const ns = typeof host === 'string' ? host : host.ns
    return await new Promise<CommandResult>((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', ns, file, ...args], {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024
      }, (err, stdout, stderr) => {
        if (err == null) { resolve({ stdout, stderr, code: 0 }); return }
        const e = err as NodeJS.ErrnoException & { code?: number | string, killed?: boolean }
        if (e.killed === true) { resolve({ stdout, stderr: `${stderr}\n(killed after ${options.timeoutMs ?? COMMAND_TIMEOUT_MS} ms)`, code: 124 }); return }
        if (typeof e.code === 'number') { resolve({ stdout, stderr, code: e.code }); return }
        reject(e)
      })
      if (options.input != null) child.stdin?.end(options.input)
    })
  }

  /** Start a long-running process inside a host's namespace; {@link teardown} stops it. */
  spawn (host: Host | string, file: string, args: readonly string[], options: SpawnInNsOptions = {}): ChildProcess {
    if (this.tornDown) throw new Error('testbed is torn down')
    const ns = typeof host === 'string' ? host : host.ns
    // `ip netns exec` execs the command in place, so child.pid is the command's pid.
    const child = spawn('ip', ['netns', 'exec', ns, file, ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe']
    })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  /** Stop a spawned process: SIGTERM, then SIGKILL after `graceMs`. Resolves with its exit code. */
  async stop (child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<number | null> {
    if (child.exitCode != null || child.signalCode != null) return child.exitCode
    const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * The addresses a hole-punchable router's LAN sent to since its list was last emptied (the
   * xt_recent list; the mapping lets in those seen within {@link HOLE_PUNCH_WINDOW_S} s).
   */
  async holePunchedFor (router: Router): Promise<string[]> {
    if (router.nat !== 'hole-punchable') return []
    const result = await this.exec(router, 'cat', ['/proc/net/xt_recent/sent'])
    if (result.code !== 0) throw new Error(`[${router.ns}] cat /proc/net/xt_recent/sent: ${result.stderr.trim()}`)
    return result.stdout.split('\n').map(line => /^src=(\S+)/.exec(line)?.[1]).filter((a): a is string => a != null)
  }

  /** Empty a hole-punchable router's list of addresses its LAN sent to (as if every mapping had expired). */
  async forgetHolePunches (router: Router): Promise<void> {
    if (router.nat !== 'hole-punchable') return
    await this.execChecked(router.ns, 'sh', ['-c', 'echo / > /proc/net/xt_recent/sent'])
  }

  /** Stop every process, delete every namespace and /etc/netns entry this testbed made. Idempotent. */
  async teardown (): Promise<void> {
    if (this.tornDown) return
    this.tornDown = true
    await Promise.all([...this.children].map(async child => await this.stop(child)))
    for (const ns of [...this.namespaces].reverse()) {
      this.log(`deleting namespace ${ns}`)
      destroyNamespaceSync(ns)
    }
    this.namespaces.length = 0
    live.delete(this)
  }

  /** The synchronous teardown used by exit handlers: SIGKILL everything, delete everything. */
  destroySync (): void {
    this.tornDown = true
    for (const child of this.children) {
      try { child.kill('SIGKILL') } catch { /* gone */ }
    }
    for (const ns of [...this.namespaces].reverse()) destroyNamespaceSync(ns)
    this.namespaces.length = 0
    live.delete(this)
  }

  /** The namespaces this testbed currently owns. */
  get ownNamespaces (): readonly string[] { return this.namespaces }

  private nsName (name: string): string {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) throw new Error(`host name ${JSON.stringify(name)}: lowercase letters, digits and "-"`)
    if (this.hostsByName.has(name)) throw new Error(`host ${name} exists already`)
    return `${this.prefix}${name}`
  }

  private async addNamespace (ns: string): Promise<void> {
    if (this.tornDown) throw new Error('testbed is torn down')
    this.log(`ip netns add ${ns}`)
    await run('ip', ['netns', 'add', ns])
    this.namespaces.push(ns)
    await this.ip(ns, 'link', 'set', 'lo', 'up')
  }

  /** Create `ns`, connect its eth0 to the WAN switch, give it the next WAN address (and IPv6 address). */
  private async attachToWan (ns: string, ipv6 = false): Promise<{ address: string, address6?: string }> {
    await this.addNamespace(ns)
    if (this.nextWanHost > 254) throw new Error('the WAN segment is full')
    const n = this.nextWanHost++
    const address = `${WAN_SUBNET}.${n}`
    const port = `p${this.wanPorts++}`
    await this.ip(this.wanNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
    await this.ip(this.wanNs, 'link', 'set', port, 'master', 'br0')
    await this.ip(this.wanNs, 'link', 'set', port, 'up')
    await this.ip(ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
    let address6: string | undefined
    if (ipv6) {
      address6 = `${WAN6_PREFIX}::${n.toString(16)}`
      // nodad: usable at once (duplicate address detection would hold it back for a second or two)
      await this.ip(ns, '-6', 'addr', 'add', `${address6}/64`, 'dev', 'eth0', 'nodad')
    }
    await this.ip(ns, 'link', 'set', 'eth0', 'up')
    return address6 != null ? { address, address6 } : { address }
  }

  private async ip (ns: string, ...args: string[]): Promise<void> {
    this.log(`ip -n ${ns} ${args.join(' ')}`)
    await run('ip', ['-n', ns, ...args])
  }

  private async execChecked (ns: string, file: string, args: string[]): Promise<void> {
    this.log(`[${ns}] ${file} ${args.join(' ')}`)
    const result = await this.exec(ns, file, args)
    if (result.code !== 0) throw new Error(`[${ns}] ${file} ${args.join(' ')}: exit ${result.code}: ${result.stderr.trim()}`)
  }
}

/**
 * Try a TCP connection from inside a host's namespace, with the testbed's own node binary.
 * Resolves 'connected', 'refused', 'unreachable' or 'timeout'.
 */
export async function tcpProbe (bed: Testbed, from: Host, address: string, port: number, timeoutMs = 1500): Promise<'connected' | 'refused' | 'unreachable' | 'timeout'> {
  const script = `
const s = require('node:net').connect({ host: ${JSON.stringify(address)}, port: ${port} })
const done = r => { console.log(r); s.destroy(); process.exit(0) }
s.setTimeout(${timeoutMs}, () => done('timeout'))
s.on('connect', () => done('connected'))
s.on('error', e => done(e.code === 'ECONNREFUSED' ? 'refused' : (['ENETUNREACH', 'EHOSTUNREACH'].includes(e.code) ? 'unreachable' : 'error:' + e.code)))
`
  const result = await bed.exec(from, process.execPath, ['-e', script], { timeoutMs: timeoutMs + 10_000 })
  const answer = result.stdout.trim()
  if (answer === 'connected' || answer === 'refused' || answer === 'unreachable' || answer === 'timeout') return answer
  throw new Error(`tcp probe from ${from.name} to ${address}:${port}: ${answer} ${result.stderr.trim()}`)
}
