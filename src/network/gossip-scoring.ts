/**
 * GossipSub peer scoring tuned for this network's topics (issue 6: hostile peers). Pure values, no
 * I/O: libp2p.ts hands them to gossipsub, the Gossip layer's validators decide what is invalid.
 *
 * What the score is for here: a peer that sends invalid messages (does not decode, too large, claims
 * another sender, replays long-expired messages, or floods over its rate limit as the author) loses
 * score through P4 (invalid deliveries, squared) until it is graylisted, after which gossipsub drops
 * every RPC it sends and the node hangs up on it (see Gossip.onGraylisted). What it is not for:
 * judging honest peers by delivery rates. Our topics are quiet and bursty (a heartbeat per second, a
 * result per task), so the mesh-delivery penalties P3/P3b, which expect a steady flow, are off: they
 * would graylist honest peers in an idle network. IP colocation (P6) is off too: NAT gateways,
 * Kubernetes SNAT and every test host put many honest peers behind one address; admission (pnet,
 * allow_peers) is what keeps Sybils out.
 */
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'
import { capabilitiesTopic, heartbeatTopic, resultsTopic, tasksTopic } from '../protocol/names.ts'

/**
 * Messages older than this (by the timestamp in their body) are stale. The gossip layer ignores
 * them; a message older than this plus STALE_REPLAY_GRACE_MS is a replay and is rejected.
 */
export const GOSSIP_MAX_AGE_MS = 5 * 60_000
/** how far beyond the freshness window a message may be before it counts as a replay, not a late delivery */
export const STALE_REPLAY_GRACE_MS = 60_000
/**
 * gossipsub's duplicate cache lifetime: covers the whole freshness window (plus the clock skew we
 * accept), so a replay of a message that is still fresh is dropped as a duplicate, never re-delivered.
 */
export const GOSSIP_SEEN_TTL_MS = GOSSIP_MAX_AGE_MS + STALE_REPLAY_GRACE_MS

/**
 * Thresholds (gossipsub's defaults, named here so tests and docs read one table). With the P4
 * weight below, about 9-10 invalid messages on one topic take a fresh peer under the graylist.
 */
export const GOSSIP_SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  // only well-behaved peers' peer exchange is followed
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 5
}

/** Per-topic parameters: small rewards for being in the mesh and delivering first, a heavy P4. */
export function topicScoreParams (): TopicScoreParams {
  return {
    topicWeight: 1,
    // P1: up to +3 for five minutes in the mesh
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 300,
    // P2: up to +5 for first deliveries
    firstMessageDeliveriesWeight: 0.1,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 50,
    // P3/P3b off (see the module comment); gossipsub still needs valid values
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 100,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    // P4: -n^2; decays 1% a second (half-life about 70 s), so a graylisted peer stays out a while
    invalidMessageDeliveriesWeight: -1,
    invalidMessageDeliveriesDecay: 0.99
  }
}

/**
 * Score parameters for a node of network `pv` that subscribes to the task topics of
 * `capabilities` (score only counts on topics we subscribe to, where messages reach us).
 */
export function gossipScoreParams (pv: string, capabilities: readonly string[]): Partial<PeerScoreParams> {
  const topics: Record<string, TopicScoreParams> = {}
  for (const t of [capabilitiesTopic(pv), heartbeatTopic(pv), resultsTopic(pv), ...capabilities.map(c => tasksTopic(pv, c))]) {
    topics[t] = topicScoreParams()
  }
  return {
    topics,
    // the positive part (P1 + P2 over every topic) is capped, so good behaviour on many topics
    // cannot buy room for many invalid messages
    topicScoreCap: 10,
    appSpecificWeight: 1,
    IPColocationFactorWeight: 0,
    IPColocationFactorThreshold: 10,
    // P7 (broken IWANT promises, GRAFT floods): gossipsub's defaults
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 0,
    behaviourPenaltyDecay: 0.2,
    decayInterval: 1000,
    decayToZero: 0.01,
    // a graylisted peer that reconnects keeps its score for an hour
    retainScore: 3600_000
  }
}
