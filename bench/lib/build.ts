/**
 * What the benchmark's child processes run. By default the harness bundles, with esbuild, the
 * p2p node (`src/main.ts`, i.e. `p2p-node`), the propagation scenario's node process, the BullMQ
 * worker and the event-loop probe at the start of every run, with the options the container image's
 * bundle is built with (`bin/bundle.js`), and children run that compiled JavaScript: what a
 * deployment runs (the image runs `dist/main.js`, that bundle), not
 * tsx transforming every module of a checkout at start-up (most of the start-up time and ~40 MiB of
 * RSS). Both sides get the same treatment: the BullMQ worker is bundled and run the same way.
 * `--from-source` runs the TypeScript sources through tsx instead (`bin/p2p-node.js` in a checkout),
 * on both sides.
 *
 * The p2p gateway, which runs inside the bench process, is loaded from the same bundle
 * (`gateway-entry.ts`), so it too runs what a deployment runs.
 *
 * The bundle is rebuilt every run (a second or two), so it is never stale, into the run's own scratch
 * directory, so benchmarks running at the same time never replace each other's chunks. Dynamic
 * `import()`s stay separate chunks (esbuild splitting), so code a role never loads is never parsed.
 * (The devnet's config directory is found next to the bundle's directory, which the scratch
 * directory is not; no bench child runs the devnet.)
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { build } from 'esbuild'
import { bundleOptions } from '../../bin/bundle.js'

export type ScriptMode = 'bundle' | 'source'

export interface ChildCommand {
  /** Node flags before the script */
  execArgv: string[]
  /** the script to run */
  script: string
}

export interface ChildScripts {
  mode: ScriptMode
  /** `p2p-node` (then: run --config FILE) */
  p2pNode: ChildCommand
  /** bench/node-proc.ts: a P2PNode reporting its table over IPC */
  nodeProc: ChildCommand
  /** bench/bullmq-worker.ts */
  bullmqWorker: ChildCommand
  /** the event-loop probe, for `--import` */
  probe: string
  /** the module the bench process hosts the p2p gateway from (bench/lib/gateway-entry.ts) */
  gateway: string
}

const ROOT = join(import.meta.dirname, '..', '..')

// node:sqlite's ExperimentalWarning (bin/p2p-node.js filters it; the bundle is started directly)
const QUIET = ['--disable-warning=ExperimentalWarning']

function fromSource (): ChildScripts {
  return {
    mode: 'source',
    p2pNode: { execArgv: [], script: join(ROOT, 'bin', 'p2p-node.js') },
    nodeProc: { execArgv: ['--import', 'tsx'], script: join(ROOT, 'bench', 'node-proc.ts') },
    // tsx is loaded as in a p2p worker (bin/p2p-node.js registers it), so loader overhead is equal
    bullmqWorker: { execArgv: ['--import', 'tsx'], script: join(ROOT, 'bench', 'bullmq-worker.ts') },
    probe: join(ROOT, 'bench', 'lib', 'probe.ts'),
    gateway: join(ROOT, 'bench', 'lib', 'gateway-entry.ts')
  }
}

let current: ChildScripts = fromSource()

/** The commands children run (from source until prepareScripts('bundle') has run). */
export function scripts (): ChildScripts { return current }

/**
 * Builds the bundle into `dir` (mode 'bundle') and makes children run it; resolves with the build
 * time in ms.
 */
export async function prepareScripts (mode: ScriptMode, dir: string): Promise<number> {
  if (mode === 'source') {
    current = fromSource()
    return 0
  }
  const t0 = performance.now()
  await rm(dir, { recursive: true, force: true })
  await build(bundleOptions({
    entryPoints: {
      'p2p-node': join(ROOT, 'src', 'main.ts'),
      'node-proc': join(ROOT, 'bench', 'node-proc.ts'),
      'bullmq-worker': join(ROOT, 'bench', 'bullmq-worker.ts'),
      probe: join(ROOT, 'bench', 'lib', 'probe.ts'),
      gateway: join(ROOT, 'bench', 'lib', 'gateway-entry.ts')
    },
    outdir: dir,
    outExtension: '.mjs'
  }))
  const file = (name: string): string => join(dir, `${name}.mjs`)
  current = {
    mode: 'bundle',
    p2pNode: { execArgv: QUIET, script: file('p2p-node') },
    nodeProc: { execArgv: QUIET, script: file('node-proc') },
    bullmqWorker: { execArgv: QUIET, script: file('bullmq-worker') },
    probe: file('probe'),
    gateway: file('gateway')
  }
  return performance.now() - t0
}
