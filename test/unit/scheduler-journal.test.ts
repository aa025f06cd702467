/**
 * The submitter's journal (src/scheduler/journal.ts): a `put` is committed at the end of the turn
 * and resolves then; a `note` rides along with the next `put` or commits within `lazyMs`; a clean
 * close commits everything. "Committed" is checked from a second connection to the same file, as a
 * node restarted after a crash would read it.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DatabaseSync } from 'node:sqlite'
import { Journal } from '../../src/scheduler/journal.ts'

let dir: string

function committed (d: string): Map<string, string> {
  // the journal creates its file with its first commit
  if (!existsSync(join(d, 'journal.sqlite'))) return new Map()
  const db = new DatabaseSync(join(d, 'journal.sqlite'), { readOnly: true })
  try {
    const rows = db.prepare('SELECT id, status FROM tasks').all() as Array<{ id: string, status: string }>
    return new Map(rows.map(r => [r.id, r.status]))
  } finally {
    db.close()
  }
}

const rec = (id: string, status: string): { id: string, status: string, json: string } => ({ id, status, json: JSON.stringify({ id, status }) })
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('journal', () => {
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'p2p-journal-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('commits a put at the end of the turn, together with the notes queued before it', async () => {
    const d = join(dir, 'a')
    const j = new Journal(d, 60_000)
    try {
      j.note('t1', () => rec('t1', 'succeeded'))
      const p = j.put(rec('t2', 'queued'))
      assert.equal(committed(d).size, 0, 'nothing is written synchronously')
      await p
      assert.deepEqual(committed(d), new Map([['t1', 'succeeded'], ['t2', 'queued']]))
    } finally {
      j.close()
    }
  })

  it('commits a note alone within lazyMs, one transaction for the notes of that window', async () => {
    const d = join(dir, 'b')
    const j = new Journal(d, 100)
    try {
      for (let i = 0; i < 50; i++) j.note(`n${i}`, () => rec(`n${i}`, 'succeeded'))
      await sleep(20)
      assert.equal(committed(d).size, 0, 'notes wait for their window')
      await sleep(250)
      assert.equal(committed(d).size, 50)
      // the latest state of a task wins
      j.note('n1', () => rec('n1', 'failed'))
      await sleep(250)
      assert.equal(committed(d).get('n1'), 'failed')
    } finally {
      j.close()
    }
  })

  it('takes a noted record once, when it commits, as it is then', async () => {
    const d = join(dir, 'snapshot')
    const j = new Journal(d, 60_000)
    try {
      const task = { status: 'running' }
      let taken = 0
      const snapshot = (): { id: string, status: string, json: string } => { taken++; return rec('s1', task.status) }
      j.note('s1', snapshot)
      task.status = 'succeeded'
      j.note('s1', snapshot)
      assert.equal(taken, 0, 'nothing is serialised before the commit')
      await j.put(rec('s2', 'queued'))
      assert.equal(taken, 1)
      assert.equal(committed(d).get('s1'), 'succeeded')
    } finally {
      j.close()
    }
  })

  it('commits pending notes on close; a crash before the window ends forgets them (at most lazyMs of them)', async () => {
    const d = join(dir, 'c')
    const j = new Journal(d, 60_000)
    await j.put(rec('kept', 'queued'))
    j.note('kept', () => rec('kept', 'succeeded'))
    j.note('late', () => rec('late', 'succeeded'))
    // a crash: another process reads the file now
    assert.deepEqual(committed(d), new Map([['kept', 'queued']]))
    j.close()
    assert.deepEqual(committed(d), new Map([['kept', 'succeeded'], ['late', 'succeeded']]))
    await assert.rejects(j.put(rec('x', 'queued')), /journal closed/)
  })

  it('deletes forgotten tasks, keeps the newest ended ones on reload and finds open ones by their own index', async () => {
    const d = join(dir, 'd')
    // a journal of the older layout: an index over every status
    const j = new Journal(d, 60_000)
    for (let i = 0; i < 10; i++) await j.put(rec(`f${i}`, 'succeeded'))
    await j.put(rec('q', 'queued'))
    await j.put(rec('r', 'running'))
    j.forget('f0')
    j.forget('f1')
    j.close()
    assert.equal(committed(d).size, 10)
    assert.equal(committed(d).has('f0'), false)
    const again = new Journal(d, 60_000)
    try {
      assert.deepEqual(again.loadUnfinished().map(r => r.id).sort(), ['q', 'r'])
      // the 3 newest ended tasks are loaded; the older ended ones are deleted, open ones stay
      assert.deepEqual(again.loadRecentFinished(3).map(r => r.id), ['f9', 'f8', 'f7'])
      assert.deepEqual([...committed(d).keys()].sort(), ['f7', 'f8', 'f9', 'q', 'r'])
      const db = new DatabaseSync(join(d, 'journal.sqlite'), { readOnly: true })
      try {
        const plan = db.prepare("EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE status IN ('queued', 'running')").all() as Array<{ detail: string }>
        assert.ok(plan.some(p => p.detail.includes('tasks_open')), JSON.stringify(plan))
      } finally {
        db.close()
      }
    } finally {
      again.close()
    }
  })

  it('opens no file until the first write: a node that never submits has no SQLite connection', async () => {
    const d = join(dir, 'lazy')
    const file = join(d, 'journal.sqlite')
    const j = new Journal(d, 60_000)
    assert.deepEqual(j.loadLedger(), [])
    assert.deepEqual(j.loadRecentFinished(10), [])
    assert.deepEqual(j.loadUnfinished(), [])
    assert.equal(j.isOpen, false)
    assert.equal(existsSync(file), false, 'loading from no journal creates none')
    await j.put(rec('first', 'queued'))
    assert.equal(j.isOpen, true)
    assert.deepEqual(committed(d), new Map([['first', 'queued']]))
    j.close()
    // a restart opens the existing file at once and finds the task
    const again = new Journal(d, 60_000)
    try {
      assert.deepEqual(again.loadUnfinished().map(r => r.id), ['first'])
      assert.equal(again.isOpen, true)
    } finally {
      again.close()
    }
    // closing a journal that never opened writes nothing
    const idle = new Journal(join(dir, 'idle'), 60_000)
    idle.close()
    assert.equal(existsSync(join(dir, 'idle', 'journal.sqlite')), false)
  })

  it('replaces the index of the older layout when it opens such a journal', async () => {
    const d = join(dir, 'e')
    await mkdir(d, { recursive: true })
    const db = new DatabaseSync(join(d, 'journal.sqlite'))
    db.exec(`CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL, updated INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE INDEX tasks_status ON tasks(status);
      INSERT INTO tasks VALUES ('a', 'queued', 1, '{}'), ('b', 'failed', 2, '{}');`)
    db.close()
    const j = new Journal(d, 60_000)
    try {
      assert.deepEqual(j.loadUnfinished().map(r => r.id), ['a'])
      const check = new DatabaseSync(join(d, 'journal.sqlite'), { readOnly: true })
      const names = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks'").all() as Array<{ name: string }>).map(r => r.name)
      check.close()
      assert.ok(names.includes('tasks_open') && !names.includes('tasks_status'), names.join(','))
    } finally {
      j.close()
    }
  })
})
