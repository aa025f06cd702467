/**
 * The journal's WAL checkpoints, off the event loop. SQLite copies the write-ahead log back into
 * the database file (and fsyncs both) every 1000 pages by default, inside whichever commit crosses
 * that mark: on the node's one event loop, a stall of 5–30 ms about every second at 500 submissions
 * a second, which was most of the open-loop latency tail. Here the journal's own connection never
 * checkpoints (`wal_autocheckpoint = 0`) and a worker thread with a connection of its own runs a
 * PASSIVE checkpoint every `intervalMs`: it copies what is committed without blocking the writer.
 * If the thread cannot run, the journal checkpoints as SQLite would by itself.
 */
import { Worker } from 'node:worker_threads'

/** The thread: plain CommonJS, so it runs the same from sources, the bundle or dist/. */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
// node:sqlite's experimental warning was already shown (or silenced) by the main thread
process.emitWarning = () => {}
const { DatabaseSync } = require('node:sqlite')
const db = new DatabaseSync(workerData.file)
db.exec('PRAGMA busy_timeout = 1000')
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
const timer = setInterval(() => {
  try {
    const r = checkpoint.get()
    if (r != null && r.checkpointed > 0) parentPort.postMessage({ checkpointed: r.checkpointed })
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) })
  }
}, workerData.intervalMs)
parentPort.on('message', (m) => {
  if (m !== 'close') return
  clearInterval(timer)
  try { db.close() } catch {}
  parentPort.close()
})
`

export interface CheckpointerInit {
  file: string
  intervalMs: number
  /** the thread failed: the journal's connection must checkpoint by itself again */
  onFailure: (err: Error) => void
}

export class Checkpointer {
  private readonly worker: Worker
  /** WAL frames copied into the database file so far */
  framesCheckpointed = 0
  private stopped = false

  constructor (init: CheckpointerInit) {
    this.worker = new Worker(SOURCE, {
      eval: true,
      workerData: { file: init.file, intervalMs: init.intervalMs },
      // no loaders or profilers of the main thread: the thread runs three SQL statements
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 }
    })
    // never keeps the process alive: the journal's close() commits what is pending itself
    this.worker.unref()
    this.worker.on('message', (m: { checkpointed?: number, error?: string }) => {
      if (typeof m.checkpointed === 'number') this.framesCheckpointed += m.checkpointed
    })
    this.worker.on('error', (err) => {
      if (!this.stopped) init.onFailure(err)
    })
  }

  stop (): void {
    if (this.stopped) return
    this.stopped = true
    this.worker.postMessage('close')
    // the thread closes its connection and ends; do not wait for it (close() is synchronous)
    setTimeout(() => { void this.worker.terminate() }, 1000).unref()
  }
}
