/**
 * The simulator's configuration: what its driver changes in every routing profile, and the
 * settings of a simulated network (its store size, latency, profile and core options).
 */
import { paperProfile, type RoutingProfile } from '../routing/profiles.js'
import type { AnnounceOptions } from '../routing/announce-options.js'
import type { NodeCoreOptions } from '../routing/node-core.js'

/**
 * What the simulator's driver does differently from the libp2p driver, on top of any routing
 * profile (src/routing/profiles.ts): the parts of the node that live in wall-clock time or
 * would blur the paper's plain hop counts (docs/simulation.md, "Profiles").
 */
export const SIM_CORE_OVERRIDES: Partial<NodeCoreOptions> = {
  // Probes use HTL 500: no node may curtail it.
  maxHtl: 500,
  // The paper counts plain hops; Freenet's randomised HTL ends would blur "HTL 20" and "500".
  probabilisticHtl: false,
  // Virtual time has no timeouts: a message is answered or fails as unreachable.
  hopTimeoutMs: null,
  // Not part of the 2001 model; its TTL is wall-clock time, which virtual time does not model.
  failureTableSize: 0,
  // Operations run one at a time, each with a fresh ID: a short memory suffices.
  seenCacheSize: 4,
  // Every reference in the simulator names a real node, and there are no connections to make:
  // verification would only delay each route by nothing.
  verifiedRoutesOnly: false
}

export interface SimConfig {
  seed: number
  /** Items per node store (the paper: 50). */
  storeCapacity: number
  /** Store policy access weight (0: plain LRU, as in the paper). */
  storeAccessWeight: number
  /** Share of each store kept for the keys nearest the node's location (default: the profile's keepFraction). */
  storeKeep?: number
  /** Virtual time per message. */
  latency: number
  /** The routing profile every node runs (src/routing/profiles.ts). */
  profile: RoutingProfile
  /** Core options on top of the profile's and SIM_CORE_OVERRIDES. */
  core: Partial<NodeCoreOptions>
  /** Announcement HTL cap. */
  announceMaxHtl: number
  /** Announcement core options on top of the profile's (e.g. `shareWalk`). */
  announce: Partial<AnnounceOptions>
}

export const DEFAULT_SIM_CONFIG: SimConfig = {
  seed: 1,
  storeCapacity: 50,
  storeAccessWeight: 0,
  latency: 1,
  // The library's default is the paper's model (tests and bench scripts reproduce the paper);
  // the `warren sim` commands default to `network` (src/sim/cli.ts).
  profile: paperProfile,
  core: {},
  announceMaxHtl: 20,
  announce: {}
}
