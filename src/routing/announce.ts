/**
 * Node announcement (Freenet 2001, section 3.5): how a new node gets a routing key that no
 * single participant chose, and gets into other nodes' routing tables under that key.
 *
 * The newcomer sends an announcement with hops-to-live `h` to a node it knows out of band.
 * Each receiving node draws a random seed, appends its commitment SHA-256(seed) to the list
 * it received and forwards the announcement to a node picked at random from its routing
 * table, until the HTL runs out (a random walk of up to `h` hops). Then:
 *
 *   1. commit  (back up the walk)   the complete commitment list returns to the newcomer, so
 *                                   every participant holds every commitment before any seed
 *                                   is revealed;
 *   2. reveal  (down the walk)      each node appends its seed to the seeds revealed so far;
 *   3. result  (back up the walk)   the last node computes key = SHA-256(XOR of all seeds);
 *                                   every node checks each revealed seed against its
 *                                   commitment and the key, adds the newcomer to its routing
 *                                   table under the key and passes the result on.
 *
 * A seed that does not match its commitment (a participant trying to steer the key after
 * seeing the others' seeds) is detected by every node above it, which then refuses the
 * announcement. Since all commitments are fixed before the first reveal, the key is
 * uniformly random as long as one participant is honest.
 *
 * 4. join (optional, `joinHtl`)     once the newcomer has its key it routes a join message
 *                                   greedily toward that location (Freenet 0.7's routed
 *                                   announcement): each node on the route adds the newcomer
 *                                   under the key, and the route's references (each node and
 *                                   its entries nearest the key) come back to the newcomer. The
 *                                   walk gives the newcomer links; the join gives the nodes
 *                                   already living near its location links to it.
 *
 * Like node-core, this is a pure event -> actions state machine: no I/O, no timers. A driver
 * (the simulator in src/sim, the libp2p announce handler) delivers messages and executes
 * the actions. Failures travel away from where they happened: a child that fails during the
 * walk is replaced by another random peer; any failure after the commit phase ends the
 * announcement for every node on the path.
 */
import { randomBytes } from 'node:crypto'
import { equals } from 'uint8arrays/equals'
import { distance, RoutingKey, sha256 } from '../keys/routing-key.js'
import { LazyMap } from './lazy-map.js'
import { SeenCache } from './seen-cache.js'
import { sharedOptions } from './shared-options.js'
import type { Rng } from './random.js'
import type { RoutingTable } from './routing-table.js'

export const ANNOUNCE_SEED_BYTES = 32

/**
 * Why an announcement or a join failed or was refused. `impostor`: a first-hop announcement
 * sent by a peer other than the newcomer it names. `taken`: a join at a location this node
 * holds a routing entry for under another peer.
 */
export type AnnounceFailure = 'loop' | 'unreachable' | 'invalid' | 'timeout' | 'error' | 'impostor' | 'taken'

/**
 * Two locations closer than this (on the circle) are the same place. A join carries no proof
 * of its location, so "never repoint another peer's location" must not be dodged by a float a
 * hair away from it: issue 11 placed an attacker at loc + 1e-15 past an exact-equality guard.
 * 2^-32 is ~2.3e-10: an honest join lands this near one of a node's <= 250 entries with
 * probability ~1e-7, and a location this close to an entry takes that entry's keys all the same.
 */
export const SAME_LOCATION = 2 ** -32

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

type Phase = 'walking' | 'committed' | 'revealed'

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

interface AnnounceOp<P> {
  id: bigint
  node: P
  from: P | null
  htl: number
  /** Position of this node's commitment in the list. */
  index: number
  seed: Uint8Array
  /** Commitments known so far (up to ours while walking; all of them after the commit phase). */
  commitments: Uint8Array[]
  to?: P
  tried: P[]
  phase: Phase
}

/** The commitment to a seed. */
export function commitmentOf (seed: Uint8Array): Uint8Array {
  return sha256(seed)
}

/** The agreed key: SHA-256 of the XOR of all seeds. */
export function announceKey (seeds: Uint8Array[]): RoutingKey {
  const x = new Uint8Array(ANNOUNCE_SEED_BYTES)
  for (const s of seeds) for (let i = 0; i < ANNOUNCE_SEED_BYTES; i++) x[i] ^= s[i]
  return RoutingKey.hash(x)
}

/**
 * Index of the first seed that does not match its commitment (or is malformed), the number
 * of commitments when seeds are missing, or -1 when every seed is honest.
 */
export function verifySeeds (commitments: Uint8Array[], seeds: Uint8Array[]): number {
  const n = Math.min(commitments.length, seeds.length)
  for (let i = 0; i < n; i++) {
    if (seeds[i].length !== ANNOUNCE_SEED_BYTES || !equals(commitmentOf(seeds[i]), commitments[i])) return i
  }
  return seeds.length === commitments.length ? -1 : n
}

function validLoc (loc: number): boolean {
  return Number.isFinite(loc) && loc >= 0 && loc < 1
}

/**
 * A peer drawn uniformly from the routing table's entries (a peer with more entries is more
 * likely: the preferential attachment the IEEE article describes), skipping `exclude`.
 */
export function randomPeer<P> (table: RoutingTable<P>, rng: Rng, exclude: (peer: P) => boolean): P | undefined {
  let chosen: P | undefined
  let seen = 0
  for (let i = 0; i < table.size; i++) {
    const peer = table.peerAt(i)
    if (exclude(peer)) continue
    seen++
    if (rng() * seen < 1) chosen = peer
  }
  return chosen
}

const mergedAnnounceOptions = new WeakMap<object, Readonly<AnnounceOptions>>()

export class AnnounceCore<P> {
  readonly self: P
  readonly options: Readonly<AnnounceOptions>
  private readonly table: RoutingTable<P>
  private readonly addRoute: (loc: number, peer: P, via?: P) => void
  private readonly rng: Rng
  private readonly now: () => number
  private readonly randomSeed: () => Uint8Array
  private readonly location: () => number
  private readonly seen: SeenCache
  private readonly ops = new LazyMap<bigint, AnnounceOp<P>>()
  private readonly joinSeen: SeenCache
  private readonly joins = new LazyMap<bigint, JoinOp<P>>()
  /** The location of each newcomer's last join here (placeJoined). */
  private readonly joinedAt = new LazyMap<P, number>()

  constructor (init: AnnounceInit<P>) {
    this.self = init.self
    this.table = init.table
    this.addRoute = init.addRoute
    this.rng = init.rng
    this.now = init.now
    this.randomSeed = init.randomSeed ?? (() => new Uint8Array(randomBytes(ANNOUNCE_SEED_BYTES)))
    this.location = init.location ?? (() => NaN)
    this.options = sharedOptions(DEFAULT_ANNOUNCE_OPTIONS, mergedAnnounceOptions, init.options)
    this.seen = new SeenCache(this.options.seenCacheSize, this.options.seenCacheTtlMs)
    this.joinSeen = new SeenCache(this.options.seenCacheSize, this.options.seenCacheTtlMs)
  }

  /** Announcements in progress here. */
  get activeOps (): number {
    return this.ops.size + this.joins.size
  }

  /** The newcomer announces itself through `bootstrap` with hops-to-live `htl`. */
  start (id: bigint, bootstrap: P, htl: number): Array<AnnounceAction<P>> {
    this.seen.add(id, this.now())
    const seed = this.randomSeed()
    const op: AnnounceOp<P> = {
      id,
      node: this.self,
      from: null,
      htl: Math.min(htl, this.options.maxHtl),
      index: 0,
      seed,
      commitments: [commitmentOf(seed)],
      tried: [bootstrap],
      to: bootstrap,
      phase: 'walking'
    }
    if (op.htl < 1) return [{ type: 'failed', id, to: null, reason: 'invalid' }]
    this.ops.set(id, op)
    return [{ type: 'announce', id, to: bootstrap, htl: op.htl - 1, node: op.node, commitments: op.commitments }]
  }

  /** An announcement arrives from `from`. */
  receive (from: P, msg: AnnounceMessage<P>): Array<AnnounceAction<P>> {
    // Nobody may announce someone else's identity or addresses into routing tables: the sender
    // must be the newcomer, or relay an announcement the newcomer signed. (Issue 11: checked
    // only at one commitment, two made-up commitments completed a walk for an impostor.)
    // Checked before the seen cache, so that a forged announcement cannot burn the newcomer's ID.
    if (msg.node !== from && msg.signed !== true) return [{ type: 'failed', id: msg.id, to: from, reason: 'impostor' }]
    // An ID in progress here is a loop even if it has left the seen cache.
    if (this.ops.has(msg.id) || !this.seen.add(msg.id, this.now())) return [{ type: 'failed', id: msg.id, to: from, reason: 'loop' }]
    const c = msg.commitments
    if (msg.node === this.self || c.length < 1 || c.length > this.options.maxHtl + 1 || c.some((x) => x.length !== 32)) {
      return [{ type: 'failed', id: msg.id, to: from, reason: 'invalid' }]
    }
    const seed = this.randomSeed()
    const op: AnnounceOp<P> = {
      id: msg.id,
      node: msg.node,
      from,
      htl: Math.max(0, Math.min(msg.htl, this.options.maxHtl)),
      index: c.length,
      seed,
      commitments: [...c, commitmentOf(seed)],
      tried: [],
      phase: 'walking'
    }
    this.ops.set(op.id, op)
    return this.walk(op)
  }

  /** The walk ended below `from`: the complete commitment list. */
  commit (id: bigint, from: P, commitments: Uint8Array[]): Array<AnnounceAction<P>> {
    const op = this.ops.get(id)
    if (op === undefined || op.phase !== 'walking' || from !== op.to) return []
    const mine = op.commitments
    const ok = commitments.length > mine.length &&
      commitments.length <= this.options.maxHtl + 2 &&
      mine.every((m, i) => equals(m, commitments[i])) &&
      commitments.every((x) => x.length === 32)
    if (!ok) return this.fail(op, 'invalid')
    op.commitments = commitments
    op.phase = 'committed'
    if (op.from !== null) return [{ type: 'commit', id, to: op.from, commitments }]
    // The newcomer: everyone has committed, start the reveal.
    op.phase = 'revealed'
    return [{ type: 'reveal', id, to: op.to as P, seeds: [op.seed] }]
  }

  /** Seeds revealed above this node arrive from upstream. */
  reveal (id: bigint, from: P, seeds: Uint8Array[]): Array<AnnounceAction<P>> {
    const op = this.ops.get(id)
    if (op === undefined || op.phase !== 'committed' || from !== op.from) return []
    if (seeds.length !== op.index) return this.fail(op, 'invalid')
    const all = [...seeds, op.seed]
    if (op.to === undefined) return this.conclude(op, all)
    op.phase = 'revealed'
    return [{ type: 'reveal', id, to: op.to, seeds: all }]
  }

  /** The result comes back up from `from`, with the walk's references below us (`shareWalk`). */
  result (id: bigint, from: P, key: RoutingKey, seeds: Uint8Array[], refs?: Array<WalkRef<P>>): Array<AnnounceAction<P>> {
    const op = this.ops.get(id)
    if (op === undefined || op.phase !== 'revealed' || from !== op.to) return []
    if (!equals(seeds[op.index] ?? new Uint8Array(0), op.seed)) return this.fail(op, 'invalid')
    return this.conclude(op, seeds, key, refs)
  }

  /** `from` (our child or our parent) failed, timed out or gave up. */
  failed (id: bigint, from: P, reason: AnnounceFailure): Array<AnnounceAction<P>> {
    const op = this.ops.get(id)
    if (op === undefined) return []
    if (from === op.to && op.phase === 'walking') {
      op.to = undefined
      return this.walk(op)
    }
    if (from === op.to || from === op.from) {
      this.ops.delete(id)
      const other = from === op.to ? op.from : op.to
      return other === undefined ? [] : [{ type: 'failed', id, to: other, reason }]
    }
    return []
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

  private startJoin (id: bigint, loc: number): Array<AnnounceAction<P>> {
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
  private ownRefs (loc: number, node: P, from: P | null): Array<WalkRef<P>> {
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
  private checkRefs (below: Array<WalkRef<P>>, node: P): Array<WalkRef<P>> {
    return this.boundRefs(below).filter((r) => r.peer !== this.self && r.peer !== node && validLoc(r.loc))
  }

  /** References that may become routes here: none that would repoint an entry held for another peer. */
  private withoutTaken (refs: Array<WalkRef<P>>): Array<WalkRef<P>> {
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

  /** Is announcement `id` in progress here? */
  has (id: bigint): boolean {
    return this.ops.has(id)
  }

  /** Is join `id` in progress here? */
  hasJoin (id: bigint): boolean {
    return this.joins.has(id)
  }

  /**
   * Forget an announcement or join (its stream went away); `only` forgets just one of the two
   * (a driver releasing the newcomer's finished announcement keeps the join it just started).
   */
  abort (id: bigint, only?: 'announce' | 'join'): void {
    if (only !== 'join') this.ops.delete(id)
    if (only !== 'announce') this.joins.delete(id)
  }

  private walk (op: AnnounceOp<P>): Array<AnnounceAction<P>> {
    let next: P | undefined
    if (op.htl > 0 && op.tried.length < this.options.maxTries) {
      const { from, node, tried } = op
      const self = this.self
      next = randomPeer(this.table, this.rng, (p) => p === from || p === node || p === self || tried.includes(p))
    }
    if (next === undefined) {
      if (op.from === null) {
        this.ops.delete(op.id)
        return [{ type: 'failed', id: op.id, to: null, reason: 'unreachable' }]
      }
      // The walk ends here: this node is the last participant.
      op.phase = 'committed'
      return [{ type: 'commit', id: op.id, to: op.from, commitments: op.commitments }]
    }
    op.tried.push(next)
    op.to = next
    return [{ type: 'announce', id: op.id, to: next, htl: op.htl - 1, node: op.node, commitments: op.commitments }]
  }

  /** Verify all seeds (and the key claimed below us); on success record the newcomer and pass the result up. */
  private conclude (op: AnnounceOp<P>, seeds: Uint8Array[], claimed?: RoutingKey, below?: Array<WalkRef<P>>): Array<AnnounceAction<P>> {
    if (verifySeeds(op.commitments, seeds) !== -1) return this.fail(op, 'invalid')
    const key = announceKey(seeds)
    if (claimed !== undefined && !claimed.equals(key)) return this.fail(op, 'invalid')
    this.ops.delete(op.id)
    if (op.from !== null) this.addRoute(key.loc, op.node, op.from)
    const share = this.options.shareWalk
    if (share === 'off') return [{ type: 'result', id: op.id, to: op.from, key, seeds }, ...(op.from === null ? this.startJoin(op.id, key.loc) : [])]
    const checked = this.checkRefs(below ?? [], op.node)
    // Where the references become routes (the newcomer; every walk node with 'all'), the ones
    // that would repoint another peer's entry are dropped, here and for the nodes above.
    const refs = op.from === null || share === 'all' ? this.withoutTaken(checked) : checked
    if (op.from === null || share === 'all') for (const r of refs) this.addRoute(r.loc, r.peer, op.to)
    if (op.from === null) return [{ type: 'result', id: op.id, to: null, key, seeds, refs }, ...this.startJoin(op.id, key.loc)]
    refs.push(...this.ownRefs(key.loc, op.node, op.from))
    return [{ type: 'result', id: op.id, to: op.from, key, seeds, refs }]
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

  /** Give up on `op`, telling both neighbours on the path. */
  private fail (op: AnnounceOp<P>, reason: AnnounceFailure): Array<AnnounceAction<P>> {
    this.ops.delete(op.id)
    const out: Array<AnnounceAction<P>> = [{ type: 'failed', id: op.id, to: op.from, reason }]
    if (op.to !== undefined) out.push({ type: 'failed', id: op.id, to: op.to, reason })
    return out
  }
}
