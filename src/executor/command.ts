import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import type { HandlerSpec } from '../config/types.ts'
import { ExecutionError, errorMessage } from './errors.ts'
import { TailBuffer } from './tail-buffer.ts'
import type { Handler } from './types.ts'

export type CommandHandlerSpec = Extract<HandlerSpec, { command: string[] }>

/** how much of stderr a failure message carries: enough for a stack trace's end, small enough to gossip */
export const STDERR_TAIL_BYTES = 2048

/**
 * After the command exits, how long to wait for stdout/stderr to reach EOF. Only a descendant that
 * escaped the process group (setsid) can hold them open that long; it must not hold the slot forever.
 */
export const STDIO_CLOSE_GRACE_MS = 1000

export interface CommandHandlerOptions {
  /** called once the process exists (not for spawn failures) */
  onSpawn?: (pid: number) => void
}

/**
 * A handler that runs `spec.command` without a shell: payload on stdin, result from stdout.
 * The process gets its own process group so a timeout or cancellation kills everything it started,
 * and anything still running in that group when the command exits is killed too: an attempt must not
 * leave work behind once its slot is released.
 */
export function createCommandHandler (spec: CommandHandlerSpec, options: CommandHandlerOptions = {}): Handler {
  return async (payload, { signal }) => {
    const [file, ...args] = spec.command
    if (file === undefined || file === '') {
      throw new ExecutionError('handler_error', 'the handler has an empty command')
    }
    signal.throwIfAborted()
    return runCommand(file, args, spec, payload, signal, options)
  }
}

function runCommand (
  file: string,
  args: string[],
  spec: CommandHandlerSpec,
  payload: Uint8Array,
  signal: AbortSignal,
  options: CommandHandlerOptions
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let child: ChildProcessWithoutNullStreams
    try {
      child = spawn(file, args, {
        detached: true,
        stdio: 'pipe',
        cwd: spec.cwd,
        // added to, not replacing, the node's environment: commands still need PATH, HOME and friends
        env: spec.env === undefined ? process.env : { ...process.env, ...spec.env },
        windowsHide: true
      })
    } catch (err) {
      // invalid arguments (e.g. a NUL byte) throw synchronously; start failures arrive as 'error'
      reject(new ExecutionError('handler_error', `cannot start "${file}": ${errorMessage(err)}`))
      return
    }

    const stdout: Buffer[] = []
    let stdoutBytes = 0
    const stderr = new TailBuffer(STDERR_TAIL_BYTES)
    /** the first reason we decided the attempt failed, which wins over how the process then exits */
    let failure: ExecutionError | undefined
    let exit: { code: number | null, signal: NodeJS.Signals | null } | undefined
    let graceTimer: NodeJS.Timeout | undefined
    let settled = false

    const killGroup = (): void => {
      if (child.pid === undefined) return
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch (err) {
        // ESRCH: the group is already empty. Anything else (EPERM) should not happen to our own
        // group; fall back to at least killing the direct child.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') child.kill('SIGKILL')
      }
    }

    const fail = (err: ExecutionError): void => {
      failure ??= err
      killGroup()
    }

    const onAbort = (): void => {
      const reason: unknown = signal.reason
      fail(reason instanceof ExecutionError ? reason : new ExecutionError('cancelled', `cancelled: ${errorMessage(reason)}`))
    }

    const settle = (): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      clearTimeout(graceTimer)
      if (failure !== undefined) {
        reject(failure)
      } else if (exit?.code === 0) {
        const output = Buffer.concat(stdout, stdoutBytes)
        resolve(new Uint8Array(output.buffer, output.byteOffset, output.byteLength))
      } else {
        reject(new ExecutionError('handler_error', describeExit(file, exit, stderr.text())))
      }
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= new ExecutionError('handler_error', describeSpawnError(file, spec.cwd, err))
      // a process that never started emits no 'exit', and 'close' is not promised either
      if (child.pid === undefined) settle()
    })
    child.on('exit', (code, exitSignal) => {
      exit = { code, signal: exitSignal }
      killGroup()
      graceTimer = setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
        settle()
      }, STDIO_CLOSE_GRACE_MS)
    })
    child.on('close', settle)

    child.stdout.on('data', (chunk: Buffer) => {
      if (failure !== undefined) return
      stdoutBytes += chunk.length
      if (stdoutBytes > spec.maxOutputBytes) {
        stdout.length = 0
        fail(new ExecutionError('output_too_large', `"${file}" wrote more than ${spec.maxOutputBytes} bytes to stdout`))
        return
      }
      stdout.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => { stderr.push(chunk) })
    // stream errors after spawn (EPIPE when the command exits without reading all of stdin) say
    // nothing the exit status does not; without listeners they would crash the node
    child.stdin.on('error', () => {})
    child.stdout.on('error', () => {})
    child.stderr.on('error', () => {})

    if (child.pid !== undefined) {
      signal.addEventListener('abort', onAbort, { once: true })
      // the signal may have fired while spawn() blocked
      if (signal.aborted) onAbort()
      options.onSpawn?.(child.pid)
    }
    child.stdin.end(payload)
  })
}

function describeSpawnError (file: string, cwd: string | undefined, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') {
    return cwd === undefined
      ? `cannot start "${file}": command not found`
      : `cannot start "${file}": command not found, or working directory "${cwd}" does not exist`
  }
  if (err.code === 'EACCES') return `cannot start "${file}": permission denied (is it executable?)`
  return `cannot start "${file}": ${err.message}`
}

function describeExit (file: string, exit: { code: number | null, signal: NodeJS.Signals | null } | undefined, stderrTail: string): string {
  const how = exit?.code != null
    ? `exited with code ${exit.code}`
    : `was killed by ${exit?.signal ?? 'an unknown signal'}`
  const tail = stderrTail.trim()
  return tail === '' ? `"${file}" ${how}` : `"${file}" ${how}; stderr: ${tail}`
}
