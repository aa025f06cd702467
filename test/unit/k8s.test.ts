/**
 * Offline checks of everything under k8s/: every manifest kustomize renders (and every example)
 * against the Kubernetes API schemas of kubernetes-models (Kubernetes 1.34) plus a strict walk over
 * the same models' type definitions that rejects unknown fields; the references between objects
 * (selectors, ports, ConfigMaps, Secrets, Service names in the node configs); and the node's own
 * config validation for every ConfigMap, with the environment its Deployment sets.
 *
 * `kubectl kustomize` renders the kustomizations (no cluster needed); kubectl is on every machine
 * image of this project. Without it the render-based tests skip and the raw files are still checked.
 */
import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { parse as parseYaml, parseAllDocuments } from 'yaml'
import { multiaddr } from '@multiformats/multiaddr'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IService } from 'kubernetes-models/v1/Service'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec'
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import { ENV_OVERRIDES, parseConfig, type Config } from '../../src/config/index.ts'

const REPO = resolve(import.meta.dirname, '../..')
const K8S = join(REPO, 'k8s')
const ROLES = ['bootstrap', 'relay', 'worker'] as const
/** the kustomizations that are applied to a cluster as a whole (the others are their parts) */
const DEPLOYABLE = ['k8s', 'k8s/overlays/relay-external', 'k8s/overlays/remote-workers'] as const

type Manifest = Record<string, unknown> & { apiVersion: string, kind: string, metadata: { name: string, namespace?: string, labels?: Record<string, string> } }

// ---------------------------------------------------------------------------------------------
// Schema validation: kubernetes-models' validate() (the API's OpenAPI schema compiled with ajv:
// types, required fields, enums, formats) lets unknown fields through, so a second pass walks each
// object against the models' TypeScript definitions and treats every object as closed.
// ---------------------------------------------------------------------------------------------

/** the module of kubernetes-models (or of its CRD packages) that defines apiVersion/kind */
export function modelModule (apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion]
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`
  return group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`
}

type ModelClass = new (data: unknown) => { validate: () => void }

async function schemaErrors (obj: Manifest): Promise<string[]> {
  const spec = modelModule(obj.apiVersion, obj.kind)
  let mod: Record<string, ModelClass>
  try {
    mod = await import(spec) as Record<string, ModelClass>
  } catch {
    return [`${obj.apiVersion} ${obj.kind}: no such kind in the Kubernetes API models (${spec})`]
  }
  const Model = mod[obj.kind]
  if (Model == null) return [`${spec} exports no ${obj.kind}`]
  try {
    new Model(obj).validate()
    return []
  } catch (err) {
    return [String((err as Error).message)]
  }
}

function editDistance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]!
}

/**
 * Types from the models' .d.ts files, resolved by the TypeScript checker, and a walk of plain
 * JSON values against them: unknown fields, wrong primitive types, wrong literals, missing
 * required fields. One program for every type the tests need, built once.
 */
export class StrictTypes {
  private readonly checker: ts.TypeChecker
  private readonly types = new Map<string, ts.Type>()

  constructor (entries: Record<string, { module: string, name: string }>) {
    const file = join(REPO, 'test/unit/__k8s_strict_types__.ts')
    const keys = Object.keys(entries)
    const source = keys.map((key, i) => {
      const { module, name } = entries[key]!
      return `import type { ${name} as T${i} } from '${module}'\nexport type K${i} = T${i}`
    }).join('\n')
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2023,
      lib: ['lib.es2023.d.ts'],
      types: [],
      strict: true,
      noEmit: true,
      skipLibCheck: true
    }
    const host = ts.createCompilerHost(options)
    const getSourceFile = host.getSourceFile.bind(host)
    const fileExists = host.fileExists.bind(host)
    host.getSourceFile = (name, language, ...rest) => name === file ? ts.createSourceFile(name, source, language, true) : getSourceFile(name, language, ...rest)
    host.fileExists = name => name === file || fileExists(name)
    const program = ts.createProgram([file], options, host)
    const sourceFile = program.getSourceFile(file)!
    const problems = ts.getPreEmitDiagnostics(program, sourceFile)
    if (problems.length > 0) throw new Error(problems.map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'))
    this.checker = program.getTypeChecker()
    const aliases = sourceFile.statements.filter(ts.isTypeAliasDeclaration)
    keys.forEach((key, i) => {
      const alias = aliases.find(a => a.name.text === `K${i}`)!
      this.types.set(key, this.checker.getTypeAtLocation(alias.name))
    })
  }

  has (key: string): boolean { return this.types.has(key) }

  /** every way `value` departs from the type registered as `key`, as "path: problem" lines */
  check (key: string, value: unknown, root = ''): string[] {
    const type = this.types.get(key)
    if (type == null) return [`${root}: no type registered for ${key}`]
    const errors: string[] = []
    this.walk(value, type, root, errors)
    return errors
  }

  private walk (value: unknown, type: ts.Type, path: string, errors: string[]): void {
    const c = this.checker
    const F = ts.TypeFlags
    const here = path === '' ? '(root)' : path
    if ((type.flags & (F.Any | F.Unknown)) !== 0) return
    if (type.isUnion()) {
      const nullable = type.types.some(t => (t.flags & F.Null) !== 0)
      const members = type.types.filter(t => (t.flags & (F.Undefined | F.Void | F.Null)) === 0)
      if (value === null) {
        if (!nullable) errors.push(`${here}: null, expected ${c.typeToString(type)}`)
        return
      }
      if (members.length === 1) { this.walk(value, members[0]!, path, errors); return }
      let best: string[] | undefined
      for (const member of members) {
        const attempt: string[] = []
        this.walk(value, member, path, attempt)
        if (attempt.length === 0) return
        if (best == null || attempt.length < best.length) best = attempt
      }
      const primitive = members.every(m => (m.flags & (F.StringLike | F.NumberLike | F.BooleanLike | F.EnumLike)) !== 0)
      errors.push(...(primitive || best == null ? [`${here}: ${JSON.stringify(value)}, expected ${c.typeToString(type)}`] : best))
      return
    }
    if (value === null) { errors.push(`${here}: null, expected ${c.typeToString(type)}`); return }
    if (type.isStringLiteral() || type.isNumberLiteral()) {
      if (value !== type.value) errors.push(`${here}: ${JSON.stringify(value)}, expected ${JSON.stringify(type.value)}`)
      return
    }
    if ((type.flags & F.BooleanLiteral) !== 0) {
      if (value !== (c.typeToString(type) === 'true')) errors.push(`${here}: ${JSON.stringify(value)}, expected ${c.typeToString(type)}`)
      return
    }
    if ((type.flags & F.StringLike) !== 0) { if (typeof value !== 'string') errors.push(`${here}: ${JSON.stringify(value)} is not a string`); return }
    if ((type.flags & F.NumberLike) !== 0) { if (typeof value !== 'number') errors.push(`${here}: ${JSON.stringify(value)} is not a number`); return }
    if ((type.flags & F.BooleanLike) !== 0) { if (typeof value !== 'boolean') errors.push(`${here}: ${JSON.stringify(value)} is not a boolean`); return }
    if ((type.flags & (F.Object | F.Intersection)) === 0) { errors.push(`${here}: cannot check a value against ${c.typeToString(type)}`); return }
    if (c.isArrayType(type)) {
      if (!Array.isArray(value)) { errors.push(`${here}: expected a list, got ${JSON.stringify(value)}`); return }
      const element = c.getTypeArguments(type as ts.TypeReference)[0]!
      value.forEach((item, i) => { this.walk(item, element, `${path}[${i}]`, errors) })
      return
    }
    if (typeof value !== 'object' || Array.isArray(value)) { errors.push(`${here}: expected an object (${c.typeToString(type)}), got ${JSON.stringify(value)}`); return }
    const index = c.getIndexInfosOfType(type).find(info => (info.keyType.flags & F.String) !== 0)
    const record = value as Record<string, unknown>
    for (const [key, item] of Object.entries(record)) {
      const childPath = path === '' ? key : `${path}.${key}`
      const prop = c.getPropertyOfType(type, key)
      if (prop != null) {
        this.walk(item, c.getTypeOfSymbol(prop), childPath, errors)
      } else if (index != null) {
        this.walk(item, index.type, childPath, errors)
      } else {
        const known = c.getPropertiesOfType(type).map(p => p.name)
        const near = known.filter(name => editDistance(name.toLowerCase(), key.toLowerCase()) <= 2)
        errors.push(`${childPath}: unknown field "${key}"${near.length > 0 ? ` (did you mean ${near.map(n => `"${n}"`).join(' or ')}?)` : ''}`)
      }
    }
    for (const prop of c.getPropertiesOfType(type)) {
      if ((prop.flags & ts.SymbolFlags.Optional) === 0 && !(prop.name in record)) {
        errors.push(`${path === '' ? prop.name : `${path}.${prop.name}`}: required field missing`)
      }
    }
  }
}

const KINDS: Array<[apiVersion: string, kind: string]> = [
  ['v1', 'Namespace'], ['v1', 'Service'], ['v1', 'ConfigMap'], ['v1', 'Secret'],
  ['apps/v1', 'Deployment'], ['policy/v1', 'PodDisruptionBudget'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'], ['monitoring.coreos.com/v1', 'ServiceMonitor']
]
const typeKey = (apiVersion: string, kind: string): string => `${apiVersion}/${kind}`
/** the Grafana dashboard model (schema v1, the JSON model Grafana imports) */
const DASHBOARD_TYPE = 'grafana/Dashboard'
let strictTypes: StrictTypes | undefined
function strict (): StrictTypes {
  strictTypes ??= new StrictTypes({
    ...Object.fromEntries(KINDS.map(([apiVersion, kind]) => [typeKey(apiVersion, kind), { module: modelModule(apiVersion, kind), name: `I${kind}` }])),
    [DASHBOARD_TYPE]: { module: '@grafana/schema', name: 'Dashboard' }
  })
  return strictTypes
}

/** every problem with one manifest: the API schema, then unknown fields and types */
async function manifestErrors (obj: Manifest): Promise<string[]> {
  const errors = await schemaErrors(obj)
  const key = typeKey(obj.apiVersion, obj.kind)
  if (!strict().has(key)) return [...errors, `${key}: add it to KINDS in test/unit/k8s.test.ts to check its fields`]
  return [...errors, ...strict().check(key, obj)]
}

// ---------------------------------------------------------------------------------------------
// Loading: kustomize renders, raw resource files, examples.
// ---------------------------------------------------------------------------------------------

function hasKubectl (): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}
const KUBECTL = hasKubectl()
const noKubectl = KUBECTL ? false : 'kubectl is not installed: it renders the kustomizations (kubectl kustomize)'

function parseDocs (text: string, source: string): Manifest[] {
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${source} document ${i + 1}: ${doc.errors[0]!.message}`)
    return doc.toJS() as Manifest
  }).filter(obj => obj != null)
}

function render (dir: string): Manifest[] {
  const out = execFileSync('kubectl', ['kustomize', join(REPO, dir)], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] })
  return parseDocs(out, `kubectl kustomize ${dir}`)
}

function walkFiles (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walkFiles(path) : [path]
  })
}

interface Kustomization {
  resources?: string[]
  configMapGenerator?: Array<{ name: string, files?: string[], behavior?: string }>
  patches?: Array<{ path?: string }>
}

const kustomizationDirs = walkFiles(K8S).filter(f => f.endsWith('/kustomization.yaml')).map(f => relative(REPO, dirname(f))).sort()
const readKustomization = (dir: string): Kustomization => parseYaml(readFileSync(join(REPO, dir, 'kustomization.yaml'), 'utf8')) as Kustomization
const exampleFiles = readdirSync(join(K8S, 'examples')).filter(f => f.endsWith('.yaml') && !f.endsWith('.values.yaml')).map(f => join('k8s/examples', f))

/** the resource files (not directories) a kustomization lists */
function resourceFiles (dir: string): string[] {
  return (readKustomization(dir).resources ?? []).map(r => join(dir, r)).filter(p => statSync(join(REPO, p)).isFile())
}

// ---------------------------------------------------------------------------------------------
// Cross-reference helpers
// ---------------------------------------------------------------------------------------------

const of = <T>(objs: Manifest[], kind: string): T[] => objs.filter(o => o.kind === kind) as unknown as T[]
const podSpec = (d: IDeployment): IPodSpec => d.spec!.template.spec!
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v)

/** the Secrets deploy.sh creates (its KEY_SECRETS and API_TOKEN_SECRET declarations) */
function secretsFromDeployScript (): string[] {
  const text = readFileSync(join(REPO, 'deploy.sh'), 'utf8')
  const keys = /^readonly KEY_SECRETS=\(([^)]*)\)/m.exec(text)?.[1]?.trim().split(/\s+/) ?? []
  const token = /^readonly API_TOKEN_SECRET=([a-z0-9-]+)/m.exec(text)?.[1]
  return [...keys, ...(token != null ? [token] : [])]
}

/** a container's port number for a name or number, undefined when it has no such port */
function containerPort (container: IContainer, port: string | number | undefined): number | undefined {
  const ports = container.ports ?? []
  return typeof port === 'number' ? ports.find(p => p.containerPort === port)?.containerPort : ports.find(p => p.name === port)?.containerPort
}

/** the environment a container starts with, $(VAR) expanded, values from Secrets stubbed */
function containerEnv (container: IContainer, podIp = '10.42.0.7'): Record<string, string> {
  const env: Record<string, string> = {}
  for (const e of container.env ?? []) {
    if (e.value != null) env[e.name] = e.value.replace(/\$\(([A-Z0-9_]+)\)/g, (_, name: string) => env[name] ?? `$(${name})`)
    else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = podIp
    else if (e.valueFrom?.secretKeyRef != null) env[e.name] = '0123456789abcdef0123456789abcdef'
    else if (e.valueFrom?.fieldRef != null) env[e.name] = `stub-${e.valueFrom.fieldRef.fieldPath}`
  }
  return env
}

function mountFor (container: IContainer, path: string): { name: string, mountPath: string } | undefined {
  return (container.volumeMounts ?? [])
    .filter(m => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0]
}

/** the config a Deployment's node runs with: its ConfigMap mounted at /app/config.yaml, plus its env */
function deploymentConfig (d: IDeployment, objs: Manifest[]): { config: Config, text: string, container: IContainer } {
  const spec = podSpec(d)
  const container = spec.containers[0]!
  const configIndex = (container.args ?? []).indexOf('--config')
  assert.ok(configIndex >= 0, `${d.metadata!.name}: args must pass --config`)
  const configPath = container.args![configIndex + 1]!
  const mount = mountFor(container, configPath)
  assert.ok(mount != null, `${d.metadata!.name}: nothing is mounted at ${configPath}`)
  const volume = spec.volumes?.find(v => v.name === mount.name)
  const cmName = volume?.configMap?.name
  assert.ok(cmName != null, `${d.metadata!.name}: ${configPath} is not from a ConfigMap`)
  const cm = of<IConfigMap>(objs, 'ConfigMap').find(c => c.metadata?.name === cmName)
  assert.ok(cm != null, `${d.metadata!.name}: ConfigMap ${cmName} is not in the build`)
  const key = (container.volumeMounts ?? []).find(m => m.name === mount.name)?.subPath ?? configPath.slice(mount.mountPath.length + 1)
  const text = cm.data?.[key]
  assert.ok(text != null, `${d.metadata!.name}: ConfigMap ${cmName} has no key ${key}`)
  const config = parseConfig(text, `ConfigMap ${cmName} (${d.metadata!.name})`, { env: containerEnv(container) })
  return { config, text, container }
}

/** every environment variable the node reads: the config overrides, and process.env.X in src/ */
const NODE_ENV = new Set([
  ...Object.keys(ENV_OVERRIDES),
  ...walkFiles(join(REPO, 'src')).filter(f => f.endsWith('.ts')).flatMap(f => [...readFileSync(f, 'utf8').matchAll(/process\.env\.([A-Z0-9_]+)/g)].map(m => m[1]!))
])
/** how long SIGTERM waits for running tasks when P2P_DRAIN_MS is not set (src/main.ts) */
const DEFAULT_DRAIN_MS = Number(/P2P_DRAIN_MS \?\? ([\d_]+)/.exec(readFileSync(join(REPO, 'src/main.ts'), 'utf8'))?.[1]?.replaceAll('_', '') ?? 25_000)

// ---------------------------------------------------------------------------------------------

describe('k8s manifests', () => {
  const rendered = new Map<string, Manifest[]>()
  before(() => {
    if (!KUBECTL) return
    for (const dir of kustomizationDirs) rendered.set(dir, render(dir))
  })

  it('finds the kustomizations and examples it checks', () => {
    for (const dir of [...DEPLOYABLE, 'k8s/monitoring', 'k8s/bootstrap', 'k8s/relay', 'k8s/worker']) {
      assert.ok(kustomizationDirs.includes(dir), `${dir}/kustomization.yaml is missing`)
    }
    assert.ok(exampleFiles.includes('k8s/examples/hpa-worker-queue.yaml'))
  })

  it('the strict walk catches a misspelled field and a wrong type (negative test)', async () => {
    const deployment = parseDocs(readFileSync(join(K8S, 'worker/deployment.yaml'), 'utf8'), 'worker')[0]!
    assert.deepEqual(await manifestErrors(deployment), [])

    const typo = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> }
    typo.spec.replicass = typo.spec.replicas
    delete typo.spec.replicas
    const typoErrors = await manifestErrors(typo)
    assert.ok(typoErrors.some(e => e.includes('spec.replicass: unknown field "replicass"') && e.includes('did you mean "replicas"')), typoErrors.join('\n'))
    // kubernetes-models' own validate() alone lets the typo through: that is why the walk exists
    assert.deepEqual(await schemaErrors(typo), [])

    const wrongType = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> }
    wrongType.spec.replicas = 'three'
    const typeErrors = await manifestErrors(wrongType)
    assert.ok(typeErrors.some(e => e.includes('spec.replicas: "three" is not a number')), typeErrors.join('\n'))
    assert.ok((await schemaErrors(wrongType)).length > 0, 'the API schema rejects a string replica count too')

    const deep = structuredClone(deployment) as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } } & Manifest
    deep.spec.template.spec.containers[0]!.imagePullPolicyy = 'Always'
    deep.spec.template.spec.containers[0]!.ports = [{ containerPort: '4001' }]
    const deepErrors = await manifestErrors(deep)
    assert.ok(deepErrors.some(e => e.startsWith('spec.template.spec.containers[0].imagePullPolicyy: unknown field')), deepErrors.join('\n'))
    assert.ok(deepErrors.some(e => e.startsWith('spec.template.spec.containers[0].ports[0].containerPort: "4001" is not a number')), deepErrors.join('\n'))

    const missing = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> }
    delete missing.spec.selector
    assert.ok((await manifestErrors(missing)).some(e => e.startsWith('spec.selector: required field missing')))
  })

  it('every resource file and example passes the API schema and has no unknown field', async () => {
    const files = [...new Set([...kustomizationDirs.flatMap(resourceFiles), ...exampleFiles])]
    assert.ok(files.length >= 10, `only ${files.length} files found`)
    for (const file of files) {
      for (const obj of parseDocs(readFileSync(join(REPO, file), 'utf8'), file)) {
        const errors = await manifestErrors(obj)
        assert.deepEqual(errors, [], `${file}: ${obj.kind} ${obj.metadata?.name}:\n  ${errors.join('\n  ')}`)
      }
    }
  })

  it('every rendered kustomization passes the API schema and has no unknown field', { skip: noKubectl }, async () => {
    for (const [dir, objs] of rendered) {
      assert.ok(objs.length > 0, `${dir} renders nothing`)
      for (const obj of objs) {
        const errors = await manifestErrors(obj)
        assert.deepEqual(errors, [], `${dir}: ${obj.kind} ${obj.metadata?.name}:\n  ${errors.join('\n  ')}`)
      }
    }
  })

  it('every file under k8s/ is used by a kustomization or is an example', () => {
    const used = new Set<string>()
    for (const dir of kustomizationDirs) {
      const k = readKustomization(dir)
      used.add(join(dir, 'kustomization.yaml'))
      for (const r of k.resources ?? []) used.add(join(dir, r))
      for (const g of k.configMapGenerator ?? []) for (const f of g.files ?? []) used.add(join(dir, f.includes('=') ? f.split('=')[1]! : f))
      for (const p of k.patches ?? []) if (p.path != null) used.add(join(dir, p.path))
    }
    const examples = readdirSync(join(K8S, 'examples')).map(f => join('k8s/examples', f))
    const unused = walkFiles(K8S).map(f => relative(REPO, f)).filter(f => !used.has(f) && !examples.includes(f) && !f.endsWith('.md'))
    assert.deepEqual(unused, [], 'files no kustomization uses (a typo in a resources list?)')
    for (const f of used) assert.ok(existsSync(join(REPO, f)), `${f} is listed but missing`)
  })

  it('each role config in k8s/ is a byte-for-byte copy of config/<role>.yaml', () => {
    for (const role of ROLES) {
      const k8sCopy = readFileSync(join(K8S, role, 'config.yaml'), 'utf8')
      const source = readFileSync(join(REPO, 'config', `${role}.yaml`), 'utf8')
      assert.equal(k8sCopy, source, `k8s/${role}/config.yaml differs from config/${role}.yaml: run ./build.sh --sync-config`)
    }
  })

  it('the Grafana dashboard matches the Dashboard model of @grafana/schema exactly (no unknown field)', () => {
    const dashboard = JSON.parse(readFileSync(join(K8S, 'monitoring/p2p-network-dashboard.json'), 'utf8')) as Record<string, unknown>
    assert.deepEqual(strict().check(DASHBOARD_TYPE, dashboard), [])
    const broken = structuredClone(dashboard) as { panels: Array<Record<string, unknown>>, graphTooltip: unknown }
    broken.panels[1]!.gridPoss = broken.panels[1]!.gridPos
    broken.graphTooltip = 7
    const errors = strict().check(DASHBOARD_TYPE, broken)
    assert.ok(errors.some(e => e.startsWith('panels[1]')), errors.join('\n'))
    assert.ok(errors.some(e => e.startsWith('graphTooltip: 7, expected')), errors.join('\n'))
  })

  describe('references between objects', { skip: noKubectl }, () => {
    for (const dir of DEPLOYABLE) {
      it(`${dir}: Services select pods, ports resolve, ConfigMaps and Secrets exist`, () => {
        const objs = rendered.get(dir)!
        const deployments = of<IDeployment>(objs, 'Deployment')
        const services = of<IService>(objs, 'Service')
        assert.ok(deployments.length > 0)
        assert.ok(objs.every(o => o.kind === 'Namespace' || o.metadata.namespace === 'net-test'), 'everything lives in net-test')
        assert.ok(objs.some(o => o.kind === 'Namespace' && o.metadata.name === 'net-test'), 'the Namespace is part of the build')

        for (const svc of services) {
          const selector = svc.spec?.selector ?? {}
          assert.ok(Object.keys(selector).length > 0, `Service ${svc.metadata?.name} has no selector`)
          const targets = deployments.filter(d => matches(selector, d.spec?.template.metadata?.labels))
          assert.ok(targets.length > 0, `Service ${svc.metadata?.name} selects no pod template (${JSON.stringify(selector)})`)
          for (const port of svc.spec?.ports ?? []) {
            for (const d of targets) {
              const target = port.targetPort ?? port.port
              assert.ok(containerPort(podSpec(d).containers[0]!, target) != null,
                `Service ${svc.metadata?.name} port ${port.name ?? port.port} targets ${target}, which ${d.metadata?.name} does not expose`)
            }
          }
        }

        const configMaps = new Set(of<IConfigMap>(objs, 'ConfigMap').map(c => c.metadata!.name))
        const secrets = new Set([...objs.filter(o => o.kind === 'Secret').map(o => o.metadata.name), ...secretsFromDeployScript()])
        for (const d of deployments) {
          const name = d.metadata!.name!
          const spec = podSpec(d)
          assert.ok(matches(d.spec!.selector.matchLabels ?? {}, d.spec!.template.metadata?.labels), `${name}: selector does not match its own pods`)
          for (const v of spec.volumes ?? []) {
            if (v.configMap != null) assert.ok(configMaps.has(v.configMap.name), `${name}: volume ${v.name} needs ConfigMap ${v.configMap.name}`)
            if (v.secret != null) assert.ok(secrets.has(v.secret.secretName!), `${name}: volume ${v.name} needs Secret ${v.secret.secretName}, which neither the build nor deploy.sh creates`)
          }
          for (const c of spec.containers) {
            const mounts = new Set((c.volumeMounts ?? []).map(m => m.name))
            for (const m of mounts) assert.ok(spec.volumes?.some(v => v.name === m), `${name}: mount ${m} has no volume`)
            for (const e of c.env ?? []) {
              const cmRef = e.valueFrom?.configMapKeyRef?.name
              const secretRef = e.valueFrom?.secretKeyRef?.name
              if (cmRef != null) assert.ok(configMaps.has(cmRef), `${name}: env ${e.name} needs ConfigMap ${cmRef}`)
              if (secretRef != null) assert.ok(secrets.has(secretRef), `${name}: env ${e.name} needs Secret ${secretRef}`)
            }
            for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
              if (probe?.httpGet != null) assert.ok(containerPort(c, probe.httpGet.port) != null, `${name}: a probe uses port ${probe.httpGet.port}, not a container port`)
            }
            const annotations = d.spec!.template.metadata?.annotations ?? {}
            if (annotations['prometheus.io/port'] != null) {
              assert.equal(containerPort(c, Number(annotations['prometheus.io/port'])), containerPort(c, 'api'), `${name}: prometheus.io/port is not the api port`)
            }
          }
        }
        for (const pdb of objs.filter(o => o.kind === 'PodDisruptionBudget') as unknown as Array<{ metadata: { name: string }, spec: { selector: { matchLabels: Record<string, string> } } }>) {
          assert.ok(deployments.some(d => matches(pdb.spec.selector.matchLabels, d.spec?.template.metadata?.labels)), `PDB ${pdb.metadata.name} selects no pods`)
        }
      })

      it(`${dir}: every node config passes the node's validation with its Deployment's environment`, () => {
        const objs = rendered.get(dir)!
        const services = of<IService>(objs, 'Service')
        for (const d of of<IDeployment>(objs, 'Deployment')) {
          const name = d.metadata!.name!
          const spec = podSpec(d)
          const { config, container } = deploymentConfig(d, objs)
          assert.equal(config.node.role, d.spec!.template.metadata?.labels?.role, `${name}: the config's role is not the pod's role label`)
          assert.equal(config.node.listenPort, containerPort(container, 'p2p'), `${name}: node.listen_port is not the p2p container port`)
          assert.equal(config.api.enabled, true, `${name}: the probes need the API`)
          assert.equal(config.api.port, containerPort(container, 'api'), `${name}: api.port is not the api container port`)
          assert.equal(config.api.host, '0.0.0.0', `${name}: the kubelet probes the pod IP, so the API must listen on 0.0.0.0`)

          for (const e of container.env ?? []) {
            if (e.name.startsWith('P2P_') || e.name === 'LOG_LEVEL') assert.ok(NODE_ENV.has(e.name), `${name}: env ${e.name} is not a variable the node reads (ENV_OVERRIDES in src/config/defaults.ts, or process.env in src/)`)
            const defined = (container.env ?? []).slice(0, (container.env ?? []).indexOf(e)).map(x => x.name)
            for (const [, ref] of (e.value ?? '').matchAll(/\$\(([A-Za-z0-9_]+)\)/g)) {
              assert.ok(defined.includes(ref!), `${name}: env ${e.name} uses $(${ref}) before it is defined, so Kubernetes leaves it unexpanded`)
            }
          }
          for (const address of config.node.announce) assert.doesNotThrow(() => multiaddr(address), `${name}: announce ${address}`)

          // the root filesystem is read-only: everything the node writes must be on a volume
          assert.equal(container.securityContext?.readOnlyRootFilesystem, true, `${name}: readOnlyRootFilesystem`)
          assert.equal(container.securityContext?.allowPrivilegeEscalation, false, `${name}: allowPrivilegeEscalation`)
          assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL'], `${name}: drop ALL capabilities`)
          assert.equal(spec.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`)
          for (const [what, path] of [['data_dir', config.node.dataDir], ['/tmp', '/tmp']] as const) {
            const mount = mountFor(container, path)
            const volume = spec.volumes?.find(v => v.name === mount?.name)
            assert.ok(volume?.emptyDir != null, `${name}: ${what} (${path}) must be on an emptyDir volume`)
          }
          if (config.node.identityFile != null) {
            const volume = spec.volumes?.find(v => v.name === mountFor(container, config.node.identityFile!)?.name)
            assert.ok(volume?.secret?.secretName != null, `${name}: identity_file ${config.node.identityFile} must come from a Secret`)
          }
          // SIGTERM drains running tasks: the grace period must outlast the longest task timeout
          const longestTaskMs = Math.max(config.tasks.defaultTimeoutMs, ...Object.values(config.tasks.handlers).map(h => 'timeoutMs' in h ? h.timeoutMs ?? 0 : 0))
          const drainMs = Number(containerEnv(container).P2P_DRAIN_MS ?? DEFAULT_DRAIN_MS)
          const graceMs = (spec.terminationGracePeriodSeconds ?? 30) * 1000
          assert.ok(graceMs >= drainMs + 5000, `${name}: terminationGracePeriodSeconds must outlast the drain (${drainMs} ms) and the stop`)
          if (config.tasks.slots > 0) {
            assert.ok(drainMs >= longestTaskMs, `${name}: the drain on SIGTERM (P2P_DRAIN_MS ${drainMs}) is shorter than a ${longestTaskMs} ms task`)
          }

          // cluster-local names in the config must be Services of this build, with the port dialled
          const clusterNames = [...config.network.bootstrapPeers, ...config.network.dnsDiscovery.map(n => `/dns4/${n}/tcp/${config.node.listenPort}`)]
          for (const entry of clusterNames) {
            const match = /^\/dns[46]?\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local\/tcp\/(\d+)/.exec(entry)
            if (match == null) continue
            const [, svcName, ns, port] = match
            const svc = services.find(s => s.metadata?.name === svcName && s.metadata?.namespace === ns)
            if (dir === 'k8s/overlays/remote-workers' && svcName !== 'p2p-workers') continue
            assert.ok(svc != null, `${name}: ${entry} names Service ${svcName}.${ns}, which is not in the build`)
            assert.ok(svc.spec?.ports?.some(p => p.port === Number(port)), `${name}: Service ${svcName} has no port ${port}`)
          }
          for (const n of config.network.dnsDiscovery) {
            const svcName = n.split('.')[0]
            assert.equal(services.find(s => s.metadata?.name === svcName)?.spec?.clusterIP, 'None', `${name}: dns_discovery ${n} must be a headless Service (one record per pod)`)
          }
        }
      })
    }

    it('the ServiceMonitor scrapes the api port of the network\'s Services', () => {
      const base = rendered.get('k8s')!
      const [monitor] = of<IServiceMonitor>(rendered.get('k8s/monitoring')!, 'ServiceMonitor')
      assert.ok(monitor != null)
      const selected = of<IService>(base, 'Service').filter(s => matches(monitor.spec.selector.matchLabels ?? {}, s.metadata?.labels))
      assert.deepEqual(selected.map(s => s.metadata?.name).sort(), ['p2p-bootstrap', 'p2p-relay', 'p2p-workers'])
      for (const endpoint of monitor.spec.endpoints ?? []) {
        for (const s of selected) assert.ok(s.spec?.ports?.some(p => p.name === endpoint.port), `Service ${s.metadata?.name} has no port named ${endpoint.port}`)
      }
      assert.deepEqual(monitor.spec.namespaceSelector?.matchNames, ['net-test'])
    })

    it('the HPA example scales the worker Deployment on a metric the node exports', async () => {
      const hpa = (parseDocs(readFileSync(join(K8S, 'examples/hpa-worker-queue.yaml'), 'utf8'), 'hpa') as unknown as IHorizontalPodAutoscaler[])[0]
      assert.ok(hpa?.spec != null)
      const target = hpa.spec.scaleTargetRef
      assert.ok(of<IDeployment>(rendered.get('k8s')!, 'Deployment').some(d => d.metadata?.name === target.name && target.kind === 'Deployment'))
      const { METRIC_NAMES } = await import('../../src/metrics/index.ts')
      for (const m of hpa.spec.metrics ?? []) {
        const metricName = m.external?.metric.name ?? m.pods?.metric.name ?? m.object?.metric.name
        assert.ok(metricName != null && (METRIC_NAMES as string[]).includes(metricName), `the HPA uses ${metricName}`)
      }
    })

    it('the remote worker pool joins through an address outside the cluster', () => {
      const [worker] = of<IDeployment>(rendered.get('k8s/overlays/remote-workers')!, 'Deployment')
      const { config } = deploymentConfig(worker!, rendered.get('k8s/overlays/remote-workers')!)
      assert.ok(config.network.bootstrapPeers.length > 0)
      for (const peer of config.network.bootstrapPeers) assert.doesNotMatch(peer, /\.svc\.cluster\.local/, 'the home cluster\'s Service names do not resolve in another cluster')
      assert.equal(config.network.enableRelay, true)
      const objs = rendered.get('k8s/overlays/remote-workers')!
      assert.deepEqual(objs.filter(o => o.kind === 'Deployment').map(o => o.metadata.name), ['p2p-worker'], 'only the worker pool runs in the other cluster')
      const relayExternal = rendered.get('k8s/overlays/relay-external')!
      const external = of<IService>(relayExternal, 'Service').find(s => s.spec?.type === 'LoadBalancer')
      assert.ok(external != null && external.spec?.ports?.every(p => p.port === 4001), 'the relay is exposed on 4001 only (never the API)')
      const relay = of<IDeployment>(relayExternal, 'Deployment').find(d => d.metadata?.name === 'p2p-relay')!
      const relayConfig = deploymentConfig(relay, relayExternal).config
      const host = /^\/dns4\/([^/]+)/.exec(config.network.bootstrapPeers[0]!)?.[1]
      assert.ok(host != null && relayConfig.node.announce.some(a => a.includes(`/dns4/${host}/`)), `the relay announces ${host}, the address the remote pool dials`)
    })
  })
})
