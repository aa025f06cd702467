/**
 * The operator commands, shared by the REPL and the one-shot CLI. `COMMANDS` is one map typed over
 * {@link CommandName}: a name without an entry, or an entry without usage, help for each option
 * and a completion kind, does not compile.
 */
import { parseArgs } from 'node:util'
import { TERMINAL_STATUSES } from '../node-api.ts'
import { TASK_STATUSES } from '../api/wire.ts'
import { UsageError, parseDuration, parseList, parsePositiveInt, splitWords } from './args.ts'
import { formatAge, formatDuration, formatLabels, formatList, keyValues, shortId, table } from './format.ts'
import type { RemoteNodeApi } from './remote-api.ts'
import type { NodeStatus, PeerView, SubmitRequest, TaskStatus, TaskView } from '../node-api.ts'

export type CommandName = 'help' | 'peers' | 'status' | 'task' | 'capabilities' | 'tasks' | 'task-status' | 'cancel' | 'ledger' | 'quit'

/** what Tab completes for a command's first positional argument */
export type ArgumentCompletion = 'none' | 'command' | 'task-type' | 'task-id'

export interface CommandContext {
  api: RemoteNodeApi
  /** aborts a command that waits (Ctrl-C in the REPL); the node and the task go on */
  signal?: AbortSignal
}

export interface CommandOutcome {
  /** false when the command failed: a task that did not succeed, an unknown id, an error */
  ok: boolean
  /** what a person reads */
  text: string
  /** what `--json` prints */
  data: unknown
  /** `quit`: leave the REPL */
  quit?: boolean
  /** set when the command failed without an answer (an unknown id): `text` is the error message */
  errorCode?: 'not_found'
}

type OptionSpec = { type: 'string' } | { type: 'boolean' }
type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string
}

interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** `task <type> <payload> [--require a,b]` */
  usage: string
  summary: string
  aliases?: readonly string[]
  options: O
  /** one line per option, so the help cannot miss one */
  optionHelp: { [K in keyof O]: string }
  argument: ArgumentCompletion
  /** only meaningful in the REPL (`quit`) */
  replOnly?: boolean
  run(ctx: CommandContext, values: OptionValues<O>, positionals: string[]): Promise<CommandOutcome>
}

/** A command with its option types erased, ready to run on raw words. */
export interface Command {
  usage: string
  summary: string
  aliases: readonly string[]
  optionNames: readonly string[]
  /** options that take a value (`--timeout 30s`) */
  valueOptions: readonly string[]
  optionHelp: Readonly<Record<string, string>>
  argument: ArgumentCompletion
  replOnly: boolean
  invoke(ctx: CommandContext, args: string[]): Promise<CommandOutcome>
}

function command<O extends Record<string, OptionSpec>> (spec: CommandSpec<O>): Command {
  return {
    usage: spec.usage,
    summary: spec.summary,
    aliases: spec.aliases ?? [],
    optionNames: Object.keys(spec.options),
    valueOptions: Object.entries(spec.options).filter(([, o]) => o.type === 'string').map(([name]) => name),
    optionHelp: spec.optionHelp,
    argument: spec.argument,
    replOnly: spec.replOnly ?? false,
    invoke: async (ctx, args) => {
      let parsed
      try {
        parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true })
      } catch (err) {
        throw new UsageError((err as Error).message.replace(/\s*To specify a positional argument.*$/s, ''))
      }
      return spec.run(ctx, parsed.values, parsed.positionals)
    }
  }
}

const NO_OPTIONS = { options: {}, optionHelp: {} }

/** A command on one existing task, `<command> <id>`: an unknown id answers not_found before `run`. */
function taskCommand (spec: {
  usage: string
  summary: string
  run(api: RemoteNodeApi, task: TaskView): Promise<CommandOutcome>
}): Command {
  return command({
    usage: spec.usage,
    summary: spec.summary,
    ...NO_OPTIONS,
    argument: 'task-id',
    run: async ({ api }, _values, positionals) => {
      const id = oneId(positionals)
      const task = await api.get(id)
      if (task === undefined) return notFound(id)
      return spec.run(api, task)
    }
  })
}

export const COMMANDS = {
  help: command({
    usage: 'help [command]',
    summary: 'list the commands, or explain one',
    ...NO_OPTIONS,
    argument: 'command',
    run: async (_ctx, _values, [name]) => {
      if (name === undefined) return done(true, helpText(), commandList())
      const found = findCommand(name)
      if (found === undefined) throw new UsageError(unknownCommandMessage(name))
      const [, cmd] = found
      const lines = [`usage: ${cmd.usage}`, `  ${cmd.summary}`]
      for (const option of cmd.optionNames) lines.push(`  --${option.padEnd(10)} ${cmd.optionHelp[option] ?? ''}`)
      return done(true, lines.join('\n'), { usage: cmd.usage, summary: cmd.summary, options: cmd.optionHelp })
    }
  }),
  peers: command({
    usage: 'peers [--healthy]',
    summary: 'known peers: role, address, round-trip time, health, capabilities, credits',
    options: { healthy: { type: 'boolean' } },
    optionHelp: { healthy: 'only peers that pass the health check' },
    argument: 'none',
    run: async ({ api }, values, positionals) => {
      noPositionals(positionals)
      const peers = await api.peers(values.healthy === true ? { healthy: true } : undefined)
      return done(true, peersTable(peers), peers)
    }
  }),
  status: command({
    usage: 'status',
    summary: 'this node: identity, role, addresses, peers, slots, tasks',
    ...NO_OPTIONS,
    argument: 'none',
    run: async ({ api }, _values, positionals) => {
      noPositionals(positionals)
      const status = await api.status()
      return done(true, statusText(status), status)
    }
  }),
  task: command({
    usage: 'task <type> <payload> [--require a,b] [--selector "zone=b"] [--timeout 30s] [--attempts N] [--no-wait]',
    summary: 'run a task on a capable worker and print its result (Ctrl-C stops waiting)',
    options: {
      require: { type: 'string' },
      selector: { type: 'string' },
      timeout: { type: 'string' },
      attempts: { type: 'string' },
      'no-wait': { type: 'boolean' }
    },
    optionHelp: {
      require: 'capabilities the worker must have (default: the type)',
      selector: 'label selector the worker must match, e.g. "zone=b,tier!=spot"',
      timeout: 'execution timeout of each attempt, e.g. 30s',
      attempts: 'most attempts before the task fails',
      'no-wait': 'print the task id and return at once'
    },
    argument: 'task-type',
    run: async ({ api, signal }, values, positionals) => {
      const [type, ...rest] = positionals
      if (type === undefined || rest.length === 0) {
        throw new UsageError('give a task type and a payload, e.g. task compute hello (use "" for an empty payload)')
      }
      const request: SubmitRequest = { type, payload: rest.join(' ') }
      if (values.require !== undefined) request.requires = parseList(values.require)
      if (values.selector !== undefined) request.selector = values.selector
      if (values.timeout !== undefined) request.timeoutMs = parseDuration(values.timeout, '--timeout')
      if (values.attempts !== undefined) request.maxAttempts = parsePositiveInt(values.attempts, '--attempts', 1000)
      const submitted = await api.submit(request)
      if (values['no-wait'] === true) {
        return done(true, `submitted task ${submitted.id} (${submitted.status}); "task-status ${submitted.id}" shows it`, submitted)
      }
      let final: TaskView
      try {
        final = await api.wait(submitted.id, signal === undefined ? undefined : { signal })
      } catch (err) {
        if (signal?.aborted !== true) throw err
        return done(false,
          `stopped waiting; task ${submitted.id} goes on: "task-status ${submitted.id}" shows it, "cancel ${submitted.id}" stops it`,
          await api.get(submitted.id) ?? submitted)
      }
      return done(final.status === 'succeeded', taskOutcomeText(final), final)
    }
  }),
  capabilities: command({
    usage: 'capabilities',
    summary: 'what each known worker can run, and how busy it is',
    ...NO_OPTIONS,
    argument: 'none',
    run: async ({ api }, _values, positionals) => {
      noPositionals(positionals)
      const caps = await api.capabilities()
      const now = Date.now()
      const text = caps.length === 0
        ? 'no capabilities known yet (workers advertise theirs when they join)'
        : table(['PEER', 'ROLE', 'CAPABILITIES', 'TASK TYPES', 'LABELS', 'FREE/SLOTS', 'QUEUE', 'LOAD', 'HEARTBEAT'],
          caps.map(c => [
            `${shortId(c.peerId)}${c.self ? ' (self)' : ''}`, c.role, formatList(c.capabilities), formatList(c.taskTypes), formatLabels(c.labels),
            // no heartbeat heard yet (this node just started following load): the load is unknown
            ...(c.lastHeartbeat == null ? [`?/${c.slots}`, '?', '?'] : [`${c.freeSlots}/${c.slots}`, String(c.queue), c.load.toFixed(2)]),
            formatAge(c.lastHeartbeat, now)
          ]))
      return done(true, text, caps)
    }
  }),
  tasks: command({
    usage: 'tasks [--status <status>] [--limit N]',
    summary: 'tasks submitted on this node, newest first',
    options: { status: { type: 'string' }, limit: { type: 'string' } },
    optionHelp: { status: `only tasks in this status (${TASK_STATUSES.join(', ')})`, limit: 'at most this many (default 20)' },
    argument: 'none',
    run: async ({ api }, values, positionals) => {
      noPositionals(positionals)
      const status = values.status === undefined ? undefined : parseStatus(values.status)
      const limit = values.limit === undefined ? 20 : parsePositiveInt(values.limit, '--limit', 10_000)
      const tasks = await api.list(status === undefined ? { limit } : { status, limit })
      const now = Date.now()
      const text = tasks.length === 0
        ? 'no tasks'
        : table(['ID', 'TYPE', 'STATUS', 'ATTEMPTS', 'WORKER', 'DURATION', 'SUBMITTED'],
          tasks.map(t => [t.id, t.type, t.status, `${t.attempts}/${t.maxAttempts}`, t.worker === undefined ? '-' : shortId(t.worker),
            t.durationMs === undefined ? '-' : formatDuration(t.durationMs), formatAge(t.submittedAt, now)]))
      return done(true, text, tasks)
    }
  }),
  'task-status': taskCommand({
    usage: 'task-status <id>',
    summary: 'one task in detail, with every attempt',
    run: async (_api, task) => done(true, taskDetailText(task), task)
  }),
  cancel: taskCommand({
    usage: 'cancel <id>',
    summary: 'cancel a task wherever it is; a running attempt is aborted',
    run: async (api, task) => {
      if (TERMINAL_STATUSES.has(task.status)) return done(true, `task ${task.id} already ended: ${task.status}`, task)
      const cancelled = await api.cancel(task.id)
      return done(true, `task ${task.id}: ${cancelled.status}`, cancelled)
    }
  }),
  ledger: command({
    usage: 'ledger',
    summary: 'credits this node owes each worker, with its completed and failed tasks and reputation',
    ...NO_OPTIONS,
    argument: 'none',
    run: async ({ api }, _values, positionals) => {
      noPositionals(positionals)
      const entries = await api.ledger()
      const text = entries.length === 0
        ? 'no worker has completed a task for this node yet'
        : table(['WORKER', 'CREDITS', 'COMPLETED', 'FAILED', 'MEAN LATENCY', 'REPUTATION'], entries.map(e => [
          shortId(e.worker), e.credits.toFixed(2), String(e.completed), String(e.failed), formatDuration(e.meanLatencyMs), e.reputation.toFixed(2)
        ]))
      return done(true, text, entries)
    }
  }),
  quit: command({
    usage: 'quit',
    summary: 'leave the REPL (also exit or Ctrl-D)',
    aliases: ['exit'],
    ...NO_OPTIONS,
    argument: 'none',
    replOnly: true,
    run: async () => ({ ok: true, text: '', data: null, quit: true })
  })
} satisfies Record<CommandName, Command>

/** every name Tab can complete at the start of a line, aliases included */
export const COMMAND_WORDS: readonly string[] = Object.entries(COMMANDS).flatMap(([name, cmd]) => [name, ...cmd.aliases]).sort()

export function findCommand (word: string): [CommandName, Command] | undefined {
  for (const [name, cmd] of Object.entries(COMMANDS) as Array<[CommandName, Command]>) {
    if (name === word || cmd.aliases.includes(word)) return [name, cmd]
  }
  return undefined
}

/**
 * Runs one command given as words. Throws {@link UsageError} for an unknown command or bad
 * arguments; other errors (the node unreachable, a refused submission) propagate as they are.
 */
export async function runCommand (ctx: CommandContext, words: string[], options: { repl: boolean }): Promise<CommandOutcome> {
  const [word, ...args] = words
  if (word === undefined) throw new UsageError('no command given; type help for the list')
  const found = findCommand(word)
  if (found === undefined) throw new UsageError(unknownCommandMessage(word))
  const [name, cmd] = found
  if (cmd.replOnly && !options.repl) throw new UsageError(`"${name}" only works in the REPL`)
  try {
    return await cmd.invoke(ctx, args)
  } catch (err) {
    if (err instanceof UsageError && name !== 'help') throw new UsageError(err.message, { name, usage: cmd.usage })
    throw err
  }
}

export interface ExecuteResult { ok: boolean, quit: boolean }

/**
 * Runs one command line and writes its answer (or a one-line error, never a stack) to `out`.
 * Blank lines and `#` comments do nothing.
 */
export async function executeCommand (
  api: RemoteNodeApi, line: string, out: { write(text: string): unknown }, options: { signal?: AbortSignal } = {}
): Promise<ExecuteResult> {
  try {
    const words = splitWords(line)
    if (words.length === 0 || words[0]!.startsWith('#')) return { ok: true, quit: false }
    const ctx: CommandContext = options.signal === undefined ? { api } : { api, signal: options.signal }
    const outcome = await runCommand(ctx, words, { repl: true })
    if (outcome.errorCode !== undefined) out.write(`error: ${outcome.text}\n`)
    else if (outcome.text !== '') out.write(`${outcome.text}\n`)
    return { ok: outcome.ok, quit: outcome.quit === true }
  } catch (err) {
    // one line: the REPL user asks "help <command>" for the usage
    const hint = err instanceof UsageError && err.command !== undefined ? `; "help ${err.command.name}" shows the usage` : ''
    out.write(`error: ${errorMessage(err)}${hint}\n`)
    return { ok: false, quit: false }
  }
}

export function errorMessage (err: unknown): string {
  if (err instanceof Error) return err.message === '' ? err.name : err.message
  return String(err)
}

export function helpText (): string {
  const rows = Object.values(COMMANDS).map(cmd => [cmd.usage.split(' [')[0] ?? cmd.usage, cmd.summary])
  return `${table(['COMMAND', 'WHAT IT DOES'], rows, { maxCellWidth: Infinity })}\n"help <command>" shows its options. Tab completes commands, task types and task ids.`
}

function commandList (): unknown {
  return Object.entries(COMMANDS).map(([name, cmd]) => ({ name, usage: cmd.usage, summary: cmd.summary }))
}

function unknownCommandMessage (word: string): string {
  const near = COMMAND_WORDS.filter(name => name.startsWith(word.slice(0, 2)) || editDistance(name, word) <= 2)
  return `unknown command "${word}"${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}; type help for the list`
}

function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length] ?? 0
}

function done (ok: boolean, text: string, data: unknown): CommandOutcome {
  return { ok, text, data }
}

function notFound (id: string): CommandOutcome {
  return { ok: false, text: `no task with id "${id}"; "tasks" lists the known ones`, data: null, errorCode: 'not_found' }
}

function noPositionals (positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
}

function oneId (positionals: string[]): string {
  const [id, extra] = positionals
  if (id === undefined) throw new UsageError('give a task id; "tasks" lists them')
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`)
  return id
}

function parseStatus (text: string): TaskStatus {
  const status = TASK_STATUSES.find(s => s === text)
  if (status === undefined) throw new UsageError(`--status must be one of ${TASK_STATUSES.join(', ')}`)
  return status
}

export function peersTable (peers: readonly PeerView[]): string {
  if (peers.length === 0) return 'no peers known yet'
  const sorted = [...peers].sort((a, b) => (a.role ?? '~').localeCompare(b.role ?? '~') || a.peerId.localeCompare(b.peerId))
  return table(['PEER', 'ROLE', 'ADDRESS', 'RTT', 'HEALTHY', 'CAPABILITIES', 'CREDITS'], sorted.map(p => [
    shortId(p.peerId),
    p.role ?? '?',
    peerAddress(p),
    p.rttMs === undefined ? '-' : `${p.rttMs < 10 ? p.rttMs.toFixed(1) : Math.round(p.rttMs)} ms`,
    p.healthy ? 'yes' : 'no',
    formatList(p.capabilities),
    p.credits.toFixed(2)
  ]))
}

/** the first address without its `/p2p/<id>` tail (the PEER column shows the id), and how many more there are */
function peerAddress (p: PeerView): string {
  const first = p.addresses[0]
  if (first === undefined) return '-'
  const address = first.endsWith(`/p2p/${p.peerId}`) ? first.slice(0, -`/p2p/${p.peerId}`.length) : first
  return address + (p.addresses.length > 1 ? ` (+${p.addresses.length - 1})` : '')
}

export function statusText (s: NodeStatus): string {
  return keyValues([
    ['peer id', s.peerId],
    ['role', s.role],
    ['version', `${s.version} (network ${s.protocolVersion})`],
    ['uptime', formatDuration(s.uptimeMs)],
    ['addresses', s.addresses.length === 0 ? '-' : s.addresses.join('\n')],
    ['peers', `${s.connectedPeers} connected, ${s.healthyPeers} healthy`],
    ['capabilities', formatList(s.capabilities)],
    ['labels', formatLabels(s.labels)],
    ['slots', `${s.running} running of ${s.slots}`],
    ['draining', s.draining ? 'yes' : 'no'],
    ['tasks', `${s.tasks.queued} queued, ${s.tasks.running} running, ${s.tasks.succeeded} succeeded, ${s.tasks.failed} failed, ${s.tasks.other} other`],
    ['relays', formatList(s.relayReservations)],
    ['load view', s.followsLoad ? 'every worker\'s heartbeats' : 'advertisements only (heartbeats followed once this node submits)']
  ])
}

export function taskOutcomeText (t: TaskView): string {
  const pairs: Array<[string, string]> = [['status', t.status], ['task', t.id]]
  if (t.result !== undefined) pairs.push([t.resultEncoding === 'base64' ? 'result (base64)' : 'result', t.result])
  if (t.error !== undefined) pairs.push(['error', t.error])
  pairs.push(
    ['worker', t.worker === undefined ? '-' : shortId(t.worker)],
    ['attempts', `${t.attempts} of ${t.maxAttempts}`],
    ['duration', t.durationMs === undefined ? '-' : formatDuration(t.durationMs)]
  )
  return keyValues(pairs)
}

export function taskDetailText (t: TaskView): string {
  const pairs: Array<[string, string]> = [
    ['task', t.id],
    ['type', t.type],
    ['status', t.status],
    ['requires', formatList(t.requires)],
    ['selector', t.selector ?? '-'],
    ['submitted', new Date(t.submittedAt).toISOString()]
  ]
  if (t.endedAt !== undefined) pairs.push(['ended', new Date(t.endedAt).toISOString()])
  if (t.result !== undefined) pairs.push([t.resultEncoding === 'base64' ? 'result (base64)' : 'result', t.result])
  if (t.error !== undefined) pairs.push(['error', t.error])
  pairs.push(
    ['worker', t.worker ?? '-'],
    ['attempts', `${t.attempts} of ${t.maxAttempts}`],
    ['duration', t.durationMs === undefined ? '-' : formatDuration(t.durationMs)]
  )
  let text = keyValues(pairs)
  if (t.history.length > 0) {
    text += '\n\n' + table(['ATTEMPT', 'WORKER', 'STARTED', 'TOOK', 'OUTCOME', 'ERROR'], t.history.map(a => [
      String(a.attempt), shortId(a.worker), new Date(a.startedAt).toISOString(),
      a.endedAt === undefined ? '-' : formatDuration(a.endedAt - a.startedAt), a.outcome ?? 'running', a.error ?? ''
    ]))
  }
  return text
}
