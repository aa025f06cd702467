import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { complete, completionSource } from '../../src/cli/completion.ts'
import { runRepl } from '../../src/cli/repl.ts'
import { toRemoteApi } from '../../src/cli/remote-api.ts'
import { FakeNodeApi } from '../utils/fake-node-api.ts'
import type { CompletionSource } from '../../src/cli/completion.ts'

const HELLO_SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

function collect (stream: PassThrough): () => string {
  let text = ''
  stream.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
  return () => text
}

async function piped (fake: FakeNodeApi, script: string): Promise<{ ok: boolean, text: string }> {
  const input = new PassThrough()
  const output = new PassThrough()
  const text = collect(output)
  input.end(script)
  const result = await runRepl(toRemoteApi(fake), { input, output, interactive: false })
  return { ok: result.ok, text: text() }
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')

void describe('REPL, piped', () => {
  void it('runs every line in order and resolves ok when all succeed', async () => {
    const { ok, text } = await piped(new FakeNodeApi(), 'peers\nstatus\n\n# comment\ntask compute hello\n')
    assert.equal(ok, true)
    const peers = text.indexOf('PEER')
    const status = text.indexOf('peer id')
    const result = text.indexOf(HELLO_SHA256)
    assert.ok(peers >= 0 && status > peers && result > status, text)
    assert.doesNotMatch(text, /p2p> /, 'no prompt when piped')
  })

  void it('goes on after a failed command and resolves not ok', async () => {
    const { ok, text } = await piped(new FakeNodeApi(), 'bogus\ntask fail x\ntask echo still-here\n')
    assert.equal(ok, false)
    assert.match(text, /error: unknown command "bogus"/)
    assert.match(text, /^status +failed$/m)
    assert.match(text, /^result +still-here$/m)
  })

  void it('handles a last line without a newline, and CRLF', async () => {
    const { ok, text } = await piped(new FakeNodeApi(), 'task echo one\r\ntask echo two')
    assert.equal(ok, true)
    assert.match(text, /^result +one$/m)
    assert.match(text, /^result +two$/m)
  })

  void it('stops at quit', async () => {
    const fake = new FakeNodeApi()
    const { ok, text } = await piped(fake, 'task echo a\nquit\ntask echo b\n')
    assert.equal(ok, true)
    assert.equal(fake.submitted.length, 1)
    assert.doesNotMatch(text, /result +b/)
  })

  void it('ends when its signal aborts, also while a task is waited for', async () => {
    const fake = new FakeNodeApi()
    const input = new PassThrough()
    const output = new PassThrough()
    const controller = new AbortController()
    input.write('task sleep 100000\n')
    const done = runRepl(toRemoteApi(fake), { input, output, interactive: false, signal: controller.signal })
    while (fake.pendingWaits() === 0) await new Promise(resolve => setImmediate(resolve))
    controller.abort()
    assert.deepEqual(await done, { ok: false })
    assert.equal(fake.pendingWaits(), 0)
    input.end()
  })
})

void describe('REPL, interactive', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'repl-test-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  void it('prompts, completes with Tab, keeps history in the file', async () => {
    const historyFile = join(dir, 'sub', 'history')
    const input = new PassThrough()
    const output = new PassThrough()
    const text = collect(output)
    const done = runRepl(toRemoteApi(new FakeNodeApi()), { input, output, interactive: true, historyFile })
    const until = async (pattern: RegExp): Promise<void> => {
      const end = Date.now() + 3000
      while (!pattern.test(stripAnsi(text()))) {
        if (Date.now() > end) throw new Error(`no ${pattern} in ${JSON.stringify(stripAnsi(text()))}`)
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }
    await until(/Type "help" for commands[^]*p2p> $/)
    input.write('stat')
    input.write('\t')
    await until(/p2p> status $/)
    input.write('\r')
    await until(/^role +bootstrap$/m)
    input.write('task co\t')
    await until(/p2p> task compute $/)
    input.write('hello\r')
    await until(new RegExp(HELLO_SHA256))
    input.write('quit\r')
    assert.deepEqual(await done, { ok: true })
    assert.equal(await readFile(historyFile, 'utf8'), 'status\ntask compute hello\nquit\n')
  })

  void it('loads history from the file, and Ctrl-C twice on an empty line leaves', async () => {
    const historyFile = join(dir, 'history2')
    await writeFile(historyFile, 'peers\ntask echo from-history\n')
    const input = new PassThrough()
    const output = new PassThrough()
    const text = collect(output)
    const fake = new FakeNodeApi()
    const done = runRepl(toRemoteApi(fake), { input, output, interactive: true, historyFile, prompt: '> ' })
    const until = async (pattern: RegExp): Promise<void> => {
      const end = Date.now() + 3000
      while (!pattern.test(stripAnsi(text()))) {
        if (Date.now() > end) throw new Error(`no ${pattern} in ${JSON.stringify(stripAnsi(text()))}`)
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }
    await until(/> $/)
    input.write('\x1b[A\r') // arrow up: the newest history entry
    await until(/^result +from-history$/m)
    input.write('\x03')
    await until(/press Ctrl-C again/)
    input.write('\x03')
    assert.deepEqual(await done, { ok: true })
  })
})

void describe('completion', () => {
  const source: CompletionSource = {
    taskTypes: async () => ['compute', 'echo', 'sleep'],
    taskIds: async () => ['task-0001', 'task-0002', 'other-9']
  }
  const cases: Array<[string, string[], string]> = [
    ['', ['cancel', 'capabilities', 'exit', 'help', 'ledger', 'peers', 'quit', 'status', 'task', 'task-status', 'tasks'], ''],
    ['ta', ['task', 'task-status', 'tasks'], 'ta'],
    ['sta', ['status '], 'sta'],
    ['q', ['quit '], 'q'],
    ['zzz', [], 'zzz'],
    ['task ', ['compute', 'echo', 'sleep'], ''],
    ['task co', ['compute '], 'co'],
    ['task compute ', [], ''],
    ['task --ti', ['--timeout '], '--ti'],
    ['task --', ['--require', '--selector', '--timeout', '--attempts', '--no-wait'], '--'],
    ['task --timeout 3', [], '3'],
    ['task --timeout 30s e', ['echo '], 'e'],
    ['task-status task-', ['task-0001', 'task-0002'], 'task-'],
    ['cancel o', ['other-9 '], 'o'],
    ['help ta', ['task', 'tasks', 'task-status'], 'ta'],
    ['peers x', [], 'x'],
    ['nope x', [], 'x']
  ]
  for (const [line, hits, replaced] of cases) {
    void it(`completes ${JSON.stringify(line)}`, async () => {
      assert.deepEqual(await complete(line, source), [hits, replaced])
    })
  }

  void it('completes nothing when the node does not answer', async () => {
    const failing: CompletionSource = { taskTypes: async () => { throw new Error('down') }, taskIds: async () => { throw new Error('down') } }
    assert.deepEqual(await complete('task c', failing), [[], 'c'])
  })

  void it('takes task types from capabilities() and ids from list()', async () => {
    const fake = new FakeNodeApi()
    await fake.submit({ type: 'echo', payload: 'x' })
    const real = completionSource(toRemoteApi(fake))
    assert.deepEqual(await real.taskTypes(), ['compute', 'echo', 'fail', 'sleep'])
    assert.deepEqual(await real.taskIds(), ['task-0001'])
  })
})
