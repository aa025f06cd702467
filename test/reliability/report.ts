/** The figures of the reliability scenarios, collected for docs/reliability.md (see run.ts). */
import { appendFileSync } from 'node:fs'

/**
 * One line of figures per scenario, as a test diagnostic (`# RELIABILITY <scenario> {...}` in the
 * test output) and, when RELIABILITY_OUT names a file, appended there: docs/reliability.md is
 * written from these lines.
 */
export function report (t: { diagnostic: (message: string) => void }, scenario: string, figures: Record<string, unknown>): void {
  const line = `RELIABILITY ${scenario} ${JSON.stringify(figures)}`
  t.diagnostic(line)
  const out = process.env.RELIABILITY_OUT
  if (out != null && out !== '') appendFileSync(out, `${new Date().toISOString()} ${line}\n`)
}
