/**
 * Metrics that count nothing, for a node without the HTTP API: nothing can scrape its metrics, so
 * they are not kept, and prom-client (a label hash per increment on every gossip message and task;
 * about 1 MiB of an idle worker's RSS, most of what it loads being shared with the rest of the
 * node) is never imported. Type-only imports: this module loads nothing.
 */
import type { Metrics } from './index.ts'

// each serves as the labelled and the plain kind: a function that takes no arguments fits both
const counter = { inc: (): void => {} }
const gauge = { set: (): void => {}, inc: (): void => {}, dec: (): void => {} }
const histogram = { observe: (): void => {}, startTimer: () => (): number => 0 }

export const NOOP_METRICS: Metrics = Object.freeze({
  peersConnected: gauge,
  peersHealthy: gauge,
  gossipMessages: counter,
  gossipRejected: counter,
  streamRejected: counter,
  rateLimited: counter,
  peersBanned: counter,
  connectionsRefused: counter,
  tasksSubmitted: counter,
  tasksFinished: counter,
  taskLatency: histogram,
  taskExecution: histogram,
  taskAttempts: counter,
  taskRetries: counter,
  taskDuplicates: counter,
  tasksQueued: gauge,
  tasksRunning: gauge,
  slotsFree: gauge,
  pingRtt: histogram,
  creditsIssued: counter,
  creditsEarned: counter,
  nodeHealthy: gauge,
  nodeInfo: gauge
})
