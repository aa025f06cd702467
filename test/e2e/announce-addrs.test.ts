/**
 * A relay listening on 0.0.0.0 must not hand out its loopback address: neither in its own
 * addresses nor inside the circuit addresses of the workers that reserve on it, which those workers
 * advertise to remote peers (docs/reliability.md, known issue 4 before the fix). Needs a
 * non-loopback address, so it runs in a network namespace it creates (root; skipped otherwise),
 * with a veth pair that leads nowhere, and removes it afterwards.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const NS = `p2pann-${process.pid}`
const HOST = '10.254.77.1'
const canNetns = process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0

describe('announced addresses (network namespace)', { skip: canNetns ? false : 'needs root and iproute2', timeout: 120_000 }, () => {
  before(() => {
    const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'pipe' }) }
    ip('netns', 'add', NS)
    ip('-n', NS, 'link', 'set', 'lo', 'up')
    ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    ip('-n', NS, 'addr', 'add', `${HOST}/24`, 'dev', 'v0')
    ip('-n', NS, 'link', 'set', 'v0', 'up')
    ip('-n', NS, 'link', 'set', 'v1', 'up')
  })
  after(() => { spawnSync('ip', ['netns', 'del', NS]) })

  it('a relay on 0.0.0.0 and the circuits through it carry no loopback address', () => {
    const probe = fileURLToPath(new URL('../utils/announce-probe.ts', import.meta.url))
    const run = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', probe, HOST], { encoding: 'utf8', timeout: 90_000 })
    const line = run.stdout.split('\n').find(l => l.startsWith('{'))
    assert.ok(line != null, `probe failed (${run.status}): ${run.stderr.slice(-2000)}`)
    const out = JSON.parse(line) as { relay: string[], worker: string[], advertised: string[] }
    assert.ok(out.relay.some(a => a.startsWith(`/ip4/${HOST}/`)), JSON.stringify(out.relay))
    assert.deepEqual(out.relay.filter(a => a.startsWith('/ip4/127.')), [])
    const circuits = out.advertised.filter(a => a.includes('/p2p-circuit'))
    assert.ok(circuits.length > 0, `the worker's advertisement has a circuit address: ${JSON.stringify(out.advertised)}`)
    assert.deepEqual(circuits.filter(a => a.startsWith('/ip4/127.')), [])
    assert.deepEqual(out.worker.filter(a => a.startsWith('/ip4/127.')), [])
  })
})
