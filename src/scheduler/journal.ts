/**
 * The submitter's journal in data_dir (node:sqlite). Writes are group-committed: every change
 * marks its task dirty and one transaction writes them all, so a burst of 10k submissions costs a
 * handful of transactions, not 10k synchronous writes.
 *
 * Two kinds of write. `put` is for a change somebody waits for (a submission: `submit()` resolves
 * only after its task's commit, so an accepted task survives a crash); it commits at the end of
 * the current turn of the event loop, so a lone submission waits for no timer. `note` is for a
 * change nobody waits for (an attempt's progress, a task's end, whose waiters were answered from
 * memory); it commits with the next `put` or at most `lazyMs` later. At a few thousand results a
 * second that is one transaction per `lazyMs` instead of one per turn (a few results each), which
 * was most of the journal's cost: every transaction rewrites the pages it touched. The price: a
 * node killed without warning can forget the last `lazyMs` of ended tasks and run them again after
 * its restart (at least once, never lost); a clean stop commits everything.
 *
 * The journal holds what the submitter holds: open tasks and the newest ended ones. A task the
 * submitter forgets (`forget`) is deleted in the next transaction, so the file and the start-up
 * queries stay bounded however many tasks a node has run. Open tasks have a partial index of their
 * own: an ended task costs no index entry, and a restart finds the open ones without a scan.
 *
 * The file is opened on the first write, or at start when it exists: a node that never submits (a
 * worker) never creates it, and its SQLite connection, page cache and statements (1.5-2 MiB of an
 * idle worker's resident memory) are never set up. Loading from a journal that does not exist
 * finds nothing, as loading from an empty one would.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { atTurnEnd } from '../network/turn.ts'

/** Statuses of tasks that have not ended (the rest are terminal) */
const OPEN_STATUSES = ['queued', 'running'] as const
const OPEN_SQL = OPEN_STATUSES.map(v => `'${v}'`).join(', ')

/** How long a change nobody waits for may stay uncommitted (see `note`). */
export const DEFAULT_LAZY_MS = 20

export interface JournalRecord {
  id: string
  status: string
  /** the task as JSON (payload and result base64) */
  json: string
}

export interface LedgerRow {
  worker: string
  credits: number
  completed: number
  failed: number
  latencySumMs: number
}

/**
 * A change queued by `note`: the record is taken when the transaction is written, so a task that
 * changes several times within `lazyMs` (accepted, then ended) is serialised once, as it is then.
 */
export type Snapshot = () => JournalRecord

interface Store {
  db: DatabaseSync
  upsert: StatementSync
  upsertLedger: StatementSync
  remove: StatementSync
}

export class Journal {
  private readonly file: string
  private store?: Store
  private forgotten: string[] = []
  private dirty = new Map<string, JournalRecord | Snapshot>()
  private dirtyLedger = new Map<string, LedgerRow>()
  private turnFlush = false
  private lazyTimer?: NodeJS.Timeout
  private waiters: Array<{ resolve: () => void, reject: (err: Error) => void }> = []
  private closed = false

  /** `lazyMs`: how long a `note` may wait for its commit */
  constructor (dataDir: string, private readonly lazyMs = DEFAULT_LAZY_MS) {
    mkdirSync(dataDir, { recursive: true })
    this.file = join(dataDir, 'journal.sqlite')
  }

  /** whether the journal file is open (it is opened on the first write, or at load when it exists) */
  get isOpen (): boolean { return this.store != null }

  private open (): Store {
    if (this.store != null) return this.store
    const db = new DatabaseSync(this.file)
    try {
      db.exec(`
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL, updated INTEGER NOT NULL, json TEXT NOT NULL);
        DROP INDEX IF EXISTS tasks_status;
        CREATE INDEX IF NOT EXISTS tasks_open ON tasks(status) WHERE status IN (${OPEN_SQL});
        CREATE TABLE IF NOT EXISTS ledger (worker TEXT PRIMARY KEY, credits REAL NOT NULL, completed INTEGER NOT NULL, failed INTEGER NOT NULL, latency_sum_ms REAL NOT NULL);
      `)
      this.store = {
        db,
        upsert: db.prepare('INSERT INTO tasks (id, status, updated, json) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET status = excluded.status, updated = excluded.updated, json = excluded.json'),
        remove: db.prepare('DELETE FROM tasks WHERE id = ?'),
        upsertLedger: db.prepare('INSERT INTO ledger (worker, credits, completed, failed, latency_sum_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT(worker) DO UPDATE SET credits = excluded.credits, completed = excluded.completed, failed = excluded.failed, latency_sum_ms = excluded.latency_sum_ms')
      }
      return this.store
    } catch (err) {
      db.close()
      throw err
    }
  }

  /** The open journal, or undefined when there is no file yet (nothing to load). */
  private existing (): Store | undefined {
    return this.store ?? (existsSync(this.file) ? this.open() : undefined)
  }

  /** Queues a write somebody waits for: committed at the end of this turn; resolves then. */
  put (record: JournalRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('journal closed'))
    this.dirty.set(record.id, record)
    const p = new Promise<void>((resolve, reject) => { this.waiters.push({ resolve, reject }) })
    if (!this.turnFlush) {
      this.turnFlush = true
      atTurnEnd(() => { if (this.turnFlush) this.flush() })
    }
    return p
  }

  /**
   * Queues a write nobody waits for: committed with the next `put`, or within `lazyMs`. `snapshot`
   * is called then, once, however often the record was noted since the last commit.
   */
  note (id: string, snapshot: Snapshot): void {
    if (this.closed) return
    this.dirty.set(id, snapshot)
    this.scheduleLazy()
  }

  /** Deletes an ended task the submitter no longer keeps (with the next commit). */
  forget (id: string): void {
    if (this.closed) return
    this.forgotten.push(id)
    this.scheduleLazy()
  }

  putLedger (row: LedgerRow): void {
    if (this.closed) return
    this.dirtyLedger.set(row.worker, row)
    this.scheduleLazy()
  }

  private scheduleLazy (): void {
    if (this.lazyTimer != null || this.turnFlush) return
    this.lazyTimer = setTimeout(() => { this.lazyTimer = undefined; this.flush() }, this.lazyMs)
  }

  /** Writes everything queued in one transaction (errors reach the `put`s waiting for it). */
  flush (): void {
    this.turnFlush = false
    clearTimeout(this.lazyTimer)
    this.lazyTimer = undefined
    const records = this.dirty
    const ledger = this.dirtyLedger
    const waiters = this.waiters
    const forgotten = this.forgotten
    this.dirty = new Map()
    this.dirtyLedger = new Map()
    this.waiters = []
    this.forgotten = []
    if (records.size === 0 && ledger.size === 0 && forgotten.length === 0) {
      for (const w of waiters) w.resolve()
      return
    }
    const now = Date.now()
    try {
      const { db, upsert, remove, upsertLedger } = this.open()
      db.exec('BEGIN')
      for (const entry of records.values()) {
        const r = typeof entry === 'function' ? entry() : entry
        upsert.run(r.id, r.status, now, r.json)
      }
      for (const id of forgotten) remove.run(id)
      for (const l of ledger.values()) upsertLedger.run(l.worker, l.credits, l.completed, l.failed, l.latencySumMs)
      db.exec('COMMIT')
      for (const w of waiters) w.resolve()
    } catch (err) {
      try { this.store?.db.exec('ROLLBACK') } catch { /* not in a transaction */ }
      for (const w of waiters) w.reject(err as Error)
    }
  }

  /** Tasks that had not ended, to resume after a restart. */
  loadUnfinished (): JournalRecord[] {
    const db = this.existing()?.db
    if (db == null) return []
    return db.prepare(`SELECT id, status, json FROM tasks WHERE status IN (${OPEN_SQL})`).all() as unknown as JournalRecord[]
  }

  /**
   * The `limit` most recently updated ended tasks, so `tasks` and `task-status` survive a restart;
   * older ended ones are deleted (a journal written before `forget` existed, or a smaller limit).
   */
  loadRecentFinished (limit: number): JournalRecord[] {
    const db = this.existing()?.db
    if (db == null) return []
    const rows = db.prepare(`SELECT id, status, json, updated FROM tasks WHERE status NOT IN (${OPEN_SQL}) ORDER BY updated DESC, id DESC LIMIT ?`).all(limit) as unknown as Array<JournalRecord & { updated: number }>
    const oldest = rows.at(-1)
    if (rows.length >= limit && oldest != null) {
      db.prepare(`DELETE FROM tasks WHERE status NOT IN (${OPEN_SQL}) AND (updated < ? OR (updated = ? AND id < ?))`).run(oldest.updated, oldest.updated, oldest.id)
    }
    return rows.map(({ id, status, json }) => ({ id, status, json }))
  }

  loadLedger (): LedgerRow[] {
    const db = this.existing()?.db
    if (db == null) return []
    return (db.prepare('SELECT worker, credits, completed, failed, latency_sum_ms AS latencySumMs FROM ledger').all() as unknown as LedgerRow[])
  }

  close (): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    this.store?.db.close()
  }
}
