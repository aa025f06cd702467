/**
 * Every protocol id and topic name, built and parsed in one place. All are namespaced by the
 * network's protocol_version so nodes of different networks never exchange tasks.
 */
export type TopicKind = 'capabilities' | 'heartbeat' | 'tasks' | 'results'

export const dhtProtocol = (pv: string): string => `/${pv}/kad/1.0.0`
export const taskProtocol = (pv: string): string => `/${pv}/task/1.0.0`
export const identifyPrefix = (pv: string): string => `/${pv}`

export const capabilitiesTopic = (pv: string): string => `${pv}/capabilities/1`
export const heartbeatTopic = (pv: string): string => `${pv}/heartbeat/1`
export const resultsTopic = (pv: string): string => `${pv}/results/1`
export const tasksTopic = (pv: string, capability: string): string => `${pv}/tasks/${capability}/1`

export interface ParsedTopic { protocolVersion: string, kind: TopicKind, capability?: string }

/** Parses a topic of this project; undefined for anything else (another network's, a typo). */
export function parseTopic (topic: string): ParsedTopic | undefined {
  const parts = topic.split('/')
  if (parts.length === 3 && parts[2] === '1') {
    const [pv, kind] = parts as [string, string, string]
    if (kind === 'capabilities' || kind === 'heartbeat' || kind === 'results') return { protocolVersion: pv, kind }
  }
  if (parts.length === 4 && parts[1] === 'tasks' && parts[3] === '1' && parts[2] !== '') {
    return { protocolVersion: parts[0] as string, kind: 'tasks', capability: parts[2] }
  }
  return undefined
}
