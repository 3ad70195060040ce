/**
 * The peers a routing core (node-core.ts) routes to: its routing table, the routes that wait
 * for their peer to be verified (verifiedRoutesOnly; pending-routes.ts), the peers verified
 * lately, and the probabilistic-HTL decisions it made once per upstream peer.
 *
 * CorePeers is the lowest layer of NodeCore (CoreOps, core-ops.ts, builds on it); nothing else
 * builds one.
 *
 * A base class rather than a helper object (CorePeers <- CoreOps <- NodeCore): a node keeps one
 * object with the same fields, which the simulator's checkpoints save and restore field by field
 * (src/sim/checkpoint.ts), at a million simulated nodes.
 */
import { DEFAULT_CORE_OPTIONS } from './core-options.js'
import { PendingRoutes } from './pending-routes.js'
import { RoutingTable } from './routing-table.js'
import { sharedOptions } from './shared-options.js'
import type { NodeCoreOptions } from './core-options.js'
import type { Rng } from './random.js'

const mergedCoreOptions = new WeakMap<object, Readonly<NodeCoreOptions>>()

/** Upstream peers whose probabilistic-HTL decisions are remembered (oldest forgotten first). */
const HTL_DECISIONS_SIZE = 4096
/** Verified peers remembered besides those in the routing table (oldest forgotten first). */
const VERIFIED_SIZE = 4096

interface HtlDecisions {
  atMax: boolean
  atMin: boolean
}

/** What CorePeers is built from (a part of what NodeCore is built from). */
export interface CorePeersInit<P> {
  self: P
  rng: Rng
  options?: Partial<NodeCoreOptions>
  /** Every peer is an integer in [0, 2^31) (the simulator's node indices): the routing table packs them. */
  intPeers?: boolean
}

/** A routing core's peers (see the file comment); NodeCore extends it, through CoreOps. */
export class CorePeers<P> {
  readonly self: P
  readonly options: Readonly<NodeCoreOptions>
  readonly table: RoutingTable<P>
  /** Routes waiting for their peer to be verified (verifiedRoutesOnly). */
  readonly pending: PendingRoutes<P>
  protected readonly rng: Rng
  // Created on first use, like the operations of core-ops.ts (see there): the simulator neither
  // verifies peers nor decides HTL probabilistically.
  private htlDecisions?: Map<P | null, HtlDecisions>
  /** Peers verified lately (besides those in the table), most recent last; bounded. */
  private verified?: Set<P>

  constructor (init: CorePeersInit<P>) {
    this.self = init.self
    this.rng = init.rng
    this.options = sharedOptions(DEFAULT_CORE_OPTIONS, mergedCoreOptions, init.options)
    this.table = new RoutingTable<P>(this.options.routingTableSize, this.options.tableSpreadBuckets, init.intPeers === true)
    this.pending = new PendingRoutes<P>(this.options.pendingRoutes, this.options.pendingRoutesPerSender)
  }

  /**
   * Add (or refresh) a routing entry: `peer` is thought to hold keys near `loc`. A pinned
   * entry (a driver's connected neighbour) survives LRU replacement until `unpinPeer`; pinning
   * verifies the peer. With verifiedRoutesOnly, a route to a peer not verified waits in
   * `pending`, counted against `via`, the peer that told us about it.
   */
  addRoute (loc: number, peer: P, pinned = false, via?: P): void {
    if (peer === this.self) return
    if (pinned) this.peerVerified(peer)
    if (!this.options.verifiedRoutesOnly || pinned || this.isVerified(peer)) this.table.add(loc, peer, pinned)
    else this.pending.add(loc, peer, via)
  }

  /** Has the driver verified `peer` (connected to it)? A peer in the routing table was. */
  isVerified (peer: P): boolean {
    return this.verified?.has(peer) === true || this.table.has(peer)
  }

  /** Up to `max` peers whose routes wait for verification: the driver connects to each and reports. */
  peersToVerify (max: number): P[] {
    return this.pending.next(max)
  }

  /** The driver connected to `peer`: its waiting routes enter the routing table. */
  peerVerified (peer: P): void {
    const verified = (this.verified ??= new Set())
    verified.delete(peer)
    verified.add(peer)
    if (verified.size > VERIFIED_SIZE) verified.delete(verified.values().next().value as P)
    for (const r of this.pending.take(peer)) this.table.add(r.loc, r.peer)
  }

  /** The driver could not connect to `peer`: its waiting routes are dropped. */
  verifyFailed (peer: P): void {
    this.pending.forget(peer)
  }

  /** A neighbour disconnected: its entries become ordinary LRU entries. */
  unpinPeer (peer: P): void {
    this.table.unpinPeer(peer)
  }

  /** Forget a peer entirely (it left, or misbehaved). */
  removePeer (peer: P): void {
    this.table.removePeer(peer)
    this.pending.forget(peer)
    this.verified?.delete(peer)
    this.htlDecisions?.delete(peer)
  }

  /**
   * A peer could not be reached: forget its entries, except pinned ones (a failed dial of a
   * connected neighbour is transient). A method, like every routing-table change the core
   * makes, so that a driver can observe or gate it (the simulator's side-effect-free probes).
   */
  forgetUnreachable (peer: P): void {
    this.table.removePeer(peer, true)
    this.verified?.delete(peer)
  }

  /** Move `peer`'s entries to the front of the LRU order (refreshOnForward). */
  refreshPeer (peer: P): void {
    this.table.touchPeer(peer)
  }

  /**
   * The HTL this node gives a child when it holds `budget`, for a message that came from
   * `from`. The node's own requests (`from` null) follow one decision of their own, as in
   * Freenet: if they always decremented, no message would ever travel at the maximum, and
   * a peer receiving maxHtl - 1 would know its upstream was the originator.
   */
  nextHtl (budget: number, from: P | null): number {
    const o = this.options
    if (o.probabilisticHtl) {
      const d = this.decisionsFor(from)
      if (budget >= o.maxHtl && !d.atMax) return budget
      if (budget === 1 && !d.atMin) return 1
    }
    return budget - 1
  }

  private decisionsFor (peer: P | null): HtlDecisions {
    const decisions = (this.htlDecisions ??= new Map())
    let d = decisions.get(peer)
    if (d === undefined) {
      d = { atMax: this.rng() < this.options.decrementAtMaxProb, atMin: this.rng() < this.options.decrementAtMinProb }
      decisions.set(peer, d)
      // Bounded: one entry per upstream peer ever seen would let Sybil identities grow it.
      if (decisions.size > HTL_DECISIONS_SIZE) decisions.delete(decisions.keys().next().value as P | null)
    }
    return d
  }
}
