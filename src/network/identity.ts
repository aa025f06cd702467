/**
 * Node identity: an Ed25519 key kept in a file, so the peer ID survives restarts. The file holds the
 * libp2p protobuf encoding of the private key (the same format `p2p-node keygen` writes and a
 * Kubernetes Secret mounts).
 */
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'

export class IdentityError extends Error {
  readonly code = 'ERR_IDENTITY'
  constructor (readonly file: string, message: string) {
    super(`${file}: ${message}`)
    this.name = 'IdentityError'
  }
}

export function defaultIdentityFile (dataDir: string): string {
  return join(dataDir, 'identity.key')
}

export async function writeIdentity (file: string, key: PrivateKey): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(tmp, file)
}

export async function generateIdentity (): Promise<PrivateKey> {
  return generateKeyPair('Ed25519')
}

/**
 * Reads the key from `file`; when `create` is set and the file does not exist, makes a new key
 * there. A key file given explicitly (a Secret mount) must exist: a missing Secret is an error, not
 * a reason to invent a new identity.
 */
export async function loadIdentity (file: string, create: boolean): Promise<PrivateKey> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && create) {
      const key = await generateIdentity()
      await writeIdentity(file, key)
      return key
    }
    throw new IdentityError(file, `cannot read the identity key: ${(err as Error).message}`)
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new IdentityError(file, `not a libp2p private key (write one with "p2p-node keygen --out ${file}"): ${(err as Error).message}`)
  }
}

export function peerIdOf (key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString()
}
