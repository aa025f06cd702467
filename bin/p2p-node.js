#!/usr/bin/env node
// Entry point for the `p2p-node` command. js-libp2p v3 needs Node >= 22; the project pins Node 22
// through the `node` devDependency, so `npx p2p-node` and npm scripts run on it.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  console.error(`p2p-node needs Node.js >= 22 (this is ${process.versions.node}); run it through npm/npx in the project, which pins Node 22.`)
  process.exit(1)
}
// node:sqlite (the task journal) is stable enough for us; its ExperimentalWarning only confuses operators
const emitWarning = process.emitWarning
process.emitWarning = function (warning, ...args) {
  if (String(warning).includes('SQLite is an experimental feature')) return
  return emitWarning.call(process, warning, ...args)
}
// In a checkout run the TypeScript sources through tsx; in the container image (no src/, no tsx) run dist/.
const source = new URL('../src/main.ts', import.meta.url)
if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(source.href)
} else {
  await import(new URL('../dist/main.js', import.meta.url).href)
}
