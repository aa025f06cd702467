/**
 * The operator scripts (build.sh, deploy.sh, test.sh, stress-test.sh): shellcheck, --help, and what
 * they do, run against fake `kubectl` and `docker` binaries that record their calls (there is no
 * cluster and no Docker engine here). deploy.sh really runs `p2p-node keygen`, and the fake kubectl
 * really renders what deploy.sh applies with `kubectl kustomize`.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'

const REPO = resolve(import.meta.dirname, '../..')
const SCRIPTS = ['build.sh', 'deploy.sh', 'test.sh', 'stress-test.sh']
/** what deploy.sh, test.sh and stress-test.sh source from their own directory */
const SCRIPT_LIB = 'scripts/lib.sh'
const HELLO_DIGEST = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

function has (tool: string, args = ['--version']): boolean {
  try {
    execFileSync(tool, args, { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}

function runScript (script: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO, timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync('bash', [join(cwd, script), ...args], { cwd, encoding: 'utf8', timeout, env: { ...process.env, ...env } })
}

/**
 * A kubectl that logs each call (one JSON array per line) and answers like a cluster where nothing
 * exists yet (or, with FAKE_EXISTING=1, where the Secrets exist). `apply -k DIR` renders DIR with
 * the real kubectl into $FAKE_DIR/applied-<n>.yaml.
 */
const FAKE_KUBECTL = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$(node_json "$@")" >> "$FAKE_DIR/kubectl.log"
args=" $* "
case "$args" in
  *" config current-context "*) echo fake-context ;;
  *" get secret "*" -o jsonpath="*) [[ "\${FAKE_EXISTING:-0}" == 1 ]] && echo 12D3KooWExistingPeer || exit 1 ;;
  *" get secret "*) [[ "\${FAKE_EXISTING:-0}" == 1 ]] || exit 1 ;;
  *" get crd "*) exit 1 ;;
  *" get deployments "*) printf 'deployment.apps/p2p-bootstrap\\ndeployment.apps/p2p-relay\\ndeployment.apps/p2p-worker\\n' ;;
  *" get pods "*) printf 'p2p-worker-6d9f-abcde' ;;
  *" peers "*)
    default_peers='[{"peerId": "a", "role": "bootstrap"}, {"peerId": "b", "role": "relay"}]'
    printf '%s\\n' "\${FAKE_PEERS:-$default_peers}" ;;
  *" task compute hello "*) printf '{\\n  "id": "t1",\\n  "status": "succeeded",\\n  "result": "%s"\\n}\\n' "\${FAKE_RESULT:-${HELLO_DIGEST}}" ;;
  *" apply -k "*)
    n=$(ls "$FAKE_DIR" | grep -c '^applied-' || true)
    "$REAL_KUBECTL" kustomize "\${@: -1}" > "$FAKE_DIR/applied-$n.yaml" ;;
  *) ;;
esac
`

/** docker that logs its calls; `info` fails unless FAKE_DOCKER_ENGINE=1 */
const FAKE_DOCKER = `#!/usr/bin/env bash
printf '%s\\n' "$(node_json "$@")" >> "$FAKE_DIR/docker.log"
if [[ "$1" == info && "\${FAKE_DOCKER_ENGINE:-0}" != 1 ]]; then exit 1; fi
exit 0
`

/** prints its arguments as a JSON array (used by the fakes to log calls unambiguously) */
const NODE_JSON = `#!/usr/bin/env bash
exec "${process.execPath}" -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@"
`

describe('operator scripts', () => {
  let fakeDir = ''
  let fakeEnv: NodeJS.ProcessEnv = {}
  const calls = (tool: string): string[][] => existsSync(join(fakeDir, `${tool}.log`))
    ? readFileSync(join(fakeDir, `${tool}.log`), 'utf8').trim().split('\n').filter(l => l !== '').map(l => JSON.parse(l) as string[])
    : []
  const resetLogs = (): void => {
    rmSync(fakeDir, { recursive: true, force: true })
    mkdirSync(join(fakeDir, 'bin'), { recursive: true })
    for (const [name, text] of [['kubectl', FAKE_KUBECTL], ['docker', FAKE_DOCKER], ['node_json', NODE_JSON]] as const) {
      writeFileSync(join(fakeDir, 'bin', name), text)
      chmodSync(join(fakeDir, 'bin', name), 0o755)
    }
  }
  before(() => {
    fakeDir = mkdtempSync(join(tmpdir(), 'p2p-scripts-'))
    resetLogs()
    let realKubectl = ''
    try { realKubectl = execFileSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim() } catch { /* none */ }
    fakeEnv = { PATH: `${join(fakeDir, 'bin')}:${process.env.PATH ?? ''}`, FAKE_DIR: fakeDir, REAL_KUBECTL: realKubectl }
  })
  after(() => { rmSync(fakeDir, { recursive: true, force: true }) })

  it('shellcheck finds nothing in any script', { skip: has('shellcheck') ? false : 'shellcheck is not installed (apt-get install -y shellcheck; .ci/run installs it)' }, () => {
    const result = spawnSync('shellcheck', ['--external-sources', '--severity=style', ...SCRIPTS, SCRIPT_LIB], { cwd: REPO, encoding: 'utf8' })
    assert.equal(result.status, 0, result.stdout + result.stderr)
  })

  it('every script is executable bash with set -euo pipefail, --help and a refusal of unknown arguments', () => {
    for (const script of SCRIPTS) {
      const text = readFileSync(join(REPO, script), 'utf8')
      assert.match(text, /^#!\/usr\/bin\/env bash\n/, `${script}: shebang`)
      assert.match(text, /^set -euo pipefail$/m, `${script}: set -euo pipefail`)
      const help = runScript(script, ['--help'])
      assert.equal(help.status, 0, `${script} --help: ${help.stderr}`)
      assert.match(help.stdout, /^Usage: /m, `${script} --help prints a usage`)
      const bad = runScript(script, ['--no-such-option'])
      assert.notEqual(bad.status, 0, `${script} accepts an unknown option`)
      assert.match(bad.stderr, /unknown argument: --no-such-option/)
      execFileSync('test', ['-x', join(REPO, script)])
    }
  })

  it('build.sh builds and pushes the image with docker, and says so when no engine runs', () => {
    resetLogs()
    const noEngine = runScript('build.sh', ['--tag', 'example.com/p2p-network:1.2.3'], fakeEnv)
    assert.notEqual(noEngine.status, 0)
    assert.match(noEngine.stderr, /no Docker engine answers/)

    resetLogs()
    const built = runScript('build.sh', ['--tag', 'example.com/p2p-network:1.2.3', '--push'], { ...fakeEnv, FAKE_DOCKER_ENGINE: '1' })
    assert.equal(built.status, 0, built.stderr)
    const docker = calls('docker')
    const build = docker.find(c => c[0] === 'build')
    assert.ok(build != null, JSON.stringify(docker))
    assert.deepEqual(build.slice(1, 3), ['--tag', 'example.com/p2p-network:1.2.3'])
    assert.equal(build.at(-1), '.')
    assert.deepEqual(docker.find(c => c[0] === 'push'), ['push', 'example.com/p2p-network:1.2.3'])
    assert.match(built.stdout, /deploy\.sh --image example\.com\/p2p-network:1\.2\.3/)
  })

  it('build.sh --sync-config copies config/<role>.yaml into k8s/<role>/config.yaml', () => {
    const copy = mkdtempSync(join(tmpdir(), 'p2p-sync-'))
    try {
      cpSync(join(REPO, 'build.sh'), join(copy, 'build.sh'))
      cpSync(join(REPO, 'config'), join(copy, 'config'), { recursive: true })
      for (const role of ['bootstrap', 'relay', 'worker']) mkdirSync(join(copy, 'k8s', role), { recursive: true })
      const result = runScript('build.sh', ['--sync-config'], {}, copy)
      assert.equal(result.status, 0, result.stderr)
      for (const role of ['bootstrap', 'relay', 'worker']) {
        assert.equal(readFileSync(join(copy, 'k8s', role, 'config.yaml'), 'utf8'), readFileSync(join(REPO, 'config', `${role}.yaml`), 'utf8'))
      }
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  })

  const needsKeygen = existsSync(join(REPO, 'src/cli/keygen.ts')) ? false : 'p2p-node keygen is not implemented yet'
  const noKubectl = has('kubectl', ['version', '--client']) ? false : 'kubectl is not installed (it renders what deploy.sh applies)'

  it('deploy.sh creates the key and token Secrets once, applies k8s/ with the image, and waits for the rollouts', { skip: needsKeygen || noKubectl, timeout: 180_000 }, () => {
    resetLogs()
    const result = runScript('deploy.sh', ['--image', 'registry.example.com:5000/p2p-network:v9'], fakeEnv)
    assert.equal(result.status, 0, result.stdout + result.stderr)
    const kubectl = calls('kubectl')
    const has = (...words: string[]): string[] | undefined => kubectl.find(c => words.every(w => c.includes(w)))

    assert.ok(has('apply', '-f', 'k8s/namespace/namespace.yaml'), 'the namespace is applied first')
    assert.ok(kubectl.findIndex(c => c.includes('namespace.yaml')) < kubectl.findIndex(c => c.includes('create')))
    const created = kubectl.filter(c => c.includes('create') && c.includes('secret')).map(c => c[c.indexOf('generic') + 1])
    assert.deepEqual(created, ['p2p-bootstrap-key', 'p2p-relay-key', 'p2p-api-token'])
    for (const role of ['bootstrap', 'relay']) {
      const create = has('create', 'secret', 'generic', `p2p-${role}-key`)!
      assert.ok(create.some(a => /^--from-file=identity\.key=/.test(a)), `the ${role} key is mounted as identity.key`)
      const annotate = has('annotate', 'secret', `p2p-${role}-key`)!
      assert.ok(annotate.some(a => /^p2p-network\/peer-id=12D3KooW[1-9A-HJ-NP-Za-km-z]{40,}$/.test(a)), `the ${role} peer ID is recorded: ${JSON.stringify(annotate)}`)
      assert.ok(kubectl.every(c => !c.includes('-n') || c[c.indexOf('-n') + 1] === 'net-test'))
    }
    const token = has('create', 'secret', 'generic', 'p2p-api-token')!.find(a => a.startsWith('--from-literal=token='))
    assert.match(token ?? '', /^--from-literal=token=[0-9a-f]{64}$/)

    // what was applied: k8s/ with the image replaced
    const applied = readFileSync(join(fakeDir, 'applied-0.yaml'), 'utf8')
    const objs = parseAllDocuments(applied).map(d => d.toJS() as { kind: string, spec?: { template?: { spec?: { containers?: Array<{ image: string }> } } } })
    const images = objs.filter(o => o.kind === 'Deployment').map(o => o.spec?.template?.spec?.containers?.[0]?.image)
    assert.deepEqual(images, ['registry.example.com:5000/p2p-network:v9', 'registry.example.com:5000/p2p-network:v9', 'registry.example.com:5000/p2p-network:v9'])
    assert.ok(!kubectl.some(c => c.includes('k8s/monitoring')), 'no ServiceMonitor CRD, no monitoring')
    for (const d of ['p2p-bootstrap', 'p2p-relay', 'p2p-worker']) assert.ok(has('rollout', 'status', `deployment.apps/${d}`), `waits for ${d}`)
    assert.match(result.stdout, /kubectl exec -it -n net-test deploy\/p2p-worker -- p2p-node --config \/app\/config\.yaml/)

    // a second run keeps the existing Secrets (and the peer IDs with them)
    resetLogs()
    const again = runScript('deploy.sh', ['--no-wait', '--monitoring', 'no'], { ...fakeEnv, FAKE_EXISTING: '1' })
    assert.equal(again.status, 0, again.stderr)
    assert.ok(!calls('kubectl').some(c => c.includes('create')), 'nothing is created again')
    assert.ok(!calls('kubectl').some(c => c.includes('rollout')))
    assert.match(again.stdout, /secret p2p-bootstrap-key exists \(peer ID 12D3KooWExistingPeer\); kept/)
  })

  it('deploy.sh refuses a k8s/ config copy that differs from config/', () => {
    const copy = mkdtempSync(join(tmpdir(), 'p2p-drift-'))
    try {
      cpSync(join(REPO, 'deploy.sh'), join(copy, 'deploy.sh'))
      cpSync(join(REPO, SCRIPT_LIB), join(copy, SCRIPT_LIB))
      cpSync(join(REPO, 'config'), join(copy, 'config'), { recursive: true })
      cpSync(join(REPO, 'k8s'), join(copy, 'k8s'), { recursive: true })
      writeFileSync(join(copy, 'k8s/worker/config.yaml'), `${readFileSync(join(copy, 'k8s/worker/config.yaml'), 'utf8')}# drift\n`)
      const result = runScript('deploy.sh', [], fakeEnv, copy)
      assert.notEqual(result.status, 0)
      assert.match(result.stderr, /k8s\/worker\/config\.yaml differs from config\/worker\.yaml; run \.\/build\.sh --sync-config/)
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  })

  it('test.sh --cluster passes on the right digest and both roles, and fails otherwise', () => {
    resetLogs()
    const ok = runScript('test.sh', ['--cluster'], fakeEnv)
    assert.equal(ok.status, 0, ok.stdout + ok.stderr)
    assert.match(ok.stdout, /cluster smoke test passed/)
    const exec = calls('kubectl').find(c => c.includes('exec') && c.includes('task'))!
    assert.deepEqual(exec.slice(exec.indexOf('--')), ['--', 'p2p-node', 'task', 'compute', 'hello', '--config', '/app/config.yaml', '--json'])
    assert.ok(exec.includes('p2p-worker-6d9f-abcde'))
    // scripts/lib.sh is found by the script's own directory, not the caller's cwd; --context reaches every kubectl call
    resetLogs()
    const elsewhere = spawnSync('bash', [join(REPO, 'test.sh'), '--cluster', '--context', 'other-ctx'], { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, ...fakeEnv } })
    assert.equal(elsewhere.status, 0, elsewhere.stdout + elsewhere.stderr)
    assert.ok(calls('kubectl').length > 0 && calls('kubectl').every(c => c[0] === '--context' && c[1] === 'other-ctx'), JSON.stringify(calls('kubectl')))

    const wrong = runScript('test.sh', ['--cluster'], { ...fakeEnv, FAKE_RESULT: 'deadbeef' })
    assert.notEqual(wrong.status, 0)
    assert.match(wrong.stderr, /did not answer sha256/)

    const noRelay = runScript('test.sh', ['--cluster', '--timeout', '0'], { ...fakeEnv, FAKE_PEERS: '[{"peerId": "a", "role": "bootstrap"}]' })
    assert.notEqual(noRelay.status, 0)
    assert.match(noRelay.stderr, /does not list both a bootstrap and a relay peer/)
  })

  it('stress-test.sh drives tasks through a local network and reports them', { skip: existsSync(join(REPO, 'src/main.ts')) ? false : 'no node yet', timeout: 240_000 }, () => {
    const result = runScript('stress-test.sh', ['--tasks', '12', '--concurrency', '3', '--workers', '1', '--json'], {}, REPO, 230_000)
    assert.equal(result.status, 0, result.stdout + result.stderr)
    const report = JSON.parse(result.stdout) as { sent: number, succeeded: number, failed: number, latencyMs: { p50: number, p99: number }, throughputPerS: number }
    assert.equal(report.sent, 12)
    assert.equal(report.succeeded, 12)
    assert.equal(report.failed, 0)
    assert.ok(report.latencyMs.p50 > 0 && report.latencyMs.p99 >= report.latencyMs.p50)
    assert.ok(report.throughputPerS > 0)
  })
})
