import assert from 'node:assert/strict'
import { setMaxListeners } from 'node:events'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import type { HandlerSpec } from '../../src/config/types.ts'
import { Executor, ExecutorChangeEvent, EXECUTOR_CHANGE_EVENT, STDERR_TAIL_BYTES } from '../../src/executor/index.ts'
import type { ExecutionFailureCode, ExecutionResult, ExecutorInit, SlotLease, SpawnInfo } from '../../src/executor/index.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const bytes = (text: string): Uint8Array => encoder.encode(text)

/** long enough that only a broken implementation, never a slow machine, hits it */
const GENEROUS_TIMEOUT_MS = 30_000

const BUILTINS: Record<string, HandlerSpec> = {
  echo: { builtin: 'echo' },
  sha256: { builtin: 'sha256' },
  sleep: { builtin: 'sleep' },
  fail: { builtin: 'fail' }
}

function command (argv: string[], extra: Partial<Extract<HandlerSpec, { command: string[] }>> = {}): HandlerSpec {
  return { command: argv, maxOutputBytes: 1024 * 1024, ...extra }
}

function executor (init: Partial<ExecutorInit> = {}): Executor {
  return new Executor({ handlers: BUILTINS, slots: 4, defaultTimeoutMs: GENEROUS_TIMEOUT_MS, ...init })
}

function assertOk (result: ExecutionResult): string {
  assert.ok(result.ok, `expected success, got ${JSON.stringify(result)}`)
  return decoder.decode(result.output)
}

function assertFailure (result: ExecutionResult, code: ExecutionFailureCode): string {
  assert.ok(!result.ok, `expected failure ${code}, got success "${result.ok ? decoder.decode(result.output) : ''}"`)
  assert.equal(result.code, code, `expected ${code}, got ${result.code}: ${result.error}`)
  return result.error
}

/** live (non-zombie) members of a process group; zombies are dead, just not yet reaped by init */
async function liveMembers (pgid: number): Promise<number[]> {
  try {
    process.kill(-pgid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return []
    throw err
  }
  const live: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain anything, so split after its last ')'
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(pgrp) === pgid && state !== 'Z') live.push(Number(entry))
  }
  return live
}

/** SIGKILL is asynchronous from our side: the group may take a moment to disappear */
async function assertGroupGone (pgid: number): Promise<void> {
  const deadline = Date.now() + GENEROUS_TIMEOUT_MS
  let live = await liveMembers(pgid)
  while (live.length > 0 && Date.now() < deadline) {
    await delay(20)
    live = await liveMembers(pgid)
  }
  assert.deepEqual(live, [], `process group ${pgid} still has live members`)
}

/** waits for a free slot the way the worker does: on the change event, not by polling */
function acquire (executor: Executor): Promise<SlotLease> {
  return new Promise((resolve) => {
    const attempt = (): void => {
      const lease = executor.tryAcquire()
      if (lease === undefined) return
      executor.removeEventListener(EXECUTOR_CHANGE_EVENT, attempt)
      resolve(lease)
    }
    executor.addEventListener(EXECUTOR_CHANGE_EVENT, attempt)
    attempt()
  })
}

void describe('executor builtins', () => {
  const cases: Array<{ name: string, type: string, payload: string, timeoutMs?: number, expect: { output: string } | { code: ExecutionFailureCode, error?: RegExp } }> = [
    { name: 'echo returns the payload', type: 'echo', payload: 'hello, world', expect: { output: 'hello, world' } },
    { name: 'echo of nothing is nothing', type: 'echo', payload: '', expect: { output: '' } },
    { name: 'sha256 hex digest', type: 'sha256', payload: 'hello', expect: { output: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' } },
    { name: 'sha256 of nothing', type: 'sha256', payload: '', expect: { output: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' } },
    { name: 'sleep reports what it slept', type: 'sleep', payload: '10', expect: { output: 'slept 10ms' } },
    { name: 'sleep tolerates surrounding whitespace', type: 'sleep', payload: ' 0\n', expect: { output: 'slept 0ms' } },
    { name: 'sleep rejects text', type: 'sleep', payload: 'soon', expect: { code: 'handler_error', error: /whole number of milliseconds.*"soon"/ } },
    { name: 'sleep rejects negatives', type: 'sleep', payload: '-5', expect: { code: 'handler_error' } },
    { name: 'sleep rejects fractions', type: 'sleep', payload: '1.5', expect: { code: 'handler_error' } },
    { name: 'sleep rejects an empty payload', type: 'sleep', payload: '', expect: { code: 'handler_error' } },
    { name: 'sleep rejects more than a timer can hold', type: 'sleep', payload: '9999999999', expect: { code: 'handler_error' } },
    { name: 'sleep honours the timeout', type: 'sleep', payload: '5000', timeoutMs: 100, expect: { code: 'timeout', error: /100ms/ } },
    { name: 'fail fails with the payload', type: 'fail', payload: 'boom', expect: { code: 'handler_error', error: /^boom$/ } },
    { name: 'fail without a payload still explains itself', type: 'fail', payload: '', expect: { code: 'handler_error', error: /failed/ } },
    { name: 'unknown type', type: 'nope', payload: 'x', expect: { code: 'unknown_type', error: /"nope"/ } }
  ]

  for (const c of cases) {
    void it(c.name, async () => {
      const result = await executor().run(c.type, bytes(c.payload), { timeoutMs: c.timeoutMs })
      if ('output' in c.expect) {
        assert.equal(assertOk(result), c.expect.output)
      } else {
        const error = assertFailure(result, c.expect.code)
        if (c.expect.error !== undefined) assert.match(error, c.expect.error)
      }
      assert.ok(result.durationMs >= 0)
    })
  }

  void it('echo output is a plain Uint8Array', async () => {
    const result = await executor().run('echo', new Uint8Array([0, 1, 255]))
    assert.ok(result.ok)
    assert.deepEqual(result.output, new Uint8Array([0, 1, 255]))
  })
})

void describe('executor timeouts and cancellation', () => {
  void it('prefers the run timeout, then the handler timeout, then the default', async () => {
    const handlers = { ...BUILTINS, slow: command(['/bin/sleep', '30'], { timeoutMs: 100 }) }
    assert.match(assertFailure(await executor({ handlers, defaultTimeoutMs: 150 }).run('sleep', bytes('30000')), 'timeout'), /150ms/)
    assert.match(assertFailure(await executor({ handlers }).run('slow', bytes('')), 'timeout'), /100ms/)
    assert.match(assertFailure(await executor({ handlers }).run('slow', bytes(''), { timeoutMs: 120 }), 'timeout'), /120ms/)
  })

  void it('cancels when the caller aborts', async () => {
    const controller = new AbortController()
    const running = executor().run('sleep', bytes('30000'), { signal: controller.signal })
    controller.abort(new Error('task withdrawn'))
    assert.match(assertFailure(await running, 'cancelled'), /task withdrawn/)
  })

  void it('cancels at once when the signal is already aborted', async () => {
    const result = await executor().run('sleep', bytes('30000'), { signal: AbortSignal.abort() })
    assertFailure(result, 'cancelled')
  })

  void it('abortAll cancels every in-flight run', async () => {
    const ex = executor()
    const runs = [ex.run('sleep', bytes('30000')), ex.run('sleep', bytes('30000')), ex.run('echo', bytes('done'))]
    ex.abortAll('shutting down')
    const [first, second, third] = await Promise.all(runs)
    assert.match(assertFailure(first!, 'cancelled'), /shutting down/)
    assertFailure(second!, 'cancelled')
    // echo had produced its output but not yet been reported when the abort came: either outcome is fine
    assert.ok(third!.ok || third!.code === 'cancelled')
  })
})

void describe('executor command handler', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'executor-test-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  void it('returns stdout, having written the payload to stdin', async () => {
    const ex = executor({ handlers: { cat: command(['/bin/cat']) } })
    assert.equal(assertOk(await ex.run('cat', bytes('payload through stdin'))), 'payload through stdin')
  })

  void it('passes argv without a shell', async () => {
    const ex = executor({ handlers: { echo: command(['/bin/echo', '$HOME', '; rm -rf /', '`id`']) } })
    assert.equal(assertOk(await ex.run('echo', bytes(''))), '$HOME ; rm -rf / `id`\n')
  })

  void it('adds env to the environment and runs in cwd', async () => {
    const ex = executor({ handlers: { env: command(['/bin/sh', '-c', 'printf "%s %s " "$GREETING" "${PATH:+has-path}"; pwd'], { env: { GREETING: 'hi' }, cwd: dir }) } })
    assert.equal(assertOk(await ex.run('env', bytes(''))), `hi has-path ${dir}\n`)
  })

  void it('fails on a non-zero exit with the code and the stderr tail', async () => {
    const ex = executor({ handlers: { boom: command(['/bin/sh', '-c', 'echo partial; echo boom >&2; exit 3']) } })
    const error = assertFailure(await ex.run('boom', bytes('')), 'handler_error')
    assert.match(error, /code 3/)
    assert.match(error, /boom/)
  })

  void it('keeps only the tail of a long stderr', async () => {
    // ~20 KiB of stderr, then a marker the tail must contain
    const script = 'i=0; while [ $i -lt 400 ]; do echo "noise line $i ........................................" >&2; i=$((i+1)); done; echo THE-END >&2; exit 1'
    const ex = executor({ handlers: { noisy: command(['/bin/sh', '-c', script]) } })
    const error = assertFailure(await ex.run('noisy', bytes('')), 'handler_error')
    assert.match(error, /THE-END$/)
    assert.doesNotMatch(error, /noise line 0 /)
    assert.ok(error.length <= STDERR_TAIL_BYTES + 200, `error is ${error.length} chars`)
  })

  void it('reports a process killed by a signal', async () => {
    const ex = executor({ handlers: { seppuku: command(['/bin/sh', '-c', 'kill -TERM $$']) } })
    assert.match(assertFailure(await ex.run('seppuku', bytes('')), 'handler_error'), /SIGTERM/)
  })

  const spawnFailures: Array<{ name: string, spec: HandlerSpec, error: RegExp }> = [
    { name: 'a missing command', spec: command(['/nonexistent/definitely-not-here']), error: /command not found/ },
    { name: 'a missing command on PATH', spec: command(['definitely-not-a-command-xyz']), error: /command not found/ },
    { name: 'a missing working directory', spec: command(['/bin/cat'], { cwd: '/nonexistent/dir' }), error: /working directory/ },
    { name: 'an empty command', spec: command([]), error: /empty command/ },
    { name: 'a NUL byte in argv', spec: command(['/bin/echo', 'a\0b']), error: /cannot start/ }
  ]
  for (const c of spawnFailures) {
    void it(`fails cleanly on ${c.name}`, async () => {
      const ex = executor({ handlers: { broken: c.spec } })
      assert.match(assertFailure(await ex.run('broken', bytes('some payload')), 'handler_error'), c.error)
    })
  }

  void it('fails cleanly on a non-executable file', async () => {
    const file = join(dir, 'not-executable')
    await writeFile(file, '#!/bin/sh\necho should not run\n', { mode: 0o644 })
    const ex = executor({ handlers: { broken: command([file]) } })
    assert.match(assertFailure(await ex.run('broken', bytes('')), 'handler_error'), /permission denied/)
  })

  void it('survives a command that exits without reading stdin (EPIPE)', async () => {
    const ex = executor({ handlers: { quick: command(['/bin/sh', '-c', 'exit 0']) } })
    const big = new Uint8Array(4 * 1024 * 1024).fill(0x61)
    for (let i = 0; i < 5; i++) assert.equal(assertOk(await ex.run('quick', big)), '')
  })

  void it('fails with output_too_large when stdout exceeds the cap, and kills the group', async () => {
    const pids: number[] = []
    const ex = executor({
      handlers: { chatty: command(['/bin/sh', '-c', 'sleep 30 & while :; do echo yes yes yes yes yes; done'], { maxOutputBytes: 1000 }) },
      onSpawn: ({ pid }) => { pids.push(pid) }
    })
    assert.match(assertFailure(await ex.run('chatty', bytes('')), 'output_too_large'), /1000 bytes/)
    assert.equal(pids.length, 1)
    await assertGroupGone(pids[0]!)
  })

  void it('accepts output of exactly the cap', async () => {
    const ex = executor({ handlers: { exact: command(['/bin/cat'], { maxOutputBytes: 10 }) } })
    assert.equal(assertOk(await ex.run('exact', bytes('0123456789'))), '0123456789')
    assertFailure(await ex.run('exact', bytes('0123456789A')), 'output_too_large')
  })

  void it('on timeout kills the whole process group', async () => {
    const spawned: SpawnInfo[] = []
    const argv = ['/bin/sh', '-c', 'sleep 30 & sleep 30']
    const ex = executor({ handlers: { stuck: command(argv) }, onSpawn: (info) => { spawned.push(info) } })
    const result = await ex.run('stuck', bytes(''), { timeoutMs: 200 })
    assert.match(assertFailure(result, 'timeout'), /200ms/)
    assert.equal(spawned.length, 1)
    assert.equal(spawned[0]!.type, 'stuck')
    assert.deepEqual(spawned[0]!.command, argv)
    await assertGroupGone(spawned[0]!.pid)
  })

  void it('reports the group id the command really got (it is its own group leader)', async () => {
    const pidFile = join(dir, 'pid')
    const pids: number[] = []
    const ex = executor({ handlers: { leader: command(['/bin/sh', '-c', 'echo $$ > "$1"; ps -o pgid= -p $$', 'sh', pidFile]) }, onSpawn: ({ pid }) => { pids.push(pid) } })
    const output = assertOk(await ex.run('leader', bytes('')))
    assert.equal(Number((await readFile(pidFile, 'utf8')).trim()), pids[0])
    assert.equal(Number(output.trim()), pids[0])
  })

  void it('on cancel kills the whole process group', async () => {
    const controller = new AbortController()
    const pids: number[] = []
    const ex = executor({
      handlers: { stuck: command(['/bin/sh', '-c', 'sleep 30 & sleep 30']) },
      // aborting only once the process exists makes this a cancel of a running command
      onSpawn: ({ pid }) => { pids.push(pid); controller.abort('operator cancelled') }
    })
    assert.match(assertFailure(await ex.run('stuck', bytes(''), { signal: controller.signal }), 'cancelled'), /operator cancelled/)
    await assertGroupGone(pids[0]!)
  })

  void it('kills what a successful command left behind in its group', async () => {
    const pids: number[] = []
    const ex = executor({ handlers: { leaky: command(['/bin/sh', '-c', 'sleep 30 & echo done']) }, onSpawn: ({ pid }) => { pids.push(pid) } })
    assert.equal(assertOk(await ex.run('leaky', bytes(''))), 'done\n')
    await assertGroupGone(pids[0]!)
  })
})

void describe('executor slots', () => {
  void it('lists its handler types', () => {
    const ex = executor()
    assert.deepEqual(ex.types().sort(), ['echo', 'fail', 'sha256', 'sleep'])
    assert.ok(ex.has('sha256'))
    assert.ok(!ex.has('nope'))
  })

  void it('refuses a lease when full; release is idempotent', async () => {
    const ex = executor({ slots: 2 })
    const events: Array<[number, number]> = []
    ex.addEventListener(EXECUTOR_CHANGE_EVENT, (evt) => {
      assert.ok(evt instanceof ExecutorChangeEvent)
      events.push([evt.running, evt.freeSlots])
    })
    const settled = async (): Promise<void> => { await Promise.resolve() }
    const a = ex.tryAcquire()
    const b = ex.tryAcquire()
    assert.ok(a !== undefined && b !== undefined)
    assert.equal(ex.tryAcquire(), undefined)
    assert.equal(ex.running, 2)
    assert.equal(ex.freeSlots, 0)
    await settled()
    a.release()
    await settled()
    a.release()
    await settled()
    assert.equal(ex.running, 1)
    assert.equal(ex.freeSlots, 1)
    b.release()
    await settled()
    assert.equal(ex.running, 0)
    // one event per burst of changes, carrying the state after it; the second release changed nothing
    assert.deepEqual(events, [[2, 0], [1, 1], [0, 2]])
    assert.equal(ex.maxObservedRunning, 2)
  })

  void it('a zero-slot executor never leases', () => {
    assert.equal(executor({ slots: 0 }).tryAcquire(), undefined)
  })

  void it('rejects a nonsensical slot count', () => {
    assert.throws(() => executor({ slots: -1 }), RangeError)
    assert.throws(() => executor({ slots: 1.5 }), RangeError)
  })

  void it('never runs more than its slots under 50 concurrent runs', async () => {
    const ex = executor({ slots: 4 })
    // one waiting listener per contender is this test's doing, not a leak
    setMaxListeners(100, ex)
    let concurrent = 0
    let maxConcurrent = 0
    const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const lease = await acquire(ex)
      try {
        assert.ok(ex.running <= ex.slots)
        concurrent++
        maxConcurrent = Math.max(maxConcurrent, concurrent)
        return await ex.run(i % 2 === 0 ? 'sleep' : 'sha256', bytes(i % 2 === 0 ? '5' : `task ${i}`))
      } finally {
        concurrent--
        lease.release()
      }
    }))
    assert.equal(results.filter((r) => r.ok).length, 50)
    assert.ok(maxConcurrent <= 4, `ran ${maxConcurrent} at once`)
    assert.equal(ex.maxObservedRunning, 4)
    assert.equal(ex.running, 0)
    assert.equal(ex.freeSlots, 4)
  })
})
