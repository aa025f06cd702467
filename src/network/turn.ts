/**
 * The end of a turn of the event loop, shared by everything that batches output.
 *
 * Output produced while one turn's input is handled (the frames of a placement pass, the acks of a
 * batch of results, the Yamux window update for the data just read) should leave in one socket
 * write, not one each. Producers queue their batch with `atTurnEnd` and write it then; sockets
 * that were written to during the turn are corked and flushed by `afterTurn`, which runs after
 * every producer of the same turn (and their microtasks). Both run in the check phase of the
 * event loop, so nothing waits for a timer: a lone frame still leaves in the turn it was sent.
 *
 * A turn is two immediates queued together: producers first, then transmitters. A producer queued
 * while the producers run (the receipts flush sending its acks) runs in the same pass; one queued
 * later, in their microtasks or by the transmitters, goes to the next turn. A transmitter queued
 * before the transmitters run (a producer's write corked a socket) goes to this turn.
 */

type Callback = () => void

interface Turn { produce: Callback[], transmit: Callback[] }

/** The turn whose producers have not run yet. */
let open: Turn | undefined
/** The turn whose producers have run and whose transmitters have not. */
let closing: Turn | undefined

function openTurn (): Turn {
  if (open != null) return open
  const turn: Turn = { produce: [], transmit: [] }
  open = turn
  setImmediate(() => {
    closing = turn
    while (turn.produce.length > 0) run(turn.produce.splice(0))
    if (open === turn) open = undefined
  })
  setImmediate(() => {
    if (closing === turn) closing = undefined
    run(turn.transmit)
  })
  return turn
}

function run (callbacks: Callback[]): void {
  // a callback's exception must not keep the others (other sockets, other peers) from running
  for (const cb of callbacks) {
    try {
      cb()
    } catch (err) {
      queueMicrotask(() => { throw err })
    }
  }
}

/** Runs `fn` at the end of this turn, before the sockets written to in it are flushed. */
export function atTurnEnd (fn: Callback): void {
  openTurn().produce.push(fn)
}

/** Runs `fn` after this turn's producers (and the microtasks they started) have run. */
export function afterTurn (fn: Callback): void {
  (closing ?? openTurn()).transmit.push(fn)
}
