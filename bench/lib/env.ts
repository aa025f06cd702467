/** Versions and machine facts recorded with every result. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { redisVersion } from './bullmq.ts'
import { ROOT } from './p2p.ts'

function pkgVersion (name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'not installed'
  }
}

export interface Versions { [name: string]: string }

export function versions (): Versions {
  return {
    node: process.version,
    libp2p: pkgVersion('libp2p'),
    '@libp2p/gossipsub': pkgVersion('@libp2p/gossipsub'),
    '@chainsafe/libp2p-yamux': pkgVersion('@chainsafe/libp2p-yamux'),
    '@chainsafe/libp2p-noise': pkgVersion('@chainsafe/libp2p-noise'),
    bullmq: pkgVersion('bullmq'),
    ioredis: pkgVersion('ioredis'),
    redis: redisVersion()
  }
}

export interface Machine { cpus: number, cpuModel: string, memoryGiB: number, kernel: string, loadavg: number[] }

export function machine (): Machine {
  const list = cpus()
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    kernel: release(),
    loadavg: loadavg().map(v => Math.round(v * 100) / 100)
  }
}

export interface Source { commit: string, dirtySrcFiles: string[] }

/** The commit measured, and which files under src/ differed from it (the tree is shared). */
export function source (): Source {
  const git = (...args: string[]): string => {
    try { return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trimEnd() } catch { return '' }
  }
  return {
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirtySrcFiles: git('status', '--porcelain', '--', 'src').split('\n').filter(l => l !== '').map(l => l.slice(3))
  }
}
