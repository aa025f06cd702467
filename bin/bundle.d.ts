// Types for bin/bundle.js (plain JavaScript, so the image's build stage runs it without a compiler).
import type { BuildOptions } from 'esbuild'

export function bundleOptions (init: { outdir: string, entryPoints: Record<string, string>, outExtension?: string, sourcemap?: boolean }): BuildOptions
export function bundle (init: { outdir: string, sourcemap?: boolean }): Promise<void>
