/** `p2p-node keygen --out FILE [--swarm-key]`: identity keys for Secrets, and private-network keys. */
import { existsSync } from 'node:fs'
import { generateIdentity, peerIdOf, writeIdentity } from '../network/identity.ts'
import { writeSwarmKey } from '../network/pnet.ts'

export async function keygen (args: { out?: string, swarmKey: boolean, force: boolean }, out: NodeJS.WritableStream): Promise<number> {
  if (args.out == null) {
    process.stderr.write('usage: p2p-node keygen --out FILE [--swarm-key] [--force]\n')
    return 2
  }
  if (existsSync(args.out) && !args.force) {
    process.stderr.write(`error: ${args.out} exists; pass --force to replace it (the node's peer ID would change)\n`)
    return 1
  }
  if (args.swarmKey) {
    await writeSwarmKey(args.out)
    out.write(`wrote a private-network key to ${args.out}\n`)
    return 0
  }
  const key = await generateIdentity()
  await writeIdentity(args.out, key)
  out.write(`${peerIdOf(key)}\n`)
  return 0
}
