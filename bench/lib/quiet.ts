// Imported first by the bench entry points: node:sqlite (the gateway's journal) warns that it is
// experimental on every start, which only clutters benchmark output (bin/p2p-node.js does the same).
const emitWarning = process.emitWarning.bind(process) as (warning: string | Error, ...args: unknown[]) => void
function quietWarning (warning: string | Error, ...args: unknown[]): void {
  if (String(warning).includes('SQLite is an experimental feature')) return
  emitWarning(warning, ...args)
}
process.emitWarning = quietWarning
