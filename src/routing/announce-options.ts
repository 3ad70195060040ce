/**
 * The announcement core's switches (announce.ts, announce-join.ts) and their defaults, and what
 * a node builds its announcement core from.
 */
import type { Rng } from './random.js'
import type { RoutingTable } from './routing-table.js'

export interface AnnounceOptions {
  /** Incoming announcement HTL is capped to this. */
  maxHtl: number
  /** Peers tried at one hop (after loops and unreachable peers) before the walk ends there. */
  maxTries: number
  seenCacheSize: number
  seenCacheTtlMs: number
  /**
   * Walk participants share themselves with the newcomer: each appends its own reference
   * (peer and routing location) to the result on its way up, and the newcomer adds every
   * reference as a routing entry, so it starts with a link to each node of its walk rather
   * than only to its bootstrap (as Freenet's announcements did). `all`: every walk node
   * also adds the references of the nodes below it. Off: the newcomer learns nothing.
   */
  shareWalk: 'off' | 'newcomer' | 'all'
  /**
   * With `shareWalk`: each walk node also passes on this many of its routing entries closest
   * to the newcomer's location, so the newcomer learns nodes near its own place on the circle.
   */
  shareNearest: number
  /**
   * After a successful announcement the newcomer routes a join this many hops toward its
   * location; every node on the route adds the newcomer and returns its own reference and its
   * `shareNearest` entries nearest the location. 0: no join.
   */
  joinHtl: number
  /**
   * Time one hop of a join may take (the join down and the references back). A join that
   * arrives with `htl` may take (htl + 1) hops' worth; it is passed on with the HTL that fits
   * in what is left, less a quarter hop, so that nested deadlines end below before above.
   */
  joinHopMs: number
}

export const DEFAULT_ANNOUNCE_OPTIONS: AnnounceOptions = {
  maxHtl: 20,
  maxTries: 5,
  seenCacheSize: 1000,
  seenCacheTtlMs: 10 * 60_000,
  shareWalk: 'off',
  shareNearest: 0,
  joinHtl: 0,
  // 2 x the node's HOP_TIMEOUT_MS (3 s); the simulator's hops take 1 time unit and never come near it.
  joinHopMs: 6000
}

export interface AnnounceInit<P> {
  self: P
  /** The node's routing table: the walk continues to a random entry of it. */
  table: RoutingTable<P>
  /**
   * How the node records a route (NodeCore.addRoute): the newcomer, or a reference; `via` is
   * the peer that told us (a route to a peer not verified waits, bounded per sender).
   */
  addRoute: (loc: number, peer: P, via?: P) => void
  rng: Rng
  now: () => number
  /** This node's routing location (NaN while it has none); needed by `shareWalk`. */
  location?: () => number
  /** Source of seeds; node:crypto randomness unless a simulator supplies a seeded one. */
  randomSeed?: () => Uint8Array
  options?: Partial<AnnounceOptions>
}
