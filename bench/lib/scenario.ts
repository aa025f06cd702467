/** What a scenario gets from the runner and what it hands back. */
import type { Options, ScenarioName } from './options.ts'
import type { ResourceReport } from './resources.ts'
import type { SelfProbe } from './self-probe.ts'
import type { SystemName, TaskSystem } from './system.ts'

export interface ScenarioContext {
  opts: Options
  run: number
  system: SystemName
  /** a scratch directory of its own */
  dir: string
  self: SelfProbe
  log: (msg: string) => void
  /** a started system for the load scenarios; shared between scenarios with --share-network */
  acquire: () => Promise<TaskSystem>
  /** stops the system unless it is shared */
  release: (sys: TaskSystem) => Promise<void>
  /** CPU profile directory and a file label for this scenario, run and system */
  profileDir?: string
  label: string
}

export interface ScenarioResult {
  /** the figures this run produced, by key (see report.ts for labels and units) */
  figures: Record<string, number>
  resources?: Record<string, ResourceReport>
  notes?: Record<string, unknown>
}

export interface Scenario {
  name: ScenarioName
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>
}
