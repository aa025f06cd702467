/**
 * argv -> config -> node -> start; signals; the only process.exit.
 *
 *   p2p-node --config FILE            run a node (or attach to the one already running for FILE)
 *   p2p-node devnet [--workers N]     a local network with a REPL
 *   p2p-node repl --api URL           attach a REPL to a running node
 *   p2p-node keygen --out FILE        write an identity key (prints the peer ID)
 *   p2p-node check-config FILE        validate a config file
 *   p2p-node peers|status|capabilities|task|tasks|task-status|cancel [--config FILE|--api URL] [--json]
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfigFile, type Config } from './config/index.ts'
import type { RemoteNodeApi } from './cli/remote-api.ts'
import type { ReplOptions } from './cli/repl.ts'
import { apiBaseUrl, createHttpNodeApi, probeApi } from './cli/http-client.ts'
import { P2PNode, VERSION } from './node.ts'
// The REPL, one-shot commands, keygen and the devnet are imported by the commands that use them:
// a node run by a container (no terminal) never loads them.

const ONE_SHOT = new Set(['peers', 'status', 'capabilities', 'task', 'tasks', 'task-status', 'cancel', 'ledger'])
/** drain running tasks for at most this long on SIGTERM (Kubernetes grace period is longer) */
const DRAIN_MS = Number(process.env.P2P_DRAIN_MS ?? 25_000)

const USAGE = `p2p-node ${VERSION}: a decentralised task network on libp2p

usage:
  p2p-node --config FILE                 run a node; if one already runs for FILE, attach to it
  p2p-node run --config FILE             run a node (never attach)
  p2p-node devnet [--workers N]          local network (1 bootstrap, 1 relay, N workers) + REPL
  p2p-node repl [--api URL|--config FILE]  REPL attached to a running node
  p2p-node keygen --out FILE [--swarm-key] [--force]
  p2p-node check-config FILE
  p2p-node peers|status|capabilities|tasks|ledger [--config FILE|--api URL] [--json]
  p2p-node task <type> <payload> [--require a,b] [--selector S] [--timeout 30s] [--json]
  p2p-node task-status <id> | cancel <id>

Piped stdin runs one command per line and exits 0 if all succeeded.
Environment: P2P_BOOTSTRAP_PEERS, P2P_LISTEN_PORT, P2P_ANNOUNCE, P2P_API_PORT, LOG_LEVEL, ... (see README)
`

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'help' && rest.length > 0) {
    // `p2p-node help task`: the REPL's help for one command needs no running node
    const { executeCommand } = await import('./cli/commands.ts')
    const { toRemoteApi } = await import('./cli/remote-api.ts')
    const offline = new Proxy({}, { get: () => { throw new Error('no node') } }) as Parameters<typeof toRemoteApi>[0]
    const { ok } = await executeCommand(toRemoteApi(offline), `help ${rest.join(' ')}`, process.stdout)
    return ok ? 0 : 2
  }
  if (command === '--help' || command === '-h' || command === 'help') { process.stdout.write(USAGE); return 0 }
  if (command === '--version' || command === '-v') { process.stdout.write(`${VERSION}\n`); return 0 }
  if (command === 'keygen') {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string' }, 'swarm-key': { type: 'boolean', default: false }, force: { type: 'boolean', default: false } } })
    const { keygen } = await import('./cli/keygen.ts')
    return keygen({ out: values.out, swarmKey: values['swarm-key'] ?? false, force: values.force ?? false }, process.stdout)
  }
  if (command === 'check-config') {
    const file = rest[0]
    if (file == null) { process.stderr.write('usage: p2p-node check-config FILE\n'); return 2 }
    const config = loadConfigFile(file, { env: process.env })
    process.stdout.write(`${file}: ok (role ${config.node.role})\n`)
    return 0
  }
  if (command === 'devnet') return devnet(rest)
  if (command === 'repl') {
    const { values } = parseArgs({ args: rest, options: { api: { type: 'string' }, config: { type: 'string' }, token: { type: 'string' } } })
    const api = remoteFor(values.api, values.config, values.token)
    const { runRepl } = await import('./cli/repl.ts')
    const { ok } = await runRepl(api, replOptions())
    return ok ? 0 : 1
  }
  if (command != null && ONE_SHOT.has(command)) {
    const { api, args } = extractTarget(rest)
    const { runOneShot } = await import('./cli/oneshot.ts')
    return runOneShot([command, ...args], api, process.stdout, process.stderr)
  }
  if (command === 'run' || command === '--config' || command?.startsWith('--config=') === true) {
    const args = command === 'run' ? rest : [command, ...rest]
    const { values } = parseArgs({ args, options: { config: { type: 'string' } } })
    if (values.config == null) { process.stderr.write('usage: p2p-node --config FILE\n'); return 2 }
    return run(values.config, command !== 'run')
  }
  process.stderr.write(command == null ? USAGE : `unknown command "${command}"\n\n${USAGE}`)
  return 2
}

function replOptions (): ReplOptions {
  const interactive = process.stdin.isTTY
  return { input: process.stdin, output: process.stdout, interactive, historyFile: interactive ? join(homedir(), '.p2p_node_history') : undefined }
}

function remoteFor (apiUrl: string | undefined, configFile: string | undefined, token?: string): RemoteNodeApi {
  if (apiUrl != null) return createHttpNodeApi(apiUrl, { token: token ?? process.env.P2P_API_TOKEN })
  const config = loadConfigFile(configFile ?? '/app/config.yaml', { env: process.env })
  return createHttpNodeApi(apiBaseUrl(config.api), { token: token ?? config.api.token })
}

/** Pulls --api/--config/--token out of a one-shot command's arguments. */
function extractTarget (args: string[]): { api: RemoteNodeApi, args: string[] } {
  const out: string[] = []
  let api: string | undefined
  let config: string | undefined
  let token: string | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--api') api = args[++i]
    else if (a === '--config') config = args[++i]
    else if (a === '--token') token = args[++i]
    else out.push(a)
  }
  return { api: remoteFor(api ?? process.env.P2P_API_URL, config, token), args: out }
}

/** Runs a node for the config, or attaches to the one already answering on its API. */
async function run (file: string, attach: boolean): Promise<number> {
  const config = loadConfigFile(file, { env: process.env })
  if (attach && config.api.enabled && config.api.port !== 0) {
    const url = apiBaseUrl(config.api)
    if (await probeApi(url, 1000)) {
      const api = createHttpNodeApi(url, { token: config.api.token })
      const { runRepl } = await import('./cli/repl.ts')
      const { ok } = await runRepl(api, replOptions())
      return ok ? 0 : 1
    }
  }
  return runNode(config)
}

async function runNode (config: Config): Promise<number> {
  // libp2p's metrics are read through the API's /metrics only; without the API, bridging them would
  // wrap every stream to count bytes for nobody
  const node = new P2PNode(config, { libp2pMetrics: config.api.enabled })
  let signals = 0
  const stopped = new Promise<void>(resolve => {
    const onSignal = (sig: NodeJS.Signals): void => {
      if (++signals > 1) {
        node.logger.warn('second signal: exiting without draining', { signal: sig })
        process.exit(1)
      }
      node.logger.info('stopping', { signal: sig })
      node.stop({ drainMs: sig === 'SIGTERM' ? DRAIN_MS : 0 }).then(resolve, resolve)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
  await node.start()
  if (process.stdin.isTTY) {
    // a terminal: the REPL runs on this node; quitting it stops the node
    const ac = new AbortController()
    void stopped.then(() => { ac.abort() })
    const [{ runRepl }, { toRemoteApi }] = await Promise.all([import('./cli/repl.ts'), import('./cli/remote-api.ts')])
    await runRepl(toRemoteApi(node.api), { ...replOptions(), signal: ac.signal })
    await node.stop()
    return 0
  }
  await stopped
  return 0
}

async function devnet (args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { workers: { type: 'string', default: '3' }, 'data-dir': { type: 'string' }, 'log-level': { type: 'string', default: 'warn' } } })
  const workers = Number(values.workers)
  if (!Number.isInteger(workers) || workers < 1 || workers > 50) { process.stderr.write('--workers must be from 1 to 50\n'); return 2 }
  const [{ startDevnet, waitForMesh }, { runRepl }, { toRemoteApi }] = await Promise.all([import('./cli/devnet.ts'), import('./cli/repl.ts'), import('./cli/remote-api.ts')])
  const net = await startDevnet({ workers, dataDir: values['data-dir'], logLevel: values['log-level'] as 'warn' })
  const ac = new AbortController()
  const onSignal = (): void => { ac.abort() }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await waitForMesh(net).catch(() => { process.stderr.write('warning: not every node sees every worker yet\n') })
    const interactive = process.stdin.isTTY
    if (interactive) {
      process.stdout.write(`devnet up: bootstrap ${net.bootstrapAddr}\n` +
        net.all.map(n => `  ${n.role.padEnd(9)} ${n.peerId}  api ${n.apiServer?.url ?? '-'}`).join('\n') +
        '\nthe REPL talks to the bootstrap node; type help\n')
    }
    const { ok } = await runRepl(toRemoteApi(net.bootstrap.api), { ...replOptions(), signal: ac.signal })
    return ok ? 0 : 1
  } finally {
    await net.stop()
  }
}

// `p2p-node peers | head`: a closed stdout is not an error worth a stack trace
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
})

main(process.argv.slice(2)).then(code => {
  process.exitCode = code
  // libp2p and timers are stopped; leave nothing that could keep the process alive
  setTimeout(() => process.exit(code), 200).unref()
}, (err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`config error: ${err.message}\n`)
    process.exit(2)
  }
  const e = err as Error & { code?: string }
  process.stderr.write(`error: ${e.message ?? String(err)}\n`)
  process.exit(e.code === 'ERR_BOOTSTRAP_ENTRY' || e.name === 'TypeError' && e.message.includes('parseArgs') ? 2 : 1)
})
