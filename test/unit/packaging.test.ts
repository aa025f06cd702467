/**
 * The container image, checked without a Docker engine: the Dockerfile passes dockerfile-utils'
 * lint with every check an error, has the shape the deployment relies on (Node 22 slim, npm ci,
 * production dependencies only, non-root numeric user, tini, ports, default config), copies only
 * what .dockerignore lets into the context, and the image's file layout (the esbuild bundle in dist/
 * and bin/p2p-node.js, no src/, no dev dependencies) actually runs: --version, keygen, check-config,
 * the devnet, and a node that serves /healthz and exits 0 on SIGTERM.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { builtinModules } from 'node:module'
import { validate, ValidationSeverity } from 'dockerfile-utils'
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast'
import { parseConfig } from '../../src/config/index.ts'
import { freePort } from '../utils/processes.ts'

const REPO = resolve(import.meta.dirname, '../..')
const DOCKERFILE = readFileSync(join(REPO, 'Dockerfile'), 'utf8')
const STRICT = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR
}

/**
 * Docker's .dockerignore semantics, enough for this file: patterns in order, the last match wins,
 * `!` re-includes, `*` stays within a path segment, `**` crosses them, and a pattern that matches
 * a directory matches everything under it.
 */
export function dockerignoreExcludes (patterns: string[], path: string): boolean {
  const rules = patterns.map(p => p.trim()).filter(p => p !== '' && !p.startsWith('#')).map(p => {
    const negate = p.startsWith('!')
    const body = (negate ? p.slice(1) : p).replace(/^\/+|\/+$/g, '')
    const re = body.split('/').map(seg => seg === '**'
      ? '.*'
      : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('/').replace(/\.\*\//g, '(?:.*/)?')
    return { negate, re: new RegExp(`^${re}$`) }
  })
  const segments = path.split('/')
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'))
  let excluded = false
  for (const rule of rules) {
    if (prefixes.some(prefix => rule.re.test(prefix))) excluded = !rule.negate
  }
  return excluded
}

const parsed = DockerfileParser.parse(DOCKERFILE)
const instructions = parsed.getInstructions()
const args = (i: Instruction): string[] => i.getArguments().map(a => a.getValue())
const stages = (): Instruction[][] => {
  const out: Instruction[][] = []
  for (const i of instructions) {
    if (i.getKeyword() === 'FROM') out.push([])
    out.at(-1)?.push(i)
  }
  return out
}
const fromFlag = (i: Instruction): string | undefined => (i as Copy).getFromFlag()?.getValue() ?? undefined
const message = (d: { message: string | { value: string } }): string => typeof d.message === 'string' ? d.message : d.message.value
const jsonForm = (i: Instruction): string[] => JSON.parse(i.getArgumentsContent() ?? '[]') as string[]

describe('Dockerfile', () => {
  it('passes dockerfile-utils lint with every check an error', () => {
    assert.deepEqual(validate(DOCKERFILE, STRICT).map(d => `line ${d.range.start.line + 1}: ${message(d)}`), [])
  })

  it('the linter catches a broken Dockerfile (negative test)', () => {
    const broken = 'from node:22-bookworm-slim\nEXPOSE 99999\nHEALTHCHECK --interval=xyz CMD true\nCMD ["a"]\nCMD ["b"]\nWORKDIR app\n'
    const messages = validate(broken, STRICT).map(message)
    assert.ok(messages.length >= 4, messages.join('\n'))
  })

  it('builds on node:22-bookworm-slim in two stages: npm ci + type-check + bundle, then production dependencies only', () => {
    const initialArgs = parsed.getInitialARGs().map(a => a.getArgumentsContent())
    assert.ok(initialArgs.includes('NODE_IMAGE=node:22-bookworm-slim'), JSON.stringify(initialArgs))
    const [build, runtime, ...more] = stages()
    assert.equal(more.length, 0)
    assert.deepEqual(args(build![0]!), ['${NODE_IMAGE}', 'AS', 'build'])
    assert.deepEqual(args(runtime![0]!), ['${NODE_IMAGE}', 'AS', 'runtime'])
    const runs = (stage: Instruction[]): string[] => stage.filter(i => i.getKeyword() === 'RUN').map(i => i.getArgumentsContent() ?? '')
    assert.ok(runs(build!).some(r => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')))
    // tsc only checks; the image ships the bundle bin/bundle.js builds (what the benchmark runs)
    assert.ok(runs(build!).some(r => /\bnpm run build -- --noEmit\b/.test(r) && /\bnode bin\/bundle\.js --outdir dist\b/.test(r)), runs(build!).join('\n'))
    assert.ok(runs(runtime!).some(r => /\bnpm ci --omit=dev\b/.test(r)))
    assert.ok(runs(runtime!).some(r => /apt-get install .*\btini\b/.test(r)))
    const copies = runtime!.filter(i => i.getKeyword() === 'COPY').map(i => [fromFlag(i) ?? '', ...args(i)])
    assert.ok(copies.some(c => c.join(' ') === 'build /src/dist ./dist'), 'dist/ comes from the build stage')
    assert.ok(!copies.some(c => c[1] === 'src' || c[1] === 'src/'), 'no TypeScript sources in the image (bin/p2p-node.js then runs dist/)')
  })

  it('runs as a numeric non-root user, with tini as PID 1, ports 4001 and 8080, and /app/config.yaml', () => {
    const runtime = stages()[1]!
    const user = runtime.filter(i => i.getKeyword() === 'USER').at(-1)
    assert.match(user?.getArgumentsContent() ?? '', /^[1-9]\d*(:\d+)?$/, 'a numeric uid lets Kubernetes verify runAsNonRoot')
    const expose = runtime.filter(i => i.getKeyword() === 'EXPOSE').flatMap(args)
    assert.deepEqual(expose.sort(), ['4001', '8080'])
    const entrypoint = runtime.find(i => i.getKeyword() === 'ENTRYPOINT')
    assert.deepEqual(jsonForm(entrypoint!), ['/usr/bin/tini', '--', 'p2p-node'])
    const cmd = runtime.find(i => i.getKeyword() === 'CMD')
    assert.deepEqual(jsonForm(cmd!), ['--config', '/app/config.yaml'])
    const defaultConfig = runtime.filter(i => i.getKeyword() === 'COPY').map(args).find(a => a.at(-1) === './config.yaml')
    assert.deepEqual(defaultConfig, ['config/worker.yaml', './config.yaml'])
    const workdir = runtime.filter(i => i.getKeyword() === 'WORKDIR').at(-1)?.getArgumentsContent()
    assert.equal(workdir, '/app')
    // the default config is valid, and the HEALTHCHECK asks its API port
    const config = parseConfig(readFileSync(join(REPO, 'config/worker.yaml'), 'utf8'), 'config/worker.yaml')
    assert.match(runtime.find(i => i.getKeyword() === 'HEALTHCHECK')?.getArgumentsContent() ?? '', new RegExp(`127\\.0\\.0\\.1:${config.api.port}/healthz`))
  })

  it('copies only what .dockerignore lets into the build context, and nothing local', () => {
    const patterns = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n')
    const sources = instructions
      .filter(i => i.getKeyword() === 'COPY' && fromFlag(i) == null)
      .flatMap(i => args(i).slice(0, -1))
    assert.ok(sources.includes('src') && sources.includes('package-lock.json'))
    for (const source of sources) {
      assert.ok(existsSync(join(REPO, source)), `COPY ${source}: no such file`)
      assert.equal(dockerignoreExcludes(patterns, source), false, `COPY ${source}, but .dockerignore leaves it out of the context`)
    }
    for (const path of ['src/main.ts', 'bin/p2p-node.js', 'config/worker.yaml', 'config/local/worker.yaml', 'tsconfig.build.json']) {
      assert.equal(dockerignoreExcludes(patterns, path), false, `${path} must be in the context`)
    }
    for (const path of ['node_modules/yaml/package.json', 'dist/main.js', '.git/HEAD', 'data/peers.json', '.devnet/worker/identity.key',
      'config/identity.key', 'test/unit/k8s.test.ts', 'k8s/worker/config.yaml', 'Dockerfile', 'bench/results/x.json']) {
      assert.equal(dockerignoreExcludes(patterns, path), true, `${path} must stay out of the context`)
    }
  })
})

function walk (dir: string): string[] {
  return readdirSync(dir).flatMap(name => statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)])
}

describe('the image layout: dist/ without src/ or dev dependencies', { timeout: 240_000 }, () => {
  let app = ''
  before(() => {
    // what the Dockerfile's stages do, minus the network: the bundle -> dist/, then bin/p2p-node.js,
    // config/, package.json (the type-check is npm test's)
    app = mkdtempSync(join(tmpdir(), 'p2p-image-'))
    const bundle = spawnSync(process.execPath, [join(REPO, 'bin/bundle.js'), '--outdir', join(app, 'dist')], { encoding: 'utf8', timeout: 200_000 })
    assert.equal(bundle.status, 0, `node bin/bundle.js failed:\n${bundle.stdout}${bundle.stderr}`)
    mkdirSync(join(app, 'bin'))
    cpSync(join(REPO, 'bin/p2p-node.js'), join(app, 'bin/p2p-node.js'))
    cpSync(join(REPO, 'config'), join(app, 'config'), { recursive: true })
    cpSync(join(REPO, 'config/worker.yaml'), join(app, 'config.yaml'))
    cpSync(join(REPO, 'package.json'), join(app, 'package.json'))
    symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'))
  })
  after(() => { if (app !== '') rmSync(app, { recursive: true, force: true }) })

  const run = (...argv: string[]): { status: number | null, out: string } => {
    const r = spawnSync(process.execPath, [join(app, 'bin/p2p-node.js'), ...argv], { cwd: app, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH, HOME: app } })
    return { status: r.status, out: r.stdout + r.stderr }
  }

  it('dist/ imports only Node built-ins and packages that npm ci --omit=dev installs', () => {
    // a package is in the production tree when package-lock.json has it at the top level and not
    // marked dev-only; declared or only transitive (then it is a phantom dependency, but it is there)
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
    const inProductionTree = (name: string): boolean => lock.packages[`node_modules/${name}`] != null && lock.packages[`node_modules/${name}`]?.dev !== true
    const builtins = new Set(builtinModules)
    const files = walk(join(app, 'dist')).filter(f => f.endsWith('.js'))
    assert.ok(files.some(f => f.endsWith('/dist/main.js')), 'dist/main.js is what bin/p2p-node.js runs in the image')
    const problems: string[] = []
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      for (const match of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
        const spec = match[1] ?? match[2]
        if (spec == null || spec.startsWith('node:')) continue
        if (spec.startsWith('.')) {
          if (spec.endsWith('.ts')) problems.push(`${relative(app, file)} imports ${spec}: a .ts path tsc did not rewrite`)
          continue
        }
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!
        if (!builtins.has(name) && !inProductionTree(name)) problems.push(`${relative(app, file)} imports ${spec}, which npm ci --omit=dev does not install`)
      }
    }
    assert.deepEqual(problems, [])
  })

  it('p2p-node runs from dist/: --version, keygen, check-config on every shipped config', () => {
    assert.ok(!existsSync(join(app, 'src')))
    const version = run('--version')
    assert.equal(version.status, 0, version.out)
    assert.equal(version.out.trim(), (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version)
    const key = run('keygen', '--out', join(app, 'identity.key'))
    assert.equal(key.status, 0, key.out)
    assert.match(key.out, /12D3KooW[1-9A-HJ-NP-Za-km-z]+/)
    for (const file of ['config.yaml', 'config/bootstrap.yaml', 'config/relay.yaml', 'config/worker.yaml']) {
      const check = run('check-config', join(app, file))
      assert.equal(check.status, 0, `${file}: ${check.out}`)
    }
  })

  it('dist/ is the bundle, and its devnet finds config/local next to it', () => {
    assert.ok(!existsSync(join(app, 'dist/node.js')), 'one file per module would be tsc output')
    const r = spawnSync(process.execPath, [join(app, 'bin/p2p-node.js'), 'devnet', '--workers', '1'], {
      cwd: app, input: 'capabilities\n', encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH, HOME: app }
    })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /compute/)
  })

  it('a node from dist/ serves /healthz and /metrics and exits 0 on SIGTERM', async () => {
    const apiPort = await freePort()
    const dataDir = join(app, 'data')
    writeFileSync(join(app, 'empty'), '')
    const child = spawn(process.execPath, [join(app, 'bin/p2p-node.js'), 'run', '--config', join(app, 'config/local/worker.yaml')], {
      cwd: app,
      env: { PATH: process.env.PATH, HOME: app, P2P_API_PORT: String(apiPort), P2P_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (b: Buffer) => { output += b.toString() })
    child.stderr.on('data', (b: Buffer) => { output += b.toString() })
    const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
    try {
      const until = Date.now() + 60_000
      let healthy = false
      while (!healthy && Date.now() < until && child.exitCode == null) {
        try {
          healthy = (await fetch(`http://127.0.0.1:${apiPort}/healthz`, { signal: AbortSignal.timeout(1000) })).ok
        } catch { /* not yet */ }
        if (!healthy) await new Promise(resolve => setTimeout(resolve, 200))
      }
      assert.ok(healthy, `no /healthz within 60 s:\n${output}`)
      const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text()
      assert.match(metrics, /^p2p_node_info\{/m)
    } finally {
      child.kill('SIGTERM')
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    const code = await exited
    clearTimeout(timer)
    assert.equal(code, 0, `exit code on SIGTERM:\n${output}`)
  })
})
