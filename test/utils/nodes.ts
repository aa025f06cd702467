/** Real in-process nodes on 127.0.0.1 for tests, stopped through a cleanup stack. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfigFile, type ConfigOverrides } from '../../src/config/index.ts'
import { LOCAL_CONFIG_DIR } from '../../src/cli/devnet.ts'
import { createLogger } from '../../src/logger.ts'
import { writeSwarmKey } from '../../src/network/pnet.ts'
import { P2PNode } from '../../src/node.ts'

export type Role = 'bootstrap' | 'relay' | 'worker'

export class TestNet {
  private readonly cleanups: Array<() => Promise<void>> = []
  private dir?: string

  async tmp (): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'p2p-test-'))
    return this.dir
  }

  /** A new private-network (pnet) key file, `name` in the temp dir, for `network.private_key_file`. */
  async swarmKey (name: string): Promise<string> {
    const file = join(await this.tmp(), name)
    await writeSwarmKey(file)
    return file
  }

  /** Builds (not starts) a node from config/local/<role>.yaml with overrides. */
  async make (role: Role, name: string, overrides: ConfigOverrides = {}): Promise<P2PNode> {
    const dir = await this.tmp()
    const config = loadConfigFile(join(LOCAL_CONFIG_DIR, `${role}.yaml`), {
      env: {},
      overrides: { 'node.data_dir': join(dir, name), 'log.level': process.env.TEST_LOG_LEVEL ?? 'silent', ...overrides }
    })
    // metrics kept without the API, so tests can read what /metrics would serve (node.registry)
    const node = new P2PNode(config, { logger: createLogger({ level: config.log.level, format: 'pretty', bindings: { node: name } }), api: false, metrics: true })
    this.cleanups.push(async () => { await node.stop().catch(() => {}) })
    return node
  }

  async start (role: Role, name: string, overrides: ConfigOverrides = {}): Promise<P2PNode> {
    const node = await this.make(role, name, overrides)
    await node.start()
    return node
  }

  defer (fn: () => Promise<void>): void { this.cleanups.push(fn) }

  async close (): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn()
    this.cleanups.length = 0
    if (this.dir != null) await rm(this.dir, { recursive: true, force: true })
  }
}

export function addrOf (node: P2PNode): string {
  const a = node.libp2p?.getMultiaddrs().find(m => m.toString().includes('/tcp/') && !m.toString().includes('p2p-circuit'))
  if (a == null) throw new Error(`${node.role} has no TCP address`)
  return a.toString()
}

/** Polls `cond` until it holds; fails with `what` at the deadline. */
export async function until (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await cond()) return
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for: ${what}`)
}

export function connected (a: P2PNode, b: P2PNode): boolean {
  return (a.libp2p?.getConnections().some(c => c.remotePeer.toString() === b.peerId) ?? false)
}
