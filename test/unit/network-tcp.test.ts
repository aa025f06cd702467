/**
 * The TCP transport joins a message's buffers into one socket write (src/network/tcp.ts); the real
 * transport is exercised by every e2e test, this pins the joining itself.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { MultiaddrConnection } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { joinWrites } from '../../src/network/tcp.ts'

function fakeConn (): { conn: MultiaddrConnection, writes: Uint8ArrayList[] } {
  const writes: Uint8ArrayList[] = []
  const conn = { sendData (data: Uint8ArrayList) { writes.push(data); return { sentBytes: data.byteLength, canSendMore: true } } }
  return { conn: conn as unknown as MultiaddrConnection, writes }
}

describe('TCP writes', () => {
  it('sends a message of several buffers as one buffer with the same bytes', () => {
    const { conn, writes } = fakeConn()
    const sender = joinWrites(conn) as unknown as { sendData: (d: Uint8ArrayList) => { sentBytes: number } }
    const result = sender.sendData(new Uint8ArrayList(Uint8Array.of(0, 3), Uint8Array.of(1, 2, 3), Uint8Array.of(4)))
    assert.equal(result.sentBytes, 6)
    assert.equal(writes.length, 1)
    assert.equal([...(writes[0] ?? [])].length, 1, 'one buffer')
    assert.deepEqual(writes[0]?.subarray(), Uint8Array.of(0, 3, 1, 2, 3, 4))
  })

  it('passes a single buffer through untouched, and leaves a connection without sendData alone', () => {
    const { conn, writes } = fakeConn()
    const sender = joinWrites(conn) as unknown as { sendData: (d: Uint8ArrayList) => unknown }
    const one = new Uint8ArrayList(Uint8Array.of(7, 8))
    sender.sendData(one)
    assert.equal(writes[0], one)
    const other = {} as unknown as MultiaddrConnection
    assert.equal(joinWrites(other), other)
    assert.deepEqual(Object.keys(other), [])
  })
})
