/**
 * Routing profiles: everything that decides how a node routes, in one object per profile.
 *
 * A profile holds the routing core's options (`NodeCoreOptions`), the announcement core's
 * options (`AnnounceOptions`), the HTL of the node's own announcement and the store policy's
 * specialisation share. The libp2p node runs `network`; the simulator (`warren sim ...
 * --profile NAME`) runs any of them, so the figures in docs/simulation.md are figures of the
 * very switches the network uses.
 *
 * - `network`: exactly what a started node runs (test/node/profile.test.ts checks it against a
 *   real node). The routing numbers of src/constants.ts are defined here.
 * - `paper`: the model of Clarke, Sandberg, Wiley and Hong (2001), section 5, with the choices
 *   the paper leaves open read as docs/simulation.md states (it reproduces Fig. 2).
 * - `improved`: the simulator's "beat them" switches (docs/simulation.md): `network` plus
 *   LRU refresh on forward and no data-source reset.
 *
 * Pure data: no I/O. Profiles are frozen; copy one (`{ ...p.core, ... }`) to vary it.
 */
import { DEFAULT_ANNOUNCE_OPTIONS, type AnnounceOptions } from './announce-options.js'
import { DEFAULT_CORE_OPTIONS, type NodeCoreOptions } from './node-core.js'

export interface StoreProfile {
  /**
   * Share of the block store kept for the keys nearest the node's announced location and
   * spared by LRU eviction (StorePolicy keepFraction; Freenet 0.7's store/cache split). 0: plain LRU.
   */
  keepFraction: number
}

/**
 * The periodic rejoin: a node that has a location routes a join toward it again (AnnounceCore.rejoin,
 * the same join a restarted node runs), so that it learns the nodes that settled near it since it
 * joined, and they learn it.
 */
export interface RejoinProfile {
  /** The node rejoins this long after its last announcement or join (src/protocol/announcer.ts). 0: never. */
  intervalMs: number
  /**
   * The simulator's growth model counts operations, not time: one random node with a location
   * rejoins every this many operations (`warren sim scalability --rejoin-every`). 0: never.
   */
  everyOps: number
}

export interface RoutingProfile {
  name: ProfileName
  /** One line for `--help` and the docs. */
  summary: string
  core: Readonly<NodeCoreOptions>
  announce: Readonly<AnnounceOptions>
  /** Hops-to-live of the node's own announcement (the paper's simulations used 10). */
  announceHtl: number
  store: Readonly<StoreProfile>
  rejoin: Readonly<RejoinProfile>
}

export type ProfileName = 'network' | 'paper' | 'improved'

// The network's routing numbers (re-exported by src/constants.ts under their old names).

/** Incoming HTL is capped to this; own requests and inserts start at it (see DEFAULT_HTL). */
const MAX_HTL = 20
const ROUTING_TABLE_SIZE = 250
/** Probability that a node replaces the data source with itself: it hides where the data is. */
const SOURCE_RESET_PROBABILITY = 0.1
const HOP_TIMEOUT_MS = 3_000
/** A node routes a join toward its own location again this often (RejoinProfile). */
const REJOIN_INTERVAL_MS = 60 * 60_000

function freeze (p: RoutingProfile): RoutingProfile {
  Object.freeze(p.core)
  Object.freeze(p.announce)
  Object.freeze(p.store)
  Object.freeze(p.rejoin)
  return Object.freeze(p)
}

/** What a started warren node runs. */
export const networkProfile: RoutingProfile = freeze({
  name: 'network',
  summary: 'what a started warren node runs (src/protocol builds its cores from it)',
  core: {
    ...DEFAULT_CORE_OPTIONS,
    maxHtl: MAX_HTL,
    sourceResetProb: SOURCE_RESET_PROBABILITY,
    routingTableSize: ROUTING_TABLE_SIZE,
    hopTimeoutMs: HOP_TIMEOUT_MS,
    // What the simulator showed to win on the same seeds (docs/simulation.md) and costs no
    // anonymity: a loop rejection spends no HTL, and loop detection is per request path.
    loopCostsHop: false,
    perPathLoops: true,
    // Inserts backtrack on dead ends "in the same way as for requests" (paper 3.3), and an own
    // insert that comes home with every route tried is handed to the originator's nearest peer
    // at HTL 0, which stores it (insertHomeHandOff). Only the originator knows it is one, so
    // this rule holds whatever HTL the user started at: the earlier bound (no backtracking at a
    // node that got HTL 19 or 20, insertBacktrackBelowHtl) relied on every insert starting at
    // 20, and a put at a user's HTL 6 into five nodes came home and ended stored only in its
    // originator's client cache while reporting success (test/client/updatable.test.ts failed 2
    // runs of 8). docs/simulation.md, "Closing the gap" (`warren sim convergence --profile
    // network`, 1000 nodes, t = 5000, 10 trials): without backtracking 2.5 / 4.2 / 9.3 (seeds
    // 1-10); with it and the hand-off 2.8 / 4.0 / 8.1 (seeds 1-10) and 2.5 / 4.0 / 8.4 (seeds
    // 101-110), every trial's median 4 (commit ffb912b; identical to the HTL-19 bound: in the
    // trained network no insert comes home, so the hand-off acts only in small networks).
    // An insert also clears the failure entries for its key on its way (node-core.ts, receive).
    insertBacktrack: true,
    insertBacktrackBelowHtl: Infinity,
    insertHomeHandOff: true,
    // The originator of an insert names another node of its routing table as the data source,
    // never itself (issue 11, finding 3): its entry nearest the key after the child's
    // (NodeCoreOptions.insertOriginSource 'near'). A random other node ('other') made every
    // route the insert left lead to a node far from the data: one more hop for the requests
    // that follow it. docs/simulation.md, "Closing the gap" (1000 nodes, t = 5000, 10 trials,
    // seeds 1-10 / 101-110): 'other' 2.9 / 4.4 / 11.3 and 3.0 / 4.3 / 11.7; 'near' 2.5 / 4.2 /
    // 9.3 and 2.4 / 4.2 / 8.2; 'near' with these backtracking inserts 2.8 / 4.0 / 8.1 and
    // 2.5 / 4.0 / 8.4, every trial's median 4.
    insertOriginSource: 'near',
    // What the node's own gets fetched and its puts inserted stays out of the store peers can
    // probe (NodeCoreOptions.clientCache; issue 11, finding 6).
    clientCache: true,
    // One DataNotFound per request is taken as "try the next route" (issue 11: one peer placed
    // next to a key and answering DataNotFound made it unreachable through its neighbours).
    notFoundRetries: 1,
    // Routes only to peers the node has connected to (issue 11: forged joins naming made-up
    // peers filled the table); others wait, bounded, until the node's verifier connects.
    verifiedRoutesOnly: true
  },
  announce: {
    ...DEFAULT_ANNOUNCE_OPTIONS,
    maxHtl: MAX_HTL,
    // Announcement walks share their references with the newcomer (src/routing/announce.ts):
    // every walk node sends itself at its own location and its 6 routing entries nearest the
    // agreed key, and the newcomer adds them as routes. docs/simulation.md, "Shared
    // announcement walks": median path 35 -> 9 hops at ~90,000 nodes; with 30 % of nodes
    // removed, 96.3 % -> 99.5 % of live keys found (walk references alone; 99.7 % with the
    // nearest entries).
    shareWalk: 'newcomer',
    shareNearest: 6,
    // After a successful announcement the newcomer routes a join 10 hops greedily toward its
    // agreed location: every node on the route adds the newcomer and returns itself and its
    // entries nearest the location, so the nodes already living near the newcomer's place
    // learn it too. docs/simulation.md, "Routed join": median path 9 -> 7 hops at ~90,000
    // nodes; fault tolerance on a trained network 98.9 % -> 99.2 %.
    joinHtl: 10
  },
  announceHtl: 10,
  // docs/simulation.md, "Specialised stores".
  store: { keepFraction: 0.5 },
  // A node routes its join toward its own location again every hour, so that it learns the
  // nodes that settled near it since it joined, and they learn it (the routed join alone teaches
  // only the nodes near the location at the moment of joining). docs/simulation.md, "Periodic
  // rejoin" (`warren sim scalability --profile network --nodes 100000 --probe-keys live`,
  // seed 1; the growth model runs one rejoin of a random node per newcomer, everyOps 5):
  // median path 6 -> 5 at 89,710 and 100,000 nodes (q1 / median / q3 4 / 5 / 9 and
  // 3.25 / 5 / 8.5, 99.9 % and 100 % of live keys; before 4 / 6 / 12 and 3 / 6 / 15.75), fit
  // 0.53 N^0.22 -> 0.62 N^0.189; at 30,000 nodes 5 -> 4. Cost: 2 x joinHtl small messages per
  // node per hour; a join says nothing the node's announcement did not (its peer and location).
  rejoin: { intervalMs: REJOIN_INTERVAL_MS, everyOps: 5 }
})

/**
 * The 2001 paper's model (section 5): plain hop counting (no probabilistic HTL, no failure
 * table), "seen before" per node over time, newcomers learn only their bootstrap (announcement
 * walks share nothing), plain LRU stores. Two readings follow the paper's text where the
 * previous profile did not (docs/simulation.md, "Why `paper` did not reproduce Fig. 2"):
 * - a loop rejection costs no HTL: "if a node cannot forward a request to its preferred
 *   downstream node because the target is down or a loop would be created, the node having
 *   the second-nearest key will be tried" (3.2) treats a loop like a target that is down,
 *   which costs no HTL in the core either;
 * - inserts backtrack on dead ends: "the insert backtracks to the second-nearest key, then the
 *   third-nearest, and so on in the same way as for requests" (3.3).
 * With loops costing a hop and inserts ending at dead ends, Fig. 2 ends at a median of ~170
 * (10 trials) instead of 6.5, and an independent minimal model of the paper with the same
 * readings does the same (bench/sim-minimal.ts).
 */
export const paperProfile: RoutingProfile = freeze({
  name: 'paper',
  summary: 'the 2001 paper\'s model (Clarke et al., section 5), open choices as docs/simulation.md states',
  core: {
    ...networkProfile.core,
    probabilisticHtl: false,
    failureTableSize: 0,
    loopCostsHop: false,
    perPathLoops: false,
    refreshOnForward: false,
    insertBacktrack: true,
    insertBacktrackBelowHtl: Infinity,
    // The inserter stores its own inserts (clientCache off): one coming home is placed.
    insertHomeHandOff: false,
    insertRouteTo: 'source',
    insertOriginSource: 'self',
    clientCache: false,
    notFoundRetries: 0,
    verifiedRoutesOnly: false
  },
  announce: { ...DEFAULT_ANNOUNCE_OPTIONS, maxHtl: MAX_HTL, shareWalk: 'off', shareNearest: 0, joinHtl: 0 },
  announceHtl: 10,
  store: { keepFraction: 0 },
  rejoin: { intervalMs: 0, everyOps: 0 }
})

/**
 * The "beat them" switches (docs/simulation.md): `network` plus forwarding refreshes an
 * entry's LRU place and no data-source reset (every entry points at the real data source or
 * the node the inserter named). Not what the node runs: source reset hides the data source.
 */
export const improvedProfile: RoutingProfile = freeze({
  name: 'improved',
  summary: 'network + LRU refresh on forward, no source reset (simulation only)',
  core: {
    ...networkProfile.core,
    refreshOnForward: true,
    sourceResetProb: 0
  },
  announce: { ...networkProfile.announce },
  announceHtl: networkProfile.announceHtl,
  store: { ...networkProfile.store },
  rejoin: { ...networkProfile.rejoin }
})

export const PROFILES: Readonly<Record<ProfileName, RoutingProfile>> = Object.freeze({
  network: networkProfile,
  paper: paperProfile,
  improved: improvedProfile
})

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[]

/** The profile called `name`, or an error naming the known ones. */
export function getProfile (name: string): RoutingProfile {
  if (!Object.hasOwn(PROFILES, name)) {
    throw new Error(`unknown routing profile "${name}": use one of ${PROFILE_NAMES.join(', ')}`)
  }
  return PROFILES[name as ProfileName]
}
