/**
 * What an announcement core (announce.ts) and its driver say to each other: the announcement
 * and join messages a node receives, the actions the core asks its driver to carry out, the
 * references a walk or join passes up, and why an announcement or join failed. Plain types,
 * shared by the libp2p announce and join handlers and the simulator.
 */
import type { RoutingKey } from '../keys/routing-key.js'

/**
 * Why an announcement or a join failed or was refused. `impostor`: a first-hop announcement
 * sent by a peer other than the newcomer it names. `taken`: a join at a location this node
 * holds a routing entry for under another peer.
 */
export type AnnounceFailure = 'loop' | 'unreachable' | 'invalid' | 'timeout' | 'error' | 'impostor' | 'taken'

/**
 * A reference the walk passes to the newcomer: route to `peer` for keys near `loc` (a walk
 * node's own location, or with `shareNearest` one of its routing entries).
 */
export interface WalkRef<P> {
  peer: P
  loc: number
}

/** An announcement arriving at a node. */
export interface AnnounceMessage<P> {
  id: bigint
  /** Hops the announcement may still take beyond the receiver. */
  htl: number
  /** The newcomer. */
  node: P
  /** SHA-256 of each seed so far, newcomer's first, in path order. */
  commitments: Uint8Array[]
  /**
   * The driver verified the newcomer's signature over this announcement (its ID and the first
   * commitment). Needed whenever the sender is not the newcomer itself.
   */
  signed?: boolean
}

export type AnnounceAction<P> =
  /** Continue the walk: send the announcement to `to`. */
  | { type: 'announce', id: bigint, to: P, htl: number, node: P, commitments: Uint8Array[] }
  /** The walk ended below: pass the complete commitment list upstream. */
  | { type: 'commit', id: bigint, to: P, commitments: Uint8Array[] }
  /** Pass the seeds revealed so far (ours appended) downstream. */
  | { type: 'reveal', id: bigint, to: P, seeds: Uint8Array[] }
  /**
   * The verified result, upstream; `to === null` at the newcomer: the announcement succeeded.
   * `refs` (only with the `shareWalk` option): the walk's references from the sender and the
   * nodes below it, deepest first (each node's nearest entries, then itself); a driver
   * carries them with the result and passes them to `result()`.
   */
  | { type: 'result', id: bigint, to: P | null, key: RoutingKey, seeds: Uint8Array[], refs?: Array<WalkRef<P>> }
  /** The announcement failed; tell `to` (upstream or downstream; null: the newcomer's own client). */
  | { type: 'failed', id: bigint, to: P | null, reason: AnnounceFailure }
  /** Route the join of newcomer `node` at `loc` on to `to` (`joinHtl`). */
  | { type: 'join', id: bigint, to: P, htl: number, node: P, loc: number }
  /** The join route ended below: its references, deepest first, upstream (`to === null`: the newcomer is done). */
  | { type: 'joined', id: bigint, to: P | null, refs: Array<WalkRef<P>> }
  /** This node refuses the join (loop or invalid); the sender tries another peer. */
  | { type: 'join-failed', id: bigint, to: P, reason: AnnounceFailure }

/** A join arriving at a node. */
export interface JoinMessage<P> {
  id: bigint
  /** Hops the join may still take beyond the receiver. */
  htl: number
  /** The newcomer. */
  node: P
  /** Its agreed location. */
  loc: number
}
