/** Tab completion for the REPL: command names, options, task types and task ids. */
import { COMMANDS, COMMAND_WORDS, findCommand } from './commands.ts'
import type { RemoteNodeApi } from './remote-api.ts'

/** Where completion gets the words it does not know itself; failures complete nothing. */
export interface CompletionSource {
  taskTypes(): Promise<string[]>
  taskIds(): Promise<string[]>
}

/** how many recent task ids completion offers */
export const COMPLETION_TASK_IDS = 100

export function completionSource (api: RemoteNodeApi): CompletionSource {
  return {
    taskTypes: async () => {
      const caps = await api.capabilities()
      return [...new Set(caps.flatMap(c => c.taskTypes))].sort()
    },
    taskIds: async () => (await api.list({ limit: COMPLETION_TASK_IDS })).map(t => t.id)
  }
}

/**
 * readline's completer contract: the candidates and the part of the line they replace. A single
 * candidate gets a trailing space so the next word can follow at once.
 */
export async function complete (line: string, source: CompletionSource): Promise<[string[], string]> {
  const words = line.trimStart().split(/\s+/)
  const current = words.pop() ?? ''
  const candidates = words.length === 0 ? COMMAND_WORDS : await argumentCandidates(words, current, source)
  const hits = candidates.filter(c => c.startsWith(current))
  return [hits.length === 1 ? [`${hits[0]} `] : hits, current]
}

async function argumentCandidates (words: string[], current: string, source: CompletionSource): Promise<readonly string[]> {
  const found = findCommand(words[0] ?? '')
  if (found === undefined) return []
  const [, cmd] = found
  if (current.startsWith('-')) return cmd.optionNames.map(name => `--${name}`)
  // only the first positional argument completes, and not where an option's value goes
  let positionals = 0
  let optionValueNext = false
  for (const word of words.slice(1)) {
    if (optionValueNext) optionValueNext = false
    else if (word.startsWith('--')) optionValueNext = !word.includes('=') && cmd.valueOptions.includes(word.slice(2))
    else positionals++
  }
  if (optionValueNext || positionals > 0) return []
  try {
    switch (cmd.argument) {
      case 'none': return []
      case 'command': return Object.keys(COMMANDS)
      case 'task-type': return await source.taskTypes()
      case 'task-id': return await source.taskIds()
    }
  } catch {
    return []
  }
}
