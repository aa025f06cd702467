import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { UsageError, parseDuration, splitWords } from '../../src/cli/args.ts'
import { COMMANDS, COMMAND_WORDS, executeCommand } from '../../src/cli/commands.ts'
import { formatDuration, shortId, table } from '../../src/cli/format.ts'
import { toRemoteApi } from '../../src/cli/remote-api.ts'
import { FakeNodeApi, WORKER_ID } from '../utils/fake-node-api.ts'
import type { RemoteNodeApi } from '../../src/cli/remote-api.ts'

const HELLO_SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

async function run (api: RemoteNodeApi, line: string, signal?: AbortSignal): Promise<{ ok: boolean, quit: boolean, text: string }> {
  let text = ''
  const result = await executeCommand(api, line, { write: (s: string) => { text += s } }, signal === undefined ? {} : { signal })
  return { ...result, text }
}

function assertOneLineError (text: string, pattern: RegExp): void {
  assert.match(text, /^error: [^\n]+\n$/)
  assert.match(text, pattern)
  assert.doesNotMatch(text, /\n\s+at /, 'no stack trace')
}

void describe('splitWords', () => {
  const cases: Array<[string, string[]]> = [
    ['task compute hello', ['task', 'compute', 'hello']],
    ['  peers   ', ['peers']],
    ['task echo "hello world"', ['task', 'echo', 'hello world']],
    ["task echo 'a \"b\" c'", ['task', 'echo', 'a "b" c']],
    ['task echo "say \\"hi\\""', ['task', 'echo', 'say "hi"']],
    ['task echo a\\ b', ['task', 'echo', 'a b']],
    ['task echo ""', ['task', 'echo', '']],
    ['--selector "zone=b"', ['--selector', 'zone=b']],
    ['', []]
  ]
  for (const [line, words] of cases) {
    void it(`splits ${JSON.stringify(line)}`, () => { assert.deepEqual(splitWords(line), words) })
  }
  void it('rejects an unterminated quote', () => {
    assert.throws(() => splitWords('task echo "oops'), UsageError)
  })
})

void describe('parseDuration', () => {
  for (const [text, ms] of [['500ms', 500], ['30s', 30_000], ['1.5m', 90_000], ['2h', 7_200_000]] as const) {
    void it(`reads ${text}`, () => { assert.equal(parseDuration(text, '--timeout'), ms) })
  }
  for (const text of ['30', 's', '-1s', '0s', '1d', '']) {
    void it(`rejects ${JSON.stringify(text)} and says how to write it`, () => {
      assert.throws(() => parseDuration(text, '--timeout'), /--timeout must be a duration with a unit, like 500ms, 30s/)
    })
  }
})

void describe('format', () => {
  void it('shortens long ids to first 6 … last 6', () => {
    assert.equal(shortId(WORKER_ID), '12D3Ko…AA1234')
    assert.equal(shortId('task-0001'), 'task-0001')
  })
  void it('formats durations', () => {
    assert.equal(formatDuration(12), '12 ms')
    assert.equal(formatDuration(1234), '1.2 s')
    assert.equal(formatDuration(125_000), '2m 05s')
    assert.equal(formatDuration(2 * 3_600_000 + 600_000), '2h 10m')
  })
  void it('aligns table columns and cuts long cells', () => {
    const text = table(['A', 'LONGER'], [['xxxxx', 'y'], ['z', 'w'.repeat(100)]])
    const lines = text.split('\n')
    assert.equal(lines[0], 'A      LONGER')
    assert.equal(lines[1], 'xxxxx  y')
    assert.equal(lines[2]!.length, 'z      '.length + 48)
    assert.ok(lines[2]!.endsWith('…'))
  })
})

void describe('commands', () => {
  let fake: FakeNodeApi
  let api: RemoteNodeApi
  beforeEach(() => {
    fake = new FakeNodeApi()
    api = toRemoteApi(fake)
  })

  void it('every command has usage, a summary and help for each option', () => {
    for (const [name, cmd] of Object.entries(COMMANDS)) {
      assert.ok(cmd.usage.startsWith(name), name)
      assert.ok(cmd.summary.length > 0)
      for (const option of cmd.optionNames) assert.ok((cmd.optionHelp[option] ?? '').length > 0, `${name} --${option}`)
    }
    assert.deepEqual(COMMAND_WORDS, ['cancel', 'capabilities', 'exit', 'help', 'ledger', 'peers', 'quit', 'status', 'task', 'task-status', 'tasks'])
  })

  void it('help lists every command, and explains one', async () => {
    const all = await run(api, 'help')
    assert.equal(all.ok, true)
    for (const name of Object.keys(COMMANDS)) assert.match(all.text, new RegExp(`^${name}\\b`, 'm'))
    const task = await run(api, 'help task')
    assert.match(task.text, /usage: task <type> <payload>/)
    for (const option of ['--require', '--selector', '--timeout', '--attempts', '--no-wait']) assert.ok(task.text.includes(option), option)
  })

  void it('answers an unknown command with one line and a suggestion', async () => {
    const r = await run(api, 'stauts')
    assert.equal(r.ok, false)
    assertOneLineError(r.text, /unknown command "stauts" \(did you mean status\?\); type help for the list/)
  })

  void it('ignores blank lines and comments', async () => {
    assert.deepEqual(await run(api, '   '), { ok: true, quit: false, text: '' })
    assert.deepEqual(await run(api, '# a comment'), { ok: true, quit: false, text: '' })
  })

  void it('peers prints an aligned table', async () => {
    const r = await run(api, 'peers')
    assert.equal(r.ok, true)
    const lines = r.text.trimEnd().split('\n')
    assert.equal(lines.length, 3)
    const header = lines[0]!
    const columns = ['PEER', 'ROLE', 'ADDRESS', 'RTT', 'HEALTHY', 'CAPABILITIES', 'CREDITS'].map(h => header.indexOf(h))
    assert.ok(columns.every((c, i) => c >= 0 && (i === 0 || c > columns[i - 1]!)), header)
    const worker = lines.find(l => l.includes('worker'))!
    assert.equal(worker.indexOf('worker'), header.indexOf('ROLE'))
    assert.equal(worker.indexOf('/ip4/127.0.0.1/tcp/4002'), header.indexOf('ADDRESS'))
    assert.equal(worker.indexOf('3.2 ms'), header.indexOf('RTT'))
    assert.equal(worker.indexOf('yes'), header.indexOf('HEALTHY'))
    assert.equal(worker.indexOf('compute,echo'), header.indexOf('CAPABILITIES'))
    assert.equal(worker.indexOf('12.50'), header.indexOf('CREDITS'))
    assert.ok(worker.startsWith('12D3Ko…AA1234'))
  })

  void it('peers leaves out the /p2p/<id> tail of an address and counts the other addresses', async () => {
    fake.peerList = [{ ...fake.peerList[1]!, addresses: [`/ip4/10.0.0.1/tcp/4001/p2p/${WORKER_ID}`, '/ip4/10.0.0.2/tcp/4001'] }]
    const r = await run(api, 'peers')
    assert.match(r.text, /12D3Ko…AA1234 +worker +\/ip4\/10\.0\.0\.1\/tcp\/4001 \(\+1\) +3\.2 ms/)
  })

  void it('status prints the node readably', async () => {
    const r = await run(api, 'status')
    assert.equal(r.ok, true)
    assert.match(r.text, /^peer id +12D3KooWSelf/m)
    assert.match(r.text, /^role +bootstrap$/m)
    assert.match(r.text, /^uptime +1m 05s$/m)
    assert.match(r.text, /^peers +2 connected, 2 healthy$/m)
  })

  void it('task submits, waits and prints result, worker, attempts and duration', async () => {
    const r = await run(api, 'task compute hello')
    assert.equal(r.ok, true, r.text)
    assert.match(r.text, /^status +succeeded$/m)
    assert.match(r.text, new RegExp(`^result +${HELLO_SHA256}$`, 'm'))
    assert.match(r.text, /^worker +12D3Ko…AA1234$/m)
    assert.match(r.text, /^attempts +1 of 3$/m)
    assert.match(r.text, /^duration +\d+ ms$/m)
  })

  void it('task passes its options to submit', async () => {
    const r = await run(api, 'task echo "hello world" --require echo,gpu --selector "zone=b" --timeout 30s --attempts 2')
    assert.equal(r.ok, true, r.text)
    assert.deepEqual(fake.submitted[0], { type: 'echo', payload: 'hello world', requires: ['echo', 'gpu'], selector: 'zone=b', timeoutMs: 30_000, maxAttempts: 2 })
    await run(api, 'task echo several words here')
    assert.equal(fake.submitted[1]!.payload, 'several words here')
    await run(api, 'task echo -- --not-an-option')
    assert.equal(fake.submitted[2]!.payload, '--not-an-option')
  })

  void it('a task that does not succeed prints status and error and fails the command', async () => {
    const r = await run(api, 'task fail x')
    assert.equal(r.ok, false)
    assert.match(r.text, /^status +failed$/m)
    assert.match(r.text, /^error +handler exited with code 1: boom$/m)
    const none = await run(api, 'task nosuchtype x')
    assert.equal(none.ok, false)
    assert.match(none.text, /^status +no_capable_worker$/m)
  })

  void it('task --no-wait prints the id at once', async () => {
    const r = await run(api, 'task sleep 5000 --no-wait')
    assert.equal(r.ok, true)
    assert.match(r.text, /^submitted task task-0001 \(queued\)/)
    assert.equal(fake.pendingWaits(), 0)
  })

  void it('aborting stops waiting, not the task', async () => {
    const controller = new AbortController()
    const pending = run(api, 'task sleep 5000', controller.signal)
    while (fake.pendingWaits() === 0) await new Promise(resolve => setImmediate(resolve))
    controller.abort()
    const r = await pending
    assert.equal(r.ok, false)
    assert.match(r.text, /stopped waiting; task task-0001 goes on: "task-status task-0001" shows it, "cancel task-0001" stops it/)
    assert.equal(fake.get('task-0001')?.status, 'running')
    assert.equal(fake.pendingWaits(), 0)
  })

  const usage: Array<[string, RegExp]> = [
    ['task', /give a task type and a payload/],
    ['task compute', /give a task type and a payload/],
    ['task compute x --timeout 30', /--timeout must be a duration with a unit/],
    ['task compute x --attempts many', /--attempts must be a whole number/],
    ['task compute x --bogus', /Unknown option '--bogus'/],
    ['task compute x --timeout', /Option '--timeout <value>' argument missing/],
    ['task echo "unterminated', /missing closing " quote/],
    ['peers extra', /unexpected argument "extra"/],
    ['tasks --status done', /--status must be one of queued, running/],
    ['task-status', /give a task id/],
    ['cancel a b', /unexpected argument "b"/],
    ['help nope', /unknown command "nope"/]
  ]
  for (const [line, pattern] of usage) {
    void it(`"${line}" is a usage error`, async () => {
      const r = await run(api, line)
      assert.equal(r.ok, false)
      assertOneLineError(r.text, pattern)
      assert.equal(fake.submitted.length, 0)
    })
  }

  void it('usage errors are one line that points at the help', async () => {
    const r = await run(api, 'task compute')
    assert.equal(r.text, 'error: give a task type and a payload, e.g. task compute hello (use "" for an empty payload); "help task" shows the usage\n')
  })

  void it('tasks lists the tasks in a table', async () => {
    assert.equal((await run(api, 'tasks')).text, 'no tasks\n')
    await run(api, 'task compute hello')
    await run(api, 'task fail x')
    const r = await run(api, 'tasks')
    const lines = r.text.trimEnd().split('\n')
    assert.match(lines[0]!, /^ID +TYPE +STATUS +ATTEMPTS +WORKER +DURATION +SUBMITTED$/)
    assert.match(lines[1]!, /^task-0002 +fail +failed +1\/3 +12D3Ko…AA1234/)
    const failed = await run(api, 'tasks --status succeeded --limit 5')
    assert.equal(failed.text.trimEnd().split('\n').length, 2)
  })

  void it('task-status shows one task, or says it is unknown', async () => {
    await run(api, 'task compute hello')
    const r = await run(api, 'task-status task-0001')
    assert.equal(r.ok, true)
    assert.match(r.text, /^task +task-0001$/m)
    assert.match(r.text, new RegExp(`^worker +${WORKER_ID}$`, 'm'))
    assert.match(r.text, /^ATTEMPT +WORKER/m)
    const missing = await run(api, 'task-status nope')
    assert.equal(missing.ok, false)
    assertOneLineError(missing.text, /no task with id "nope"; "tasks" lists the known ones/)
  })

  void it('cancel ends a running task; an ended or unknown one is reported', async () => {
    await run(api, 'task sleep 5000 --no-wait')
    await new Promise(resolve => setImmediate(resolve))
    const r = await run(api, 'cancel task-0001')
    assert.equal(r.ok, true)
    assert.equal(r.text, 'task task-0001: cancelled\n')
    assert.equal((await run(api, 'cancel task-0001')).text, 'task task-0001 already ended: cancelled\n')
    assert.equal((await run(api, 'cancel nope')).ok, false)
  })

  void it('capabilities prints a table of workers', async () => {
    const r = await run(api, 'capabilities')
    assert.match(r.text, /^PEER +ROLE +CAPABILITIES +TASK TYPES/)
    assert.match(r.text, /12D3Ko…AA1234 +worker +compute,echo +compute,echo,fail,sleep +zone=a +4\/4/)
  })

  void it('ledger prints credits per worker', async () => {
    const r = await run(api, 'ledger')
    assert.match(r.text, /^WORKER +CREDITS +COMPLETED +FAILED +MEAN LATENCY +REPUTATION$/m)
    assert.match(r.text, /^12D3Ko…AA1234 +12\.50 +5 +1 +20 ms +0\.90$/m)
  })

  void it('quit and exit end the REPL', async () => {
    assert.deepEqual(await run(api, 'quit'), { ok: true, quit: true, text: '' })
    assert.deepEqual(await run(api, 'exit'), { ok: true, quit: true, text: '' })
  })

  void it('an error from the node is one line', async () => {
    fake.failNext = { method: 'peers', error: new Error('the node is stopping') }
    const r = await run(api, 'peers')
    assert.equal(r.ok, false)
    assert.equal(r.text, 'error: the node is stopping\n')
  })
})
