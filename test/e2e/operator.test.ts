/**
 * The operator surfaces against real nodes: the REPL of `p2p-node devnet` driven through a real
 * pseudo-terminal (tmux), and a real Prometheus scraping two nodes' /metrics, with promtool
 * checking the exposition. Everything listens on 127.0.0.1; every process started here is stopped
 * here, also when an assertion fails.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startDevnet, waitForMesh } from '../../src/cli/devnet.ts'
import { METRIC_NAMES } from '../../src/metrics/index.ts'
import { freePort } from '../utils/processes.ts'
import type { Devnet } from '../../src/cli/devnet.ts'
import type { ChildProcess } from 'node:child_process'

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const HELLO_SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

/** skip where a tool is missing on a developer's machine; in CI (.ci/run installs them) fail instead */
function needs (binary: string, apt: string): string | false {
  // only a missing binary sets `error` (ENOENT); the exit status of --version does not matter
  if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).error === undefined) return false
  return process.env.CI === 'true' ? false : `${binary} is not installed (apt-get install -y ${apt})`
}

async function until<T> (what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, describeState?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describeState === undefined ? '' : `\n${describeState()}`}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** One tmux server on its own socket, so nothing else's sessions are touched. */
class Tmux {
  readonly socket = `p2p-operator-${process.pid}`
  constructor (readonly session: string) {}

  run (...args: string[]): string {
    const result = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`)
    return result.stdout
  }

  /** the whole pane, scrollback included, wrapped lines joined, without the empty rows below the cursor */
  capture (): string {
    return this.run('capture-pane', '-p', '-J', '-S', '-5000', '-t', this.session).trimEnd()
  }

  type (text: string): void { this.run('send-keys', '-t', this.session, '-l', text) }
  key (name: string): void { this.run('send-keys', '-t', this.session, name) }
  dead (): boolean { return this.run('display-message', '-p', '-t', this.session, '#{pane_dead}').trim() === '1' }

  /** waits for `pattern` in what the pane shows after the last `marker` */
  async waitAfter (marker: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return until(`${pattern} after "${marker}"`, () => {
      const text = this.capture()
      const at = text.lastIndexOf(marker)
      const tail = at === -1 ? '' : text.slice(at + marker.length)
      return pattern.test(tail) ? tail : undefined
    }, timeoutMs, () => `pane:\n${this.capture()}`)
  }

  /** types a command, presses Enter, waits for its answer and the next prompt */
  async command (line: string, answer: RegExp, timeoutMs = 30_000): Promise<string> {
    this.type(line)
    this.key('Enter')
    const tail = await this.waitAfter(`p2p> ${line}`, /\np2p>$/, timeoutMs)
    assert.match(tail, answer)
    return tail
  }

  kill (): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' })
  }
}

void describe('operator surfaces on a real devnet', { timeout: 300_000 }, () => {
  void it('the REPL in a real terminal: peers, status, task compute hello, Tab completion, quit', { skip: needs('tmux', 'tmux') }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-operator-repl-'))
    const tmux = new Tmux('repl')
    try {
      const conf = join(dir, 'tmux.conf')
      await writeFile(conf, 'set -g remain-on-exit on\nset -g history-limit 20000\n')
      // HOME in the temporary directory keeps the REPL's history file out of the real home
      const command = `cd '${REPO}' && HOME='${dir}' '${process.execPath}' bin/p2p-node.js devnet --workers 2 --data-dir '${join(dir, 'devnet')}'; echo "[exited $?]"`
      tmux.run('-f', conf, 'new-session', '-d', '-s', tmux.session, '-x', '220', '-y', '50', command)

      await tmux.waitAfter('devnet up', /Type "help" for commands[^]*\np2p>$/, 90_000)

      const peers = await tmux.command('peers', /PEER +ROLE +ADDRESS +RTT +HEALTHY +CAPABILITIES +CREDITS/)
      const workers = peers.split('\n').filter(line => /^12D3Ko…\S{6} +worker +\/ip4\/127\.0\.0\.1\/tcp\/\d+ +[\d.]+ ms +yes +\S*compute/.test(line))
      assert.equal(workers.length, 2, peers)
      assert.match(peers, /^12D3Ko…\S{6} +relay /m)

      await tmux.command('status', /^role +bootstrap$[^]*^peers +[34] connected, [34] healthy$/m)

      const task = await tmux.command('task compute hello', new RegExp(`^result +${HELLO_SHA256}$`, 'm'))
      assert.match(task, /^status +succeeded$/m)
      assert.match(task, /^worker +12D3Ko…\S{6}$/m)
      assert.match(task, /^attempts +1 of \d+$/m)

      // Tab completes a partial command in place
      tmux.type('capab')
      tmux.key('Tab')
      await tmux.waitAfter('task compute hello', /\np2p> capabilities *$/, 10_000)
      tmux.key('Enter')
      await tmux.waitAfter('p2p> capabilities', /FREE\/SLOTS[^]*\np2p>$/)

      // and a task type after "task "
      tmux.type('task co')
      tmux.key('Tab')
      await tmux.waitAfter('p2p> capabilities', /\np2p> task compute *$/, 10_000)
      tmux.type('hi')
      tmux.key('Enter')
      const completed = await tmux.waitAfter('p2p> task compute hi', /\np2p>$/)
      assert.match(completed, /^result +8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4$/m)

      tmux.type('quit')
      tmux.key('Enter')
      await until('the devnet to exit after quit', () => tmux.dead(), 30_000, () => tmux.capture())
      assert.match(tmux.capture(), /\[exited 0\]/)
    } finally {
      tmux.kill()
      await rm(dir, { recursive: true, force: true })
    }
  })

  void describe('Prometheus scraping two nodes', { skip: needs('prometheus', 'prometheus') }, () => {
    let net: Devnet | undefined
    let prometheus: ChildProcess | undefined
    let dir: string | undefined
    let promLog = ''

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'p2p-operator-prom-'))
      net = await startDevnet({ workers: 1, dataDir: join(dir, 'devnet'), logLevel: 'silent' })
      await waitForMesh(net)
    })
    after(async () => {
      if (prometheus !== undefined && prometheus.exitCode === null && prometheus.signalCode === null) {
        const exited = new Promise(resolve => prometheus!.once('exit', resolve))
        prometheus.kill('SIGTERM')
        const timer = setTimeout(() => prometheus!.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await net?.stop()
      if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    })

    const metricsUrls = (): string[] => [net!.bootstrap, net!.workers[0]!].map(node => {
      assert.ok(node.apiServer !== undefined, `${node.role} has no API server`)
      return `${node.apiServer.url}/metrics`
    })

    void it('promtool check metrics accepts both nodes\' /metrics, which hold every metric of the factory', { skip: needs('promtool', 'prometheus') }, async () => {
      // a task first, so the labelled series have samples too
      const task = await net!.bootstrap.api.submit({ type: 'compute', payload: 'hello' })
      assert.equal((await net!.bootstrap.api.wait(task.id)).result, HELLO_SHA256)
      for (const url of metricsUrls()) {
        const text = await (await fetch(url)).text()
        const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
        assert.equal(check.status, 0, `promtool on ${url}:\n${check.stdout}${check.stderr}`)
        for (const name of METRIC_NAMES) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} on ${url}`)
      }
    })

    void it('reports up == 1 for both and p2p_tasks_finished_total > 0 after tasks ran', async () => {
      const targets = metricsUrls().map(url => new URL(url).host)
      const port = await freePort()
      const config = join(dir!, 'prometheus.yml')
      await writeFile(config, [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: p2p',
        '    scrape_interval: 1s',
        '    scrape_timeout: 1s',
        '    static_configs:',
        `      - targets: [${targets.map(t => `'${t}'`).join(', ')}]`,
        ''
      ].join('\n'))
      prometheus = spawn('prometheus', [
        `--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${join(dir!, 'tsdb')}`
      ], { stdio: ['ignore', 'pipe', 'pipe'] })
      const keep = (chunk: Buffer): void => { promLog = (promLog + chunk.toString()).slice(-20_000) }
      prometheus.stdout?.on('data', keep)
      prometheus.stderr?.on('data', keep)
      const base = `http://127.0.0.1:${port}`
      const query = async (q: string): Promise<Array<{ metric: Record<string, string>, value: [number, string] }>> => {
        const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)
        const body = await res.json() as { status: string, data: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }
        return body.status === 'success' ? body.data.result : []
      }

      await until('Prometheus ready', async () => {
        if (prometheus!.exitCode !== null) throw new Error(`prometheus exited with ${prometheus!.exitCode}:\n${promLog}`)
        return (await fetch(`${base}/-/ready`).catch(() => undefined))?.ok === true
      }, 30_000, () => promLog)

      for (let i = 0; i < 3; i++) {
        const task = await net!.bootstrap.api.submit({ type: 'compute', payload: `hello ${i}` })
        assert.equal((await net!.bootstrap.api.wait(task.id)).status, 'succeeded')
      }

      const up = await until('up == 1 for both targets', async () => {
        const result = await query('up{job="p2p"} == 1')
        return result.length === 2 ? result : undefined
      }, 30_000, () => promLog)
      assert.deepEqual(up.map(r => r.metric.instance).sort(), [...targets].sort())

      const finished = await until('p2p_tasks_finished_total > 0', async () => {
        const result = await query('sum(p2p_tasks_finished_total{status="succeeded"})')
        const value = Number(result[0]?.value[1] ?? 0)
        return value > 0 ? value : undefined
      }, 30_000, () => promLog)
      assert.ok(finished >= 3, `p2p_tasks_finished_total = ${finished}`)
    })
  })
})
