/**
 * The REPL. Interactive: a prompt, Tab completion, history kept in a file, Ctrl-C stops waiting for
 * a task (not the node). Piped: every line runs in order and the result says whether all succeeded.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'
import { errorMessage, executeCommand } from './commands.ts'
import { complete, completionSource } from './completion.ts'
import { shortId } from './format.ts'
import type { RemoteNodeApi } from './remote-api.ts'
import type { Readable, Writable } from 'node:stream'

export interface ReplOptions {
  input: Readable
  output: Writable
  /** true: prompt, completion, history, Ctrl-C handling (a terminal); false: run piped lines in order */
  interactive: boolean
  /** where interactive history is kept between sessions (created with mode 0600) */
  historyFile?: string
  /** default 1000 */
  historySize?: number
  /** default `p2p> ` */
  prompt?: string
  /** ends the REPL from outside (the node is stopping); a waiting command stops waiting */
  signal?: AbortSignal
}

export const REPL_DEFAULTS = { prompt: 'p2p> ', historySize: 1000 } as const

/** Runs until `quit`, the end of input or `signal`; ok is false when any command failed. */
export async function runRepl (api: RemoteNodeApi, options: ReplOptions): Promise<{ ok: boolean }> {
  const { input, output, interactive } = options
  const historySize = options.historySize ?? REPL_DEFAULTS.historySize
  const historyFile = interactive ? options.historyFile : undefined
  const history = historyFile === undefined ? [] : await loadHistory(historyFile, historySize)
  const source = completionSource(api)

  const rl = createInterface({
    input,
    output,
    terminal: interactive,
    prompt: options.prompt ?? REPL_DEFAULTS.prompt,
    history,
    historySize,
    removeHistoryDuplicates: true,
    crlfDelay: Infinity,
    completer: interactive
      ? (line: string, callback: (err: null, result: [string[], string]) => void) => {
          complete(line, source).then(result => { callback(null, result) }, () => { callback(null, [[], line]) })
        }
      : undefined
  })

  let saving: Promise<void> = Promise.resolve()
  let saveFailed = false
  if (historyFile !== undefined) {
    rl.on('history', (lines: string[]) => {
      const snapshot = [...lines].reverse().map(line => line.trim())
      saving = saving
        .then(async () => { await saveHistory(historyFile, snapshot) })
        .catch((err: unknown) => {
          if (!saveFailed) output.write(`warning: history not saved to ${historyFile}: ${errorMessage(err)}\n`)
          saveFailed = true
        })
    })
  }

  let running: AbortController | undefined
  let interruptedOnce = false
  rl.on('SIGINT', () => {
    if (running !== undefined) {
      running.abort(new Error('interrupted'))
      return
    }
    if (rl.line !== '') {
      rl.write(null, { ctrl: true, name: 'e' })
      rl.write(null, { ctrl: true, name: 'u' })
      interruptedOnce = false
    } else if (interruptedOnce) {
      rl.close()
      return
    } else {
      interruptedOnce = true
      output.write('\n(press Ctrl-C again, Ctrl-D or type quit to leave)')
    }
    output.write('\n')
    rl.prompt()
  })

  const onOuterAbort = (): void => {
    running?.abort(options.signal?.reason)
    rl.close()
  }
  options.signal?.addEventListener('abort', onOuterAbort, { once: true })

  const outerAborted = (): boolean => options.signal?.aborted === true
  let ok = true
  try {
    if (outerAborted()) return { ok: false }
    if (interactive) {
      output.write(`${await banner(api)}\n`)
      rl.prompt()
    }
    for await (const line of rl) {
      interruptedOnce = false
      running = new AbortController()
      const signal = options.signal === undefined ? running.signal : AbortSignal.any([running.signal, options.signal])
      const result = await executeCommand(api, line, output, { signal })
      running = undefined
      if (!result.ok) ok = false
      if (result.quit || outerAborted()) break
      if (interactive) rl.prompt()
    }
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort)
    rl.close()
    await saving
  }
  return { ok }
}

async function banner (api: RemoteNodeApi): Promise<string> {
  const hint = 'Type "help" for commands; Tab completes, Ctrl-C stops waiting, "quit" leaves.'
  try {
    const status = await api.status()
    return `Node ${shortId(status.peerId)} (${status.role}, ${status.connectedPeers} peers connected). ${hint}`
  } catch (err) {
    return `The node does not answer yet (${errorMessage(err)}). ${hint}`
  }
}

/** newest first, as readline wants it; a missing file is an empty history */
async function loadHistory (file: string, size: number): Promise<string[]> {
  try {
    const lines = (await readFile(file, 'utf8')).split('\n').filter(line => line.trim() !== '')
    return lines.slice(-size).reverse()
  } catch {
    return []
  }
}

/** oldest first, one command a line */
async function saveHistory (file: string, lines: string[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 })
}
