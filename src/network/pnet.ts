/**
 * libp2p private networks: a pre-shared swarm key (the go-ipfs v1 format) keeps out every node
 * that lacks it, before any libp2p protocol runs.
 */
import { readFile, writeFile } from 'node:fs/promises'

export class SwarmKeyError extends Error {
  readonly code = 'ERR_SWARM_KEY'
  constructor (readonly file: string, message: string) {
    super(`${file}: ${message}`)
    this.name = 'SwarmKeyError'
  }
}

const HEADER = '/key/swarm/psk/1.0.0/'

export async function readSwarmKey (file: string): Promise<Uint8Array> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new SwarmKeyError(file, `cannot read the private-network key: ${(err as Error).message}`)
  }
  const lines = text.trim().split(/\r?\n/)
  if (lines.length !== 3 || lines[0] !== HEADER || lines[1] !== '/base16/' || !/^[0-9a-fA-F]{64}$/.test(lines[2] ?? '')) {
    throw new SwarmKeyError(file, `expected a swarm key: "${HEADER}", "/base16/" and 64 hex digits on three lines (write one with "p2p-node keygen --swarm-key --out FILE")`)
  }
  return new TextEncoder().encode(lines.join('\n'))
}

export async function newSwarmKey (): Promise<Uint8Array> {
  // loaded only here: @libp2p/pnet sets up its cipher's WebAssembly when imported, which every
  // node paid at start-up for a key only `keygen` writes (the transport loads it when a key is set)
  const { generateKey } = await import('@libp2p/pnet')
  const key = new Uint8Array(95)
  generateKey(key)
  return key
}

export async function writeSwarmKey (file: string): Promise<void> {
  await writeFile(file, await newSwarmKey(), { mode: 0o600 })
}
