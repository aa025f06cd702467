/**
 * The Grafana dashboard (k8s/monitoring/p2p-network-dashboard.json): typed against @grafana/schema's
 * Dashboard by tsc (below), and every metric its queries use is one the node exports
 * (METRIC_TYPES in src/metrics/index.ts). k8s.test.ts walks the same JSON against the exact
 * Dashboard type, literal values and unknown fields included.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Dashboard } from '@grafana/schema'
import dashboardJson from '../../k8s/monitoring/p2p-network-dashboard.json' with { type: 'json' }
import { METRIC_TYPES } from '../../src/metrics/index.ts'

/**
 * A JSON import widens its literals ("row" becomes string, 1 becomes number), so tsc can hold it
 * to the Dashboard type only with the literal unions and enums widened the same way; field names,
 * nesting and primitive types are still checked here, and the exact literals in k8s.test.ts.
 */
type Widened<T> = T extends string ? string
  : T extends number ? number
    : T extends boolean ? boolean
      : T extends Array<infer U> ? Array<Widened<U>>
        : T extends object ? { [K in keyof T]: Widened<T[K]> }
          : T
export const dashboard: Widened<Dashboard> = dashboardJson

interface Target { expr?: string, refId: string }
interface Panel { type: string, title?: string, targets?: Target[], panels?: Panel[] }

/** PromQL words that are not metric names */
const PROMQL_WORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'le', 'inf', 'nan'
])

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed by
 * "("), not label names (inside {...} or by/without (...)), not keywords, not numbers or strings.
 */
export function metricsInQuery (expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings, e.g. label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors, $__rate_interval included
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\$\w+/g, '') // dashboard variables
  const names = new Set<string>()
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\()/g)) {
    const word = match[0]
    const after = stripped.slice(match.index + word.length)
    if (/^\s*\(/.test(after) || /^[a-zA-Z0-9_:]/.test(after)) continue // a function, or part of a longer word
    if (PROMQL_WORDS.has(word.toLowerCase()) || /^\d/.test(word)) continue
    names.add(word)
  }
  return [...names]
}

/** a queried series name is an exported metric, or a histogram's _bucket/_sum/_count */
function exported (name: string): boolean {
  if (name in METRIC_TYPES) return true
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return base !== name && (METRIC_TYPES as Record<string, string>)[base] === 'histogram'
}

const panels = (list: Panel[]): Panel[] => list.flatMap(p => [p, ...panels(p.panels ?? [])])

describe('Grafana dashboard', () => {
  it('finds metric names in PromQL the way Prometheus reads them', () => {
    assert.deepEqual(metricsInQuery('sum by (type, status) (rate(p2p_tasks_finished_total{namespace="$namespace"}[$__rate_interval]))'), ['p2p_tasks_finished_total'])
    assert.deepEqual(metricsInQuery('histogram_quantile(0.95, sum by (le) (rate(p2p_task_latency_seconds_bucket[5m])))'), ['p2p_task_latency_seconds_bucket'])
    assert.deepEqual(metricsInQuery('sum(a_sum) / sum(a_count) and on (pod) up{job="x"}').sort(), ['a_count', 'a_sum', 'up'])
    assert.deepEqual(metricsInQuery('max(p2p_node_healthy) > 0.5 or vector(0)'), ['p2p_node_healthy'])
  })

  it('every query reads only metrics the node exports', () => {
    const all = panels(dashboardJson.panels)
    const queries = all.flatMap(p => (p.targets ?? []).map(t => ({ panel: p.title ?? p.type, expr: t.expr ?? '' })))
    assert.ok(queries.length >= 15, `only ${queries.length} queries`)
    const unknown: string[] = []
    const used = new Set<string>()
    for (const { panel, expr } of queries) {
      assert.notEqual(expr, '', `panel "${panel}" has a target without expr`)
      const names = metricsInQuery(expr)
      assert.ok(names.length > 0, `panel "${panel}": no metric in ${expr}`)
      for (const name of names) {
        used.add(name.replace(/_(bucket|sum|count)$/, ''))
        if (!exported(name)) unknown.push(`panel "${panel}": ${name} in ${expr}`)
      }
    }
    // template variables query metrics too: label_values(<metric>, <label>)
    for (const variable of dashboardJson.templating.list) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query
      const labelValues = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/.exec(query)
      if (labelValues != null && !exported(labelValues[1]!)) unknown.push(`variable ${variable.name}: ${labelValues[1]}`)
    }
    assert.deepEqual(unknown, [], 'queries for metrics p2p-node does not export')
    // the dashboard covers the network, task, gossip and defence metrics, not a corner of them
    for (const name of ['p2p_peers_connected', 'p2p_tasks_finished_total', 'p2p_task_latency_seconds', 'p2p_tasks_queued', 'p2p_gossip_messages_total', 'p2p_ping_rtt_seconds', 'p2p_node_info', 'p2p_rate_limited_total', 'p2p_peers_banned_total', 'p2p_connections_refused_total']) {
      assert.ok(used.has(name) || dashboardJson.templating.list.some(v => JSON.stringify(v.query).includes(name)), `no panel shows ${name}`)
    }
  })

  it('panels have unique ids and sit on the 24-column grid without overlapping', () => {
    type Placed = Panel & { id: number, gridPos: { x: number, y: number, w: number, h: number } }
    const all = panels(dashboardJson.panels) as Placed[]
    assert.equal(new Set(all.map(p => p.id)).size, all.length)
    for (const a of all) {
      assert.ok(a.gridPos.x >= 0 && a.gridPos.x + a.gridPos.w <= 24, `panel ${a.id} leaves the grid`)
      for (const b of all) {
        if (a === b) continue
        const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h
        assert.ok(!overlap, `panels ${a.id} and ${b.id} overlap`)
      }
    }
    assert.equal(dashboard.uid, 'p2p-network')
  })
})
