/**
 * `npm run bench`: the p2p network against itself and (with --baseline bullmq) against BullMQ on a
 * local Redis. Prints a table (median [min–max] over --runs) and the targets of issue 7, and writes
 * the results as JSON. Every process it starts it stops, also on failure and Ctrl-C.
 *
 *   node --import tsx bench/run.ts [--quick] [--baseline bullmq] [--scenarios burst,serial] [--runs 3] [--out FILE]
 */
import './lib/quiet.ts'

// loaded after quiet.ts: node:sqlite warns while the module graph is linked
const { main } = await import('./runner.ts')
main(process.argv.slice(2)).then(code => { process.exit(code) }, (err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
