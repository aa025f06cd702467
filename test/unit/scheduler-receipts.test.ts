/**
 * Receipts signed with cached Node key objects must be the signatures libp2p keys make and check,
 * and a receipt covering several tasks must fail verification when any entry is altered.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Receipt } from '../../src/protocol/codec.ts'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ReceiptLog, ReceiptSigner, ReceiptVerifier, receiptBody } from '../../src/scheduler/receipts.ts'

describe('receipts', async () => {
  const submitterKey = await generateKeyPair('Ed25519')
  const submitter = peerIdFromPrivateKey(submitterKey)
  const worker = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const signer = new ReceiptSigner(submitterKey)
  const base = (extra: Partial<Receipt> = {}): Receipt => ({
    id: 'task-1',
    attempt: 1,
    worker: worker.toMultihash().bytes,
    submitter: submitter.toMultihash().bytes,
    credits: 0.25,
    durationMs: 250,
    timestamp: 1700000000000n,
    signature: new Uint8Array(),
    entries: [],
    ...extra
  })

  it('signs exactly what the libp2p key signs, and the libp2p public key accepts it', async () => {
    const signed = signer.sign(base())
    assert.deepEqual(signed.signature, Uint8Array.from(await submitterKey.sign(receiptBody(signed))))
    assert.equal(await submitterKey.publicKey.verify(receiptBody(signed), signed.signature), true)
  })

  it('verifies single and batch receipts from the named submitter to this worker', async () => {
    const v = new ReceiptVerifier()
    const single = signer.sign(base())
    const batch = signer.sign(base({ id: '', attempt: 0, credits: 1, entries: [{ id: 'a', attempt: 1, credits: 0.5, durationMs: 5 }, { id: 'b', attempt: 2, credits: 0.5, durationMs: 7 }] }))
    assert.equal(await v.verify(single, submitter.toString(), worker.toString()), true)
    assert.equal(await v.verify(batch, submitter.toString(), worker.toString()), true)
    // twice: the cached key gives the same answer
    assert.equal(await v.verify(batch, submitter.toString(), worker.toString()), true)
  })

  it('rejects an altered entry, another worker, another submitter and a foreign signature', async () => {
    const v = new ReceiptVerifier()
    const batch = signer.sign(base({ id: '', attempt: 0, entries: [{ id: 'a', attempt: 1, credits: 0.5, durationMs: 5 }] }))
    const inflated = { ...batch, entries: [{ id: 'a', attempt: 1, credits: 50, durationMs: 5 }] }
    assert.equal(await v.verify(inflated, submitter.toString(), worker.toString()), false)
    assert.equal(await v.verify(batch, submitter.toString(), other.toString()), false)
    assert.equal(await v.verify(batch, other.toString(), worker.toString()), false)
    const forged = new ReceiptSigner(await generateKeyPair('Ed25519')).sign(base())
    assert.equal(await v.verify(forged, submitter.toString(), worker.toString()), false)
  })

  it('writes receipt lines together after the flush interval, and everything on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-receipts-'))
    const file = join(dir, 'receipts.jsonl')
    const read = async (): Promise<string> => await readFile(file, 'utf8').catch(() => '')
    try {
      const log = new ReceiptLog(file, (err) => { throw err }, 150)
      log.append('{"n":1}')
      log.append('{"n":2}')
      await new Promise(resolve => setTimeout(resolve, 30))
      assert.equal(await read(), '', 'lines wait for the flush interval')
      await new Promise(resolve => setTimeout(resolve, 400))
      assert.equal(await read(), '{"n":1}\n{"n":2}\n')
      log.append('{"n":3}')
      await log.close()
      assert.equal(await read(), '{"n":1}\n{"n":2}\n{"n":3}\n')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
