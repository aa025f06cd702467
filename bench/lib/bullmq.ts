/**
 * The BullMQ baseline: a redis-server the harness starts on 127.0.0.1 and a free port (no
 * persistence: --save '' --appendonly no) and stops afterwards, W worker processes
 * (bench/bullmq-worker.ts, concurrency 16, no-op processor), and the producer plus QueueEvents in
 * the bench process. Submit-to-result latency runs from queue.add() to the job's `completed` event
 * at the producer's QueueEvents, the event stream `job.waitUntilFinished()` also listens to.
 */
import { execFileSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { Queue, QueueEvents } from 'bullmq'
import { scripts } from './build.ts'
import { ROOT } from './p2p.ts'
import { Child, freePort } from './procs.ts'
import type { Outcome, Submitted, TaskSystem } from './system.ts'

export interface BullmqInit {
  /** scratch directory (redis working dir) */
  dir: string
  workers: number
  concurrency: number
  probe?: boolean
}

export function redisVersion (): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown'
  } catch {
    return 'not installed'
  }
}

export class Redis {
  private constructor (readonly child: Child, readonly port: number) {}

  static async start (dir: string): Promise<Redis> {
    const port = await freePort()
    const child = new Child({
      name: 'redis-server',
      command: 'redis-server',
      args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'notice'],
      env: process.env
    })
    try {
      await child.waitForLine(/Ready to accept connections/, 10_000)
    } catch (err) {
      await child.stop('SIGKILL', 1000)
      throw new Error(`redis-server did not start (apt-get install -y redis-server): ${(err as Error).message}`, { cause: err })
    }
    return new Redis(child, port)
  }

  async stop (): Promise<void> { await this.child.stop('SIGTERM', 3000) }
}

let queueSeq = 0

export class BullmqSystem implements TaskSystem {
  readonly name = 'bullmq' as const
  readonly workers: Child[] = []
  private readonly waiters = new Map<string, (o: Outcome) => void>()
  private readonly completed = new Set<string>()
  private twice = 0
  private nextId = 0
  private queue?: Queue
  private events?: QueueEvents

  private constructor (readonly redis: Redis, private readonly init: BullmqInit, readonly queueName: string) {}

  static async start (init: BullmqInit, timeoutMs = 30_000): Promise<BullmqSystem> {
    const redis = await Redis.start(init.dir)
    const sys = new BullmqSystem(redis, init, `bench-${process.pid}-${queueSeq++}`)
    try {
      const connection = { host: '127.0.0.1', port: redis.port }
      // QueueEvents reads the events stream; keep it long enough that a 10k burst never trims
      // events before they are read (the default is about 10,000 events)
      sys.queue = new Queue(sys.queueName, { connection, streams: { events: { maxLen: 200_000 } } })
      sys.events = new QueueEvents(sys.queueName, { connection })
      sys.events.on('completed', ({ jobId }) => { sys.settle(jobId, true, 'completed') })
      sys.events.on('failed', ({ jobId }) => { sys.settle(jobId, false, 'failed') })
      await Promise.all([sys.queue.waitUntilReady(), sys.events.waitUntilReady()])
      await Promise.all(Array.from({ length: init.workers }, async () => sys.spawnWorker().waitForLine(/worker ready/, timeoutMs)))
      return sys
    } catch (err) {
      await sys.stop()
      throw err
    }
  }

  spawnWorker (options: { probe?: boolean } = {}): Child {
    const child = new Child({
      name: `bullmq worker ${this.workers.length}`,
      args: [scripts().bullmqWorker.script, '--port', String(this.redis.port), '--queue', this.queueName, '--concurrency', String(this.init.concurrency)],
      // compiled the same way as the p2p workers (bench/lib/build.ts), so loader overhead is equal
      execArgv: [...scripts().bullmqWorker.execArgv, ...((options.probe ?? this.init.probe ?? false) ? ['--import', scripts().probe] : [])],
      ipc: true,
      cwd: ROOT
    })
    this.workers.push(child)
    return child
  }

  private settle (jobId: string, ok: boolean, status: string): void {
    const at = performance.now()
    if (this.completed.has(jobId)) { this.twice++; return }
    this.completed.add(jobId)
    const w = this.waiters.get(jobId)
    if (w != null) {
      this.waiters.delete(jobId)
      w({ ok, status, at })
    }
  }

  async submit (task: { type: string, payload: string } = { type: 'noop', payload: '' }): Promise<Submitted> {
    if (this.queue == null) throw new Error('not started')
    const jobId = `j${++this.nextId}`
    // the waiter exists before add(): the completed event may beat add()'s reply
    const done = new Promise<Outcome>(resolve => { this.waiters.set(jobId, resolve) })
    await this.queue.add(task.type, task.payload, { jobId })
    return { done }
  }

  completedTwice (): number { return this.twice }

  children (): Child[] { return [...this.workers, this.redis.child] }

  async stop (): Promise<void> {
    await Promise.all(this.workers.map(async w => w.stop('SIGTERM', 5000)))
    await this.events?.close().catch(() => {})
    await this.queue?.close().catch(() => {})
    await this.redis.stop()
  }
}
