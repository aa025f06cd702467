/**
 * A BullMQ worker process for the baseline: a no-op processor (returns '') at the given concurrency.
 *
 *   node --import tsx bench/bullmq-worker.ts --port P --queue NAME --concurrency 16
 */
import { parseArgs } from 'node:util'
import { Worker } from 'bullmq'

const { values } = parseArgs({ options: { port: { type: 'string' }, queue: { type: 'string', default: 'bench' }, concurrency: { type: 'string', default: '16' } } })
const worker = new Worker(values.queue ?? 'bench', async () => '', {
  connection: { host: '127.0.0.1', port: Number(values.port) },
  concurrency: Number(values.concurrency)
})
worker.on('error', (err) => { process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'worker error', error: err.message })}\n`) })
await worker.waitUntilReady()
process.stderr.write(`${JSON.stringify({ level: 'info', msg: 'worker ready', pid: process.pid })}\n`)

let closing = false
const close = (): void => {
  if (closing) process.exit(1)
  closing = true
  worker.close().then(() => { process.exit(0) }, () => { process.exit(1) })
}
process.on('SIGTERM', close)
process.on('SIGINT', close)
