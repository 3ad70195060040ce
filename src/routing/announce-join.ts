/**
 * The routed join (phase 4 of node announcement, announce.ts; the `joinHtl` option) and the
 * references a walk or join passes up to the newcomer. Once the newcomer has its key it routes a
 * join greedily toward that location (Freenet 0.7's routed announcement): each node on the route
 * adds the newcomer under the key, and the route's references (each node and its entries nearest
 * the key) come back to the newcomer.
 *
 * JoinCore is the part of an announcement core the join needs; AnnounceCore (announce.ts) builds
 * the commit-reveal walk on it, and nothing else builds one. A base class rather than a helper
 * object: the node keeps one object with the same fields, which the simulator's checkpoints save
 * and restore field by field (src/sim/checkpoint.ts), at a million simulated nodes.
 */
import { distance } from '../keys/routing-key.js'
import { DEFAULT_ANNOUNCE_OPTIONS } from './announce-options.js'
import { LazyMap } from './lazy-map.js'
import { SeenCache } from './seen-cache.js'
import { sharedOptions } from './shared-options.js'
import type { AnnounceAction, JoinMessage, WalkRef } from './announce-messages.js'
import type { AnnounceInit, AnnounceOptions } from './announce-options.js'
import type { RoutingTable } from './routing-table.js'

/**
 * Two locations closer than this (on the circle) are the same place. A join carries no proof
 * of its location, so "never repoint another peer's location" must not be dodged by a float a
 * hair away from it: issue 11 placed an attacker at loc + 1e-15 past an exact-equality guard.
 * 2^-32 is ~2.3e-10: an honest join lands this near one of a node's <= 250 entries with
 * probability ~1e-7, and a location this close to an entry takes that entry's keys all the same.
 */
export const SAME_LOCATION = 2 ** -32

interface JoinOp<P> {
  node: P
  loc: number
  /** Upstream; null at the newcomer. */
  from: P | null
  htl: number
  /** When the join must have ended here (now() time). */
  deadline: number
  to?: P
  tried: P[]
}

function validLoc (loc: number): boolean {
  return Number.isFinite(loc) && loc >= 0 && loc < 1
}

const mergedAnnounceOptions = new WeakMap<object, Readonly<AnnounceOptions>>()

/** An announcement core's join and references (see the file comment); AnnounceCore extends it. */
export class JoinCore<P> {
  readonly self: P
  readonly options: Readonly<AnnounceOptions>
  protected readonly table: RoutingTable<P>
  protected readonly addRoute: (loc: number, peer: P, via?: P) => void
  protected readonly now: () => number
  private readonly location: () => number
  private readonly joinSeen: SeenCache
  protected readonly joins = new LazyMap<bigint, JoinOp<P>>()
  /** The location of each newcomer's last join here (placeJoined). */
  private readonly joinedAt = new LazyMap<P, number>()

  constructor (init: AnnounceInit<P>) {
    this.self = init.self
    this.table = init.table
    this.addRoute = init.addRoute
    this.now = init.now
    this.location = init.location ?? (() => NaN)
    this.options = sharedOptions(DEFAULT_ANNOUNCE_OPTIONS, mergedAnnounceOptions, init.options)
    this.joinSeen = new SeenCache(this.options.seenCacheSize, this.options.seenCacheTtlMs)
  }

  /** A join arrives from `from`: record the newcomer, route on toward its location or end the route here. */
  join (from: P, msg: JoinMessage<P>): Array<AnnounceAction<P>> {
    const { id, node, loc } = msg
    // A join carries no proof of its location: it may never repoint (or shadow) an entry held
    // for another peer, say a neighbour's seed location. Checked before the seen cache, as a
    // refusal that records nothing.
    if (validLoc(loc) && this.heldByOther(loc, node)) return [{ type: 'join-failed', id, to: from, reason: 'taken' }]
    if (this.joins.has(id) || !this.joinSeen.add(id, this.now())) return [{ type: 'join-failed', id, to: from, reason: 'loop' }]
    if (node === this.self || !validLoc(loc)) return [{ type: 'join-failed', id, to: from, reason: 'invalid' }]
    this.placeJoined(node, loc)
    this.addRoute(loc, node, from)
    const htl = Math.max(0, Math.min(msg.htl, this.options.maxHtl))
    const op: JoinOp<P> = { node, loc, from, htl, deadline: this.now() + this.options.joinHopMs * (htl + 1), tried: [] }
    this.joins.set(id, op)
    return this.routeJoin(id, op)
  }

  /** The join route ended below `from`: pass its references (and ours) up, or, at the newcomer, learn them. */
  joined (id: bigint, from: P, refs: Array<WalkRef<P>>): Array<AnnounceAction<P>> {
    const op = this.joins.get(id)
    if (op === undefined || from !== op.to) return []
    return this.endJoin(id, op, refs)
  }

  /** `from`, our next hop, refused the join, failed or timed out: try the next closest peer. */
  joinFailed (id: bigint, from: P): Array<AnnounceAction<P>> {
    const op = this.joins.get(id)
    if (op === undefined || from !== op.to) return []
    op.to = undefined
    return this.routeJoin(id, op)
  }

  /**
   * A node that already holds a location (agreed by an earlier announcement, before a restart)
   * routes a join toward it again, so that the nodes now living near it learn of it and it of
   * them. No new key: the walk agreed on that one once. Nothing happens with `joinHtl` 0.
   */
  rejoin (id: bigint, loc: number): Array<AnnounceAction<P>> {
    if (!validLoc(loc) || this.joins.has(id)) return []
    return this.startJoin(id, loc)
  }

  protected startJoin (id: bigint, loc: number): Array<AnnounceAction<P>> {
    if (this.options.joinHtl < 1) return []
    this.joinSeen.add(id, this.now())
    const htl = this.options.joinHtl
    const op: JoinOp<P> = { node: this.self, loc, from: null, htl, deadline: this.now() + this.options.joinHopMs * (htl + 1), tried: [] }
    this.joins.set(id, op)
    return this.routeJoin(id, op)
  }

  /** Forward the join to the closest untried peer to its location, or end the route here. */
  private routeJoin (id: bigint, op: JoinOp<P>): Array<AnnounceAction<P>> {
    const { from, node, tried } = op
    // Nested deadlines: the next hop's budget (from the HTL we give it) must end a quarter
    // hop before ours, so a slow route ends below us and we still answer upstream in time.
    const hop = this.options.joinHopMs
    const htl = Math.min(op.htl - 1, Math.floor((op.deadline - this.now() - hop / 4) / hop) - 1)
    const next = htl >= 0 && tried.length < this.options.maxTries
      ? this.nearest(op.loc, 1, (p) => p === from || p === node || p === this.self || tried.includes(p))[0]?.peer
      : undefined
    if (next === undefined) return this.endJoin(id, op, [])
    tried.push(next)
    op.to = next
    return [{ type: 'join', id, to: next, htl, node, loc: op.loc }]
  }

  /** When join `id` must have ended here (now() time), while it is in progress. */
  joinDeadline (id: bigint): number | undefined {
    return this.joins.get(id)?.deadline
  }

  private endJoin (id: bigint, op: JoinOp<P>, below: Array<WalkRef<P>>): Array<AnnounceAction<P>> {
    this.joins.delete(id)
    const refs = this.checkRefs(below, op.node)
    if (op.from === null) {
      const routes = this.withoutTaken(refs)
      for (const r of routes) this.addRoute(r.loc, r.peer, op.to)
      return [{ type: 'joined', id, to: null, refs: routes }]
    }
    refs.push(...this.ownRefs(op.loc, op.node, op.from))
    return [{ type: 'joined', id, to: op.from, refs }]
  }

  /** What this node adds to a result or join on its way up: its entries nearest `loc`, then itself. */
  protected ownRefs (loc: number, node: P, from: P | null): Array<WalkRef<P>> {
    const refs = this.nearest(loc, this.options.shareNearest, (p) => p === node || p === from)
    const own = this.location()
    if (Number.isFinite(own)) refs.push({ peer: this.self, loc: own })
    return refs
  }

  /**
   * The references a walk or join route can honestly send: the last (1 + shareNearest) x
   * (maxHtl + 1). References come deepest first, so the last are those of the nodes nearest
   * us, which a node deeper down cannot crowd out by sending more. A driver applies this to
   * the list as it arrives, before parsing it, and the core again to what it is given.
   */
  boundRefs<T> (refs: T[]): T[] {
    const cap = (1 + this.options.shareNearest) * (this.options.maxHtl + 1)
    return refs.length > cap ? refs.slice(refs.length - cap) : refs
  }

  /** Unverifiable claims of the nodes below: bounded by the path length, never about us or the newcomer. */
  protected checkRefs (below: Array<WalkRef<P>>, node: P): Array<WalkRef<P>> {
    return this.boundRefs(below).filter((r) => r.peer !== this.self && r.peer !== node && validLoc(r.loc))
  }

  /** References that may become routes here: none that would repoint an entry held for another peer. */
  protected withoutTaken (refs: Array<WalkRef<P>>): Array<WalkRef<P>> {
    return refs.filter((r) => !this.heldByOther(r.loc, r.peer))
  }

  /**
   * One join location per newcomer here: a join carries no proof of its location, so a
   * newcomer's later join moves its join route instead of adding one more (issue 11: forged
   * joins placed one peer next to any key it chose). Bounded: the oldest newcomers are forgotten.
   */
  private placeJoined (node: P, loc: number): void {
    const before = this.joinedAt.get(node)
    this.joinedAt.delete(node)
    this.joinedAt.set(node, loc)
    if (before !== undefined && before !== loc) this.table.remove(before, node)
    if (this.joinedAt.size > this.options.seenCacheSize) this.joinedAt.delete(this.joinedAt.oldestKey() as P)
  }

  /** Does this node route `loc` (within SAME_LOCATION) to a peer other than `peer`? */
  private heldByOther (loc: number, peer: P): boolean {
    const t = this.table
    for (let i = 0; i < t.size; i++) if (t.peerAt(i) !== peer && distance(t.locAt(i), loc) < SAME_LOCATION) return true
    return false
  }

  /** Is join `id` in progress here? */
  hasJoin (id: bigint): boolean {
    return this.joins.has(id)
  }

  /** Up to `k` routing entries closest to `loc` (peers for which `exclude` is false), closest first. */
  private nearest (loc: number, k: number, exclude: (peer: P) => boolean): Array<WalkRef<P>> {
    const best: Array<WalkRef<P> & { d: number }> = []
    if (k <= 0) return best
    const t = this.table
    for (let j = 0; j < t.size; j++) {
      const peer = t.peerAt(j)
      if (exclude(peer)) continue
      const eloc = t.locAt(j)
      const d = distance(eloc, loc)
      if (best.length === k && d >= best[k - 1].d) continue
      let i = Math.min(best.length, k - 1)
      best[i] = { peer, loc: eloc, d }
      while (i > 0 && best[i - 1].d > d) {
        const t = best[i - 1]
        best[i - 1] = best[i]
        best[i] = t
        i--
      }
    }
    return best.map(({ peer, loc }) => ({ peer, loc }))
  }
}
