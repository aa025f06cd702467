/**
 * Signed receipts (DESIGN.md section 4): the submitter signs one per completed task, the worker
 * verifies it and keeps it. One per task makes them hot: @libp2p/crypto imports the raw Ed25519 key
 * into a Node key object on every sign and verify (a third of the signature's cost), so both
 * sides here hold Node key objects, made once per key. Other key types fall back to the libp2p key.
 */
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { publicKeyFromMultihash } from '@libp2p/crypto/keys'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import * as Digest from 'multiformats/hashes/digest'
import { Receipt } from '../protocol/codec.ts'
import { peerIdFromBytes } from './gossip.ts'

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')

/** The bytes a receipt's signature covers: the receipt with an empty signature. */
export function receiptBody (r: Receipt): Uint8Array {
  return Receipt.encode({ ...r, signature: new Uint8Array() })
}

export class ReceiptSigner {
  private readonly edKey?: KeyObject

  constructor (private readonly privateKey: PrivateKey) {
    if (privateKey.type === 'Ed25519') {
      // raw: the 32-byte seed followed by the 32-byte public key
      const raw = privateKey.raw
      this.edKey = createPrivateKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', d: b64url(raw.subarray(0, 32)), x: b64url(raw.subarray(32, 64)) } })
    }
  }

  /** The receipt signed; unsigned if the key type only signs asynchronously. */
  sign (unsigned: Receipt): Receipt {
    const body = receiptBody(unsigned)
    if (this.edKey != null) return { ...unsigned, signature: new Uint8Array(edSign(null, body, this.edKey)) }
    const sig = this.privateKey.sign(body)
    if (sig instanceof Promise) return unsigned
    return { ...unsigned, signature: sig as Uint8Array<ArrayBuffer> }
  }
}

/** Verifies receipts; public keys (from the submitter's peer ID) are cached per submitter. */
export class ReceiptVerifier {
  private readonly keys = new Map<string, { ed?: KeyObject, key: PublicKey }>()

  /** Is `r` signed by the submitter it names, and is that `submitter`, for the worker `self`? */
  async verify (r: Receipt, submitter: string, self: string): Promise<boolean> {
    if (peerIdFromBytes(r.submitter) !== submitter || peerIdFromBytes(r.worker) !== self) return false
    const k = this.keyOf(submitter, r.submitter)
    const body = receiptBody(r)
    if (k.ed != null) return edVerify(null, body, k.ed, r.signature)
    return await k.key.verify(body, r.signature)
  }

  private keyOf (id: string, multihash: Uint8Array): { ed?: KeyObject, key: PublicKey } {
    let k = this.keys.get(id)
    if (k == null) {
      const key = publicKeyFromMultihash(Digest.decode(multihash) as Parameters<typeof publicKeyFromMultihash>[0])
      const ed = key.type === 'Ed25519' ? createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: b64url(key.raw) } }) : undefined
      k = { ed, key }
      // submitters a worker serves are few; bound it anyway
      if (this.keys.size >= 1024) this.keys.delete(this.keys.keys().next().value as string)
      this.keys.set(id, k)
    }
    return k
  }
}

/** How long receipt lines wait in memory before they are written (ReceiptLog). */
export const RECEIPT_FLUSH_MS = 1000

/**
 * Appends receipt lines to a file through one open stream (not an open/append/close per line),
 * written together at most every `flushMs`. Every write to the stream is a job on libuv's thread
 * pool and a completion back on the event loop: one per acknowledgement was two more wake-ups of a
 * worker per task (at 50 workers on 2 cores, where each wake-up costs the most, they added up).
 * A worker killed without warning loses the lines of its last `flushMs`; the submitter's ledger
 * still has the credits. A clean stop writes everything.
 */
export class ReceiptLog {
  private stream?: WriteStream
  private pending: string[] = []
  private timer?: NodeJS.Timeout

  constructor (private readonly path: string, private readonly onError: (err: Error) => void, private readonly flushMs = RECEIPT_FLUSH_MS) {}

  append (line: string): void {
    this.pending.push(line + '\n')
    if (this.timer == null) {
      this.timer = setTimeout(() => { this.flush() }, this.flushMs)
      this.timer.unref()
    }
  }

  /** Writes the lines appended so far. */
  flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length === 0) return
    const text = this.pending.join('')
    this.pending = []
    if (this.stream == null) {
      const s = createWriteStream(this.path, { flags: 'a' })
      // a failing disk loses receipt lines (counted by the caller), never the node
      s.on('error', (err) => {
        if (this.stream === s) this.stream = undefined
        this.onError(err)
      })
      this.stream = s
    }
    this.stream.write(text)
  }

  async close (): Promise<void> {
    this.flush()
    const s = this.stream
    this.stream = undefined
    if (s != null) await new Promise<void>(resolve => { s.end(resolve) })
  }
}
