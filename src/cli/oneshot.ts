/**
 * One command from the process arguments (`p2p-node peers --json`), for scripts: JSON on stdout with
 * --json, and an exit code that tells what happened.
 */
import { UsageError } from './args.ts'
import { errorMessage, helpText, runCommand } from './commands.ts'
import { RemoteApiError } from './remote-api.ts'
import type { RemoteNodeApi } from './remote-api.ts'

export const EXIT = {
  ok: 0,
  /** the task did not succeed, the id is unknown, or the node could not be asked */
  failed: 1,
  /** the command was typed wrong */
  usage: 2
} as const

interface Output { write(text: string): unknown }

/**
 * Runs `argv` (e.g. `['task', 'compute', 'hello', '--json']`) and returns the exit code. Human
 * output and errors go to `out` and `err`; with --json every answer, errors included, is one JSON
 * document on `out`.
 */
export async function runOneShot (
  argv: string[], api: RemoteNodeApi, out: Output, err: Output = out, options: { signal?: AbortSignal } = {}
): Promise<number> {
  const end = argv.indexOf('--')
  const head = end === -1 ? argv : argv.slice(0, end)
  const json = head.includes('--json')
  const words = [...head.filter(word => word !== '--json'), ...(end === -1 ? [] : argv.slice(end))]

  const fail = (code: number, errorCode: string, message: string): number => {
    if (json) out.write(`${JSON.stringify({ error: { code: errorCode, message } }, null, 2)}\n`)
    else err.write(`error: ${message}\n`)
    return code
  }

  if (words.length === 0) {
    if (json) return fail(EXIT.usage, 'usage', 'no command given')
    err.write(`${helpText()}\n`)
    return EXIT.usage
  }
  try {
    const ctx = options.signal === undefined ? { api } : { api, signal: options.signal }
    const outcome = await runCommand(ctx, words, { repl: false })
    if (outcome.errorCode !== undefined) return fail(EXIT.failed, outcome.errorCode, outcome.text)
    if (json) out.write(`${JSON.stringify(outcome.data, null, 2)}\n`)
    else if (outcome.text !== '') out.write(`${outcome.text}\n`)
    return outcome.ok ? EXIT.ok : EXIT.failed
  } catch (e) {
    if (e instanceof UsageError) {
      const code = fail(EXIT.usage, 'usage', e.message)
      if (!json && e.command !== undefined) err.write(`usage: p2p-node ${e.command.usage}\n`)
      return code
    }
    return fail(EXIT.failed, e instanceof RemoteApiError ? e.code : 'error', errorMessage(e))
  }
}
