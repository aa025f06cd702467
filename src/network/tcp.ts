/**
 * The TCP transport, with one socket write per turn of the event loop.
 *
 * @libp2p/tcp hands every buffer of an outgoing message to `socket.write` on its own, and a write
 * on an idle socket is a syscall of its own (on loopback, the receiver's TCP processing runs in
 * it too). Noise frames each message as a 2-byte length and the ciphertext, so every Yamux frame
 * cost two or three syscalls: 15–22 % of a gateway's and a worker's CPU in the benchmark's profiles
 * (`writeBuffer`). Here the connections the transport makes (dialled and accepted) join a
 * message's buffers first: one copy of a few hundred bytes instead of a syscall.
 *
 * Messages of one turn are joined too: the first write of a turn corks the socket and the end of
 * the turn (`afterTurn`, after the task streams' batches are written) uncorks it, so everything
 * the turn wrote leaves in one `writev`. Yamux answers every data frame it reads with a window
 * update of its own (a 30-byte Noise message); uncorked, that was a syscall per frame read, half
 * of all writes of a worker in a burst.
 *
 * This relies on the connection class of @libp2p/tcp 11 sending through `sendData(list)` and
 * keeping its `net.Socket` in `socket`; a connection without them is left as it is.
 */
import { tcp as libp2pTcp, type TCPOptions } from '@libp2p/tcp'
import type { MultiaddrConnection, Upgrader } from '@libp2p/interface'
import type { Socket } from 'node:net'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterTurn } from './turn.ts'

type TransportFactory = ReturnType<typeof libp2pTcp>

export function tcp (init?: TCPOptions): TransportFactory {
  const factory = libp2pTcp(init)
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, options) => await dial(ma, { ...options, upgrader: joiningUpgrader(options.upgrader) })
    transport.createListener = (options) => createListener({ ...options, upgrader: joiningUpgrader(options.upgrader) })
    return transport
  }
}

/** The upgrader, except that connections it upgrades write each message with one socket write. */
function joiningUpgrader (upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get (target, prop) {
      if (prop === 'upgradeOutbound') return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => await target.upgradeOutbound(joinWrites(maConn), opts)
      if (prop === 'upgradeInbound') return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]) => { await target.upgradeInbound(joinWrites(maConn), opts) }
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
}

interface Sender { sendData?: (data: Uint8ArrayList) => unknown, socket?: Socket }

export function joinWrites (maConn: MultiaddrConnection): MultiaddrConnection {
  const conn = maConn as unknown as Sender
  const send = conn.sendData
  if (typeof send !== 'function') return maConn
  const socket = conn.socket
  const corkable = socket != null && typeof socket.cork === 'function' && typeof socket.uncork === 'function'
  let corked = false
  const uncork = (): void => {
    corked = false
    socket?.uncork()
  }
  conn.sendData = (data: Uint8ArrayList) => {
    if (corkable && !corked && !socket.destroyed) {
      corked = true
      socket.cork()
      afterTurn(uncork)
    }
    return send.call(maConn, pieces(data) > 1 ? new Uint8ArrayList(data.subarray()) : data)
  }
  return maConn
}

function pieces (data: Uint8ArrayList): number {
  let n = 0
  for (const _ of data) if (++n > 1) break
  return n
}
