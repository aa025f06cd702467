#!/usr/bin/env node
// The p2p-node bundle: src/main.ts and everything it imports, compiled by esbuild into one ES module
// plus a chunk per dynamic import(). The container image runs it (dist/main.js, through
// bin/p2p-node.js) and the benchmark's children run the same build (bench/lib/build.ts), so what is
// measured is what is deployed.
//
// Why a bundle and not tsc's one file per module: Node's module loader keeps every module's
// record, URL and resolution state, and an idle worker loading ~800 modules from dist/ and
// node_modules/ one file each was ~127 MiB resident, against ~85 MiB for the same code bundled. Comments and
// indentation are dropped (identifiers are kept, so stack traces name functions): V8 keeps the
// source text of every loaded script in the heap, as two bytes a character when the text holds a
// single character outside Latin-1 (a comment in a dependency does), plus an array of line ends for
// every script a stack trace has passed through; about 3.5 MiB of an idle worker's heap.
// Dynamic import()s stay separate chunks, so code a role never loads (TLS, the relay server, mDNS,
// the REPL) is never read or parsed. Source maps are written next to the chunks: run with
// NODE_OPTIONS=--enable-source-maps to see TypeScript positions in stack traces.
//
//   node bin/bundle.js [--outdir dist]
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

const ROOT = join(import.meta.dirname, '..')

/**
 * esbuild's options for the bundle, shared by the image and the benchmark.
 * @param {{ outdir: string, entryPoints: Record<string, string>, outExtension?: string, sourcemap?: boolean }} init
 */
export function bundleOptions (init) {
  return {
    entryPoints: init.entryPoints,
    outdir: init.outdir,
    outExtension: { '.js': init.outExtension ?? '.js' },
    bundle: true,
    splitting: true,
    format: /** @type {const} */ ('esm'),
    platform: /** @type {const} */ ('node'),
    target: 'node22',
    // CommonJS dependencies (prom-client, ...) call require(): give ESM chunks one
    banner: { js: "import { createRequire as __p2pCreateRequire } from 'node:module'; const require = __p2pCreateRequire(import.meta.url);" },
    minifyWhitespace: true,
    legalComments: /** @type {const} */ ('none'),
    sourcemap: init.sourcemap ?? false,
    logLevel: /** @type {const} */ ('error')
  }
}

/**
 * Builds the p2p-node bundle into `outdir` (emptied first): `main.js` is the entry point.
 * @param {{ outdir: string, sourcemap?: boolean }} init
 */
export async function bundle (init) {
  const { build } = await import('esbuild')
  await rm(init.outdir, { recursive: true, force: true })
  await build(bundleOptions({ outdir: init.outdir, entryPoints: { main: join(ROOT, 'src', 'main.ts') }, sourcemap: init.sourcemap ?? true }))
}

if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(ROOT, 'dist') } } })
  await bundle({ outdir: values.outdir })
  console.log(`bundled src/main.ts into ${values.outdir}/main.js`)
}
