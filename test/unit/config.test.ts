import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/index.ts'
import { parseDuration, parseSize } from '../../src/config/schema.ts'

const ISSUE_EXAMPLE = `
node:
  role: worker
  listen_port: 4001
  capabilities: [compute, storage]
  max_connections: 100
  heartbeat_interval: 30
network:
  protocol_version: p2p-network
  mesh_network: true
  enable_mdns: true
  enable_relay: true
  connection_timeout: 30
`

describe('config', () => {
  it('reads the operators\' YAML shape and fills defaults in', () => {
    const c = parseConfig(ISSUE_EXAMPLE, 'worker.yaml', { baseDir: '/srv' })
    assert.equal(c.node.role, 'worker')
    assert.deepEqual(c.node.capabilities, ['compute', 'storage'])
    assert.equal(c.node.heartbeatIntervalMs, 30_000)
    assert.equal(c.network.connectionTimeoutMs, 30_000)
    assert.equal(c.node.dataDir, '/srv/data')
    assert.equal(c.api.host, '127.0.0.1')
    assert.equal(c.tasks.slots, 4)
  })

  it('parses durations and sizes', () => {
    assert.equal(parseDuration(30), 30_000)
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('2m'), 120_000)
    assert.equal(parseDuration('x'), undefined)
    assert.equal(parseSize('1MiB'), 1024 * 1024)
    assert.equal(parseSize(10), 10)
  })

  const bad: Array<[string, string, RegExp]> = [
    ['unknown top-level key', 'nodez: {}', /nodez: expected a known key \(did you mean "node"\?\)/],
    ['unknown key far from any known', 'network: { frobnicate: 1 }', /network\.frobnicate: expected one of the known keys: protocol_version/],
    ['misspelled key', 'node: { listen_prot: 1 }', /node\.listen_prot: expected a known key \(did you mean "listen_port"\?\)/],
    ['wrong type', 'node: { listen_port: "abc" }', /node\.listen_port: expected an integer from 0 to 65535, found string "abc"/],
    ['impossible value', 'node: { max_connections: -5 }', /node\.max_connections: expected an integer from 2 to 100000/],
    ['bad role', 'node: { role: miner }', /node\.role: expected one of bootstrap \| relay \| worker/],
    ['bad duration', 'network: { connection_timeout: soon }', /network\.connection_timeout: expected a duration/],
    ['bad handler', 'tasks: { handlers: { x: { builtin: nope } } }', /tasks\.handlers\.x\.builtin: expected one of echo \| sha256 \| sleep \| fail/],
    ['shell string command', 'tasks: { handlers: { x: { command: "rm -rf /" } } }', /tasks\.handlers\.x\.command: expected a non-empty list of argv strings/],
    ['bad protocol version', 'network: { protocol_version: "A B/C" }', /network\.protocol_version: expected lowercase letters/],
    ['invalid YAML', 'node: [', /expected valid YAML/],
    ['section not a mapping', 'node: 5', /node: expected a mapping/]
  ]
  for (const [name, text, re] of bad) {
    it(`refuses ${name} naming file, key and expectation`, () => {
      assert.throws(() => parseConfig(text, 'bad.yaml'), (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.match(err.message, /^bad\.yaml: /)
        assert.match(err.message, re)
        return true
      })
    })
  }

  it('applies environment overrides over YAML, typed', () => {
    const c = parseConfig(ISSUE_EXAMPLE, 'w.yaml', {
      env: { P2P_BOOTSTRAP_PEERS: '/dns4/a/tcp/1, b@c:2', P2P_LISTEN_PORT: '4100', P2P_ANNOUNCE: '/ip4/10.1.2.3/tcp/4001', LOG_LEVEL: 'debug', P2P_API_PORT: '9000' }
    })
    assert.deepEqual(c.network.bootstrapPeers, ['/dns4/a/tcp/1', 'b@c:2'])
    assert.equal(c.node.listenPort, 4100)
    assert.deepEqual(c.node.announce, ['/ip4/10.1.2.3/tcp/4001'])
    assert.equal(c.log.level, 'debug')
    assert.equal(c.api.port, 9000)
    assert.throws(() => parseConfig(ISSUE_EXAMPLE, 'w.yaml', { env: { P2P_LISTEN_PORT: 'x' } }), /environment P2P_LISTEN_PORT/)
  })

  it('ships configs that pass validation', () => {
    for (const f of ['config/bootstrap.yaml', 'config/relay.yaml', 'config/worker.yaml', 'config/local/bootstrap.yaml', 'config/local/relay.yaml', 'config/local/worker.yaml']) {
      const c = loadConfigFile(f, { env: {} })
      assert.ok(c.node.role)
    }
    const w = loadConfigFile('config/worker.yaml', { env: {} })
    assert.deepEqual(w.tasks.handlers.compute, { builtin: 'sha256' })
  })

  it('the binary exits 2 with the message for each class of config error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'p2p-config-'))
    const cases: Array<[string, RegExp]> = [
      ['node: { replicass: 3 }', /node\.replicass/],
      ['node: { listen_port: 70000 }', /node\.listen_port: expected an integer from 0 to 65535/],
      ['node: { capabilities: compute }', /node\.capabilities: expected a list of strings/],
      ['{{', /expected valid YAML/]
    ]
    for (const [i, [text, re]] of cases.entries()) {
      const file = join(dir, `bad-${i}.yaml`)
      writeFileSync(file, text)
      const r = spawnSync(process.execPath, ['bin/p2p-node.js', 'run', '--config', file], { encoding: 'utf8', timeout: 60_000 })
      assert.equal(r.status, 2, r.stderr)
      assert.match(r.stderr, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      assert.match(r.stderr, re)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
    const missing = spawnSync(process.execPath, ['bin/p2p-node.js', 'run', '--config', join(dir, 'nope.yaml')], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /nope\.yaml: \(top level\): expected a readable YAML file, found ENOENT/)
  })
})
