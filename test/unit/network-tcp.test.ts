/**
 * The TCP transport joins a message's buffers into one socket write, and a turn's messages into
 * one `writev` (src/network/tcp.ts, src/network/turn.ts); the real transport is exercised by every
 * e2e test, this pins the joining itself.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, connect, type Socket } from 'node:net'
import { describe, it } from 'node:test'
import type { MultiaddrConnection } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { joinWrites } from '../../src/network/tcp.ts'
import { afterTurn, atTurnEnd } from '../../src/network/turn.ts'

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

describe('one socket write per turn', () => {
  it('sends what a turn wrote (its own writes and those of its producers) in one writev, in order', async () => {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as { port: number }).port
    const accepted = once(server, 'connection')
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    const [peer] = await accepted as [Socket]
    const received: Buffer[] = []
    peer.on('data', (b: Buffer) => received.push(b))
    try {
      const syscalls: Array<{ kind: string, chunks: number }> = []
      const s = socket as unknown as { _writev: (chunks: unknown[], cb: unknown) => void, _write: (...args: unknown[]) => void }
      const writev = s._writev.bind(socket)
      const write = s._write.bind(socket)
      s._writev = (chunks, cb) => { syscalls.push({ kind: 'writev', chunks: chunks.length }); writev(chunks, cb) }
      s._write = (...args) => { syscalls.push({ kind: 'write', chunks: 1 }); write(...args) }
      const conn = {
        socket,
        sendData (data: Uint8ArrayList) { for (const b of data) socket.write(b); return { sentBytes: data.byteLength, canSendMore: true } }
      }
      const sender = joinWrites(conn as unknown as MultiaddrConnection) as unknown as { sendData: (d: Uint8ArrayList) => unknown }
      // a write while input is handled (a window update), then a producer's batch at the end of the turn
      sender.sendData(new Uint8ArrayList(Uint8Array.of(1)))
      atTurnEnd(() => {
        sender.sendData(new Uint8ArrayList(Uint8Array.of(2), Uint8Array.of(3)))
        // a producer queued by a producer (the receipts flush sending acks) runs in the same pass
        atTurnEnd(() => { sender.sendData(new Uint8ArrayList(Uint8Array.of(4))) })
      })
      sender.sendData(new Uint8ArrayList(Uint8Array.of(5)))
      assert.deepEqual(syscalls, [], 'nothing is written before the turn ends')
      while (Buffer.concat(received).length < 5) await once(peer, 'data')
      assert.deepEqual(syscalls, [{ kind: 'writev', chunks: 4 }])
      assert.deepEqual([...Buffer.concat(received)], [1, 5, 2, 3, 4])

      // the next turn is corked again; a lone message leaves in its own turn
      sender.sendData(new Uint8ArrayList(Uint8Array.of(6)))
      while (Buffer.concat(received).length < 6) await once(peer, 'data')
      assert.equal(syscalls.length, 2)
    } finally {
      socket.destroy()
      peer.destroy()
      server.close()
    }
  })

  it('runs transmitters after every producer of the turn and a producer queued by a transmitter in the next turn', async () => {
    const order: string[] = []
    await new Promise<void>((resolve) => {
      afterTurn(() => {
        order.push('transmit 1')
        atTurnEnd(() => { order.push('next turn'); resolve() })
      })
      atTurnEnd(() => {
        order.push('produce 1')
        // microtasks of a producer (the task streams write after a promise) run before the transmitters
        queueMicrotask(() => { order.push('produce 1 microtask') })
        afterTurn(() => { order.push('transmit 2') })
      })
      atTurnEnd(() => { order.push('produce 2') })
    })
    assert.deepEqual(order, ['produce 1', 'produce 2', 'produce 1 microtask', 'transmit 1', 'transmit 2', 'next turn'])
  })
})
