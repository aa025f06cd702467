/** Plain-text rendering for the REPL and one-shot commands: aligned tables, short ids, durations. */

/** Cells longer than this are cut with an ellipsis so one long value cannot break a table. */
export const MAX_CELL_WIDTH = 48

/** `12D3Ko…Ab12cd`: first 6 and last 6 characters of a long peer or task id. */
export function shortId (id: string): string {
  return id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id
}

/** Left-aligned columns separated by two spaces; no trailing spaces. */
export function table (headers: readonly string[], rows: ReadonlyArray<readonly string[]>, options: { maxCellWidth?: number } = {}): string {
  const maxWidth = options.maxCellWidth ?? MAX_CELL_WIDTH
  const cells = [headers, ...rows].map(row => headers.map((_, i) => clip(row[i] ?? '', maxWidth)))
  const widths = headers.map((_, i) => Math.max(...cells.map(row => width(row[i] ?? ''))))
  return cells
    .map(row => row.map((cell, i) => cell + ' '.repeat((widths[i] ?? 0) - width(cell))).join('  ').trimEnd())
    .join('\n')
}

/** `key  value` lines with the keys padded to one width; multi-line values are indented. */
export function keyValues (pairs: ReadonlyArray<readonly [string, string]>): string {
  const keyWidth = Math.max(...pairs.map(([key]) => key.length))
  return pairs
    .map(([key, value]) => `${key.padEnd(keyWidth)}  ${value.split('\n').join(`\n${' '.repeat(keyWidth + 2)}`)}`.trimEnd())
    .join('\n')
}

/** `850 ms`, `1.2 s`, `3m 05s`, `2h 10m` */
export function formatDuration (ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const totalSeconds = Math.floor(ms / 1000)
  const hours = Math.floor(totalSeconds / 3600)
  const minutes = Math.floor((totalSeconds % 3600) / 60)
  const seconds = totalSeconds % 60
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`
  return `${minutes}m ${String(seconds).padStart(2, '0')}s`
}

/** `4 s ago`; `-` for an unknown time */
export function formatAge (timestamp: number | undefined, now = Date.now()): string {
  if (timestamp === undefined) return '-'
  return `${formatDuration(Math.max(0, now - timestamp))} ago`
}

export function formatList (values: readonly string[]): string {
  return values.length === 0 ? '-' : values.join(',')
}

export function formatLabels (labels: Record<string, string>): string {
  return formatList(Object.entries(labels).map(([key, value]) => `${key}=${value}`))
}

function clip (cell: string, maxWidth: number): string {
  const flat = cell.replace(/\s+/g, ' ')
  return width(flat) > maxWidth ? `${[...flat].slice(0, maxWidth - 1).join('')}…` : flat
}

/** display width in code points, which is right for the ASCII and the ellipsis these tables hold */
function width (text: string): number {
  return [...text].length
}
