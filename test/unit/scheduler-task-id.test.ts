/**
 * Task ids are UUIDv7 (src/scheduler/task-id.ts): valid RFC 9562 UUIDs that sort by time.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TaskIdGenerator } from '../../src/scheduler/task-id.ts'

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('task ids', () => {
  it('are version-7 UUIDs whose first 48 bits are the millisecond', () => {
    const ms = Date.UTC(2026, 10, 22, 3, 0, 0, 123)
    const id = new TaskIdGenerator(() => ms).next()
    assert.match(id, V7)
    assert.equal(parseInt(id.replaceAll('-', '').slice(0, 12), 16), ms)
  })

  it('sort as strings in the order they were made, also many in one millisecond and when the clock steps back', () => {
    let t = 1_800_000_000_000
    const clock = [0, 0, 0, 1, 1, -5, 2]
    let i = 0
    const gen = new TaskIdGenerator(() => t + (clock[Math.min(i++, clock.length - 1)] as number))
    const ids = Array.from({ length: 10_000 }, () => gen.next())
    for (const id of ids) assert.match(id, V7)
    assert.deepEqual([...ids].sort(), ids)
    assert.equal(new Set(ids).size, ids.length)
    t += 1000
    const later = gen.next()
    assert.ok(later > (ids.at(-1) as string))
  })

  it('differ between generators in the same millisecond (random bits)', () => {
    const a = new TaskIdGenerator(() => 5).next()
    const b = new TaskIdGenerator(() => 5).next()
    assert.notEqual(a, b)
    assert.equal(a.slice(0, 13), b.slice(0, 13))
  })
})
