import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createHttpNodeApi } from '../../src/cli/http-client.ts'
import { EXIT, runOneShot } from '../../src/cli/oneshot.ts'
import { toRemoteApi } from '../../src/cli/remote-api.ts'
import { FakeNodeApi } from '../utils/fake-node-api.ts'

const HELLO_SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

async function oneShot (argv: string[], fake = new FakeNodeApi()): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await runOneShot(argv, toRemoteApi(fake), { write: (s: string) => { out += s } }, { write: (s: string) => { err += s } })
  return { code, out, err }
}

void describe('one-shot commands', () => {
  void it('peers --json prints the peers as JSON', async () => {
    const fake = new FakeNodeApi()
    const r = await oneShot(['peers', '--json'], fake)
    assert.equal(r.code, EXIT.ok)
    assert.deepEqual(JSON.parse(r.out), fake.peers())
    assert.equal(r.err, '')
  })

  void it('status, capabilities and tasks answer JSON too', async () => {
    const fake = new FakeNodeApi()
    assert.equal(JSON.parse((await oneShot(['--json', 'status'], fake)).out).role, 'bootstrap')
    assert.equal(JSON.parse((await oneShot(['capabilities', '--json'], fake)).out)[0].slots, 4)
    assert.deepEqual(JSON.parse((await oneShot(['tasks', '--json'], fake)).out), [])
    assert.deepEqual(JSON.parse((await oneShot(['ledger', '--json'], fake)).out), fake.ledger())
  })

  void it('task waits and prints the final task; exit 0 only when it succeeded', async () => {
    const ok = await oneShot(['task', 'compute', 'hello', '--json'])
    assert.equal(ok.code, EXIT.ok)
    const task = JSON.parse(ok.out)
    assert.equal(task.status, 'succeeded')
    assert.equal(task.result, HELLO_SHA256)

    const human = await oneShot(['task', 'compute', 'hello'])
    assert.equal(human.code, EXIT.ok)
    assert.match(human.out, new RegExp(`^result +${HELLO_SHA256}$`, 'm'))

    const failed = await oneShot(['task', 'fail', 'x', '--json'])
    assert.equal(failed.code, EXIT.failed)
    assert.equal(JSON.parse(failed.out).status, 'failed')
  })

  void it('--json after -- is payload, not a flag', async () => {
    const fake = new FakeNodeApi()
    const r = await oneShot(['task', 'echo', '--', '--json'], fake)
    assert.equal(r.code, EXIT.ok)
    assert.match(r.out, /^result +--json$/m)
  })

  void it('task-status and cancel of an unknown id exit 1', async () => {
    const missing = await oneShot(['task-status', 'nope', '--json'])
    assert.equal(missing.code, EXIT.failed)
    assert.deepEqual(JSON.parse(missing.out), { error: { code: 'not_found', message: 'no task with id "nope"; "tasks" lists the known ones' } })
    const human = await oneShot(['cancel', 'nope'])
    assert.equal(human.code, EXIT.failed)
    assert.equal(human.out, '')
    assert.match(human.err, /^error: no task with id "nope"/)
  })

  const usage: string[][] = [[], ['bogus'], ['task'], ['task', 'compute'], ['quit'], ['peers', '--bogus'], ['tasks', '--limit', '0']]
  for (const argv of usage) {
    void it(`${JSON.stringify(argv)} is a usage error: exit 2`, async () => {
      const r = await oneShot(argv)
      assert.equal(r.code, EXIT.usage)
      assert.equal(r.out, '')
      assert.notEqual(r.err, '')
      const json = await oneShot([...argv, '--json'])
      assert.equal(json.code, EXIT.usage)
      assert.equal(JSON.parse(json.out).error.code, 'usage')
    })
  }

  void it('a usage error shows the usage line on stderr', async () => {
    const r = await oneShot(['task', 'compute'])
    assert.match(r.err, /^error: give a task type and a payload[^\n]*\nusage: p2p-node task <type> <payload> \[--require a,b\]/)
  })

  void it('an unreachable node exits 1 with a message that says what to do', async () => {
    let out = ''
    const code = await runOneShot(['status', '--json'], createHttpNodeApi('http://127.0.0.1:1'), { write: (s: string) => { out += s } })
    assert.equal(code, EXIT.failed)
    const { error } = JSON.parse(out)
    assert.equal(error.code, 'unreachable')
    assert.match(String(error.message), /is the node running/)
  })
})
