/**
 * The routing core of one warren node: Freenet key-closeness routing for requests and
 * inserts, as an explicit per-operation state machine.
 *
 * Pure TypeScript: no libp2p, no I/O, no timers, no global randomness. A driver feeds it
 * events (`receive`, `response`, `insertData`, `dataStored`) and executes the actions it
 * returns (forward a message, reply upstream, store a block, send insert data). The libp2p
 * service (src/protocol) and the discrete-event simulator (src/sim) are two such drivers
 * of this very code. `P` is the driver's peer reference (a peer ID string on the network,
 * an integer index in the simulator).
 *
 * Hops-to-live (HTL) semantics: a message carrying `htl = h` may take `h` more hops beyond
 * the node that receives it. Forwarding to a child costs one hop (the child gets h - 1,
 * subject to the probabilistic rules below); a child that runs out of routes returns the
 * HTL it did not spend (RouteNotFound), and the node spends that on its next-closest
 * candidate (backtracking). A request whose HTL is exhausted fails with DataNotFound, which
 * goes straight back to the originator without further tries.
 *
 * Path length (`hops` in replies) is the number of messages actually sent between nodes
 * below a node, counting backtracking and loop rejections: exactly the paper's "number of
 * hops actually taken".
 */
import { FailureTable } from './failure-table.js'
import { LazyMap } from './lazy-map.js'
import { sharedOptions } from './shared-options.js'
import { PendingRoutes } from './pending-routes.js'
import { RoutingTable } from './routing-table.js'
import { SeenCache } from './seen-cache.js'
import { DEFAULT_CORE_OPTIONS } from './core-options.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { Rng } from './random.js'
import type { Action, IncomingMessage, NodeCoreStats, OpKind, Reply, Response, StoreView } from './core-messages.js'
import type { NodeCoreOptions } from './core-options.js'

// The core's message types and options live in core-messages.ts and core-options.ts; importers
// of node-core.ts keep getting them from here.
export type { Action, IncomingMessage, NodeCoreStats, OpKind, Reply, Response, StoreView } from './core-messages.js'
export type { NodeCoreOptions } from './core-options.js'
export { DEFAULT_CORE_OPTIONS } from './core-options.js'

const mergedCoreOptions = new WeakMap<object, Readonly<NodeCoreOptions>>()

type Phase = 'routing' | 'awaiting-data' | 'sending-data'

/** Upstream peers whose probabilistic-HTL decisions are remembered (oldest forgotten first). */
const HTL_DECISIONS_SIZE = 4096
/** Verified peers remembered besides those in the routing table (oldest forgotten first). */
const VERIFIED_SIZE = 4096

interface Op<P> {
  id: bigint
  kind: OpKind
  key: RoutingKey
  from: P | null
  htlIn: number
  /** HTL this node may still spend. */
  budget: number
  /** Budget before the current child was tried, and what the child was given. */
  budgetBefore: number
  sentHtl: number
  current?: P
  tried: Set<P>
  hops: number
  deadline: number
  /** Inserts: the source received (route entries point at it) and the one passed on. */
  source?: P
  sourceOut?: P
  downstream?: P
  phase: Phase
  /** DataNotFound answers taken as "try the next route" so far. */
  notFoundRetried: number
  /** Requests: every DataNotFound so far came from a failure table (none from HTL running out). */
  onlyRecentlyFailed?: boolean
  /** Own inserts: a child answered RouteNotFound (the insert backtracked home). */
  cameHome?: boolean
  /** Own inserts: handing the block to the nearest peer at HTL 0 (insertHomeHandOff). */
  handingOff?: boolean
}

interface HtlDecisions {
  atMax: boolean
  atMin: boolean
}

export class NodeCore<P> {
  readonly self: P
  readonly options: Readonly<NodeCoreOptions>
  readonly table: RoutingTable<P>
  readonly seen: SeenCache
  readonly failures: FailureTable
  /** Routes waiting for their peer to be verified (verifiedRoutesOnly). */
  readonly pending: PendingRoutes<P>
  readonly stats: NodeCoreStats
  private readonly store: StoreView
  private readonly rng: Rng
  private readonly now: () => number
  // The three collections below are created on first use (and `ops` dropped when it empties): a
  // simulated node holds no operation between operations, and the simulator neither verifies
  // peers nor decides HTL probabilistically, so at 10^5-10^6 simulated nodes empty Maps were
  // a measurable share of each node's memory (docs/simulation.md, "A million nodes").
  private readonly ops = new LazyMap<bigint, Op<P>>()
  private htlDecisions?: Map<P | null, HtlDecisions>
  /** Peers verified lately (besides those in the table), most recent last; bounded. */
  private verified?: Set<P>

  /** `intPeers`: every peer is an integer in [0, 2^31) (the simulator's node indices): the routing table packs them. */
  constructor (init: { self: P, store: StoreView, rng: Rng, now: () => number, options?: Partial<NodeCoreOptions>, intPeers?: boolean }) {
    this.self = init.self
    this.store = init.store
    this.rng = init.rng
    this.now = init.now
    this.options = sharedOptions(DEFAULT_CORE_OPTIONS, mergedCoreOptions, init.options)
    this.table = new RoutingTable<P>(this.options.routingTableSize, this.options.tableSpreadBuckets, init.intPeers === true)
    this.seen = new SeenCache(this.options.seenCacheSize, this.options.seenCacheTtlMs)
    this.failures = new FailureTable(this.options.failureTableSize, this.options.failureTableTtlMs)
    this.pending = new PendingRoutes<P>(this.options.pendingRoutes, this.options.pendingRoutesPerSender)
    this.stats = {
      requestsReceived: 0,
      insertsReceived: 0,
      forwarded: 0,
      loopsRejected: 0,
      failureTableRejects: 0,
      servedFromStore: 0,
      local: {
        requests: { success: 0, failure: 0, hops: 0 },
        inserts: { success: 0, collision: 0, failure: 0, hops: 0 }
      }
    }
  }

  /** Operations in progress (for status and leak checks). */
  get activeOps (): number {
    return this.ops.size
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

  /** Time budget of an operation at `htl`, or Infinity without deadlines. */
  timeoutFor (htl: number): number {
    const t = this.options.hopTimeoutMs
    return t === null ? Infinity : t * (htl + 1)
  }

  /** A request or insert arrives from `from` (null: this node's own client). */
  receive (from: P | null, msg: IncomingMessage<P>): Array<Action<P>> {
    const now = this.now()
    const o = this.options
    if (msg.kind === 'request') this.stats.requestsReceived++
    else this.stats.insertsReceived++

    // An ID in progress here is a loop even if it has left the seen cache: a replayed ID
    // must never take over an operation.
    if (this.ops.has(msg.id) || !this.seen.add(msg.id, now)) {
      this.stats.loopsRejected++
      return [{ type: 'reply', id: msg.id, to: from, reply: { type: 'loop' } }]
    }
    const htl = Math.max(0, Math.min(msg.htl, o.maxHtl))
    // An insert of the key is under way: "recently not found" no longer holds here. A
    // backtracking insert reaches nodes that never get the data (the branches it left), and a
    // lookup before a put (the updatable descriptor) left failure entries all over a small
    // network: its reader's own node then refused the request at once (issue 15,
    // test/client/updatable.test.ts failed 1 run of 10 with the hand-off but without this).
    if (msg.kind === 'insert' && o.failureTableSize > 0) this.failures.clear(msg.key.hex)

    if (this.store.has(msg.key)) {
      this.stats.servedFromStore++
      const reply: Reply<P> = msg.kind === 'request'
        ? { type: 'found', source: this.self, hops: 0, fromStore: true }
        : { type: 'collision', source: this.self, hops: 0, fromStore: true }
      if (from === null) this.countLocal(msg.kind, reply)
      return [{ type: 'reply', id: msg.id, to: from, reply }]
    }

    if (msg.kind === 'request' && o.failureTableSize > 0 && this.failures.rejects(msg.key.hex, htl, now)) {
      this.stats.failureTableRejects++
      // Marked, so that no node records (or renews) a failure entry from it: issue 11 saw
      // failure entries feed each other and keep a key failing after the attacker left.
      const reply: Reply<P> = { type: 'not-found', hops: 0, recentlyFailed: true }
      if (from === null) this.countLocal(msg.kind, reply)
      return [{ type: 'reply', id: msg.id, to: from, reply }]
    }

    const op: Op<P> = {
      id: msg.id,
      kind: msg.kind,
      key: msg.key,
      from,
      htlIn: htl,
      budget: htl,
      budgetBefore: htl,
      sentHtl: 0,
      tried: new Set(),
      hops: 0,
      deadline: now + this.timeoutFor(htl),
      phase: 'routing',
      notFoundRetried: 0
    }
    if (msg.kind === 'insert') {
      // An insert that names no source (an older or foreign originator; this core always names
      // one): this node names itself rather than pass its sender on as the source, which would
      // name the originator to every node below.
      op.source = from === null ? this.self : (msg.source ?? (o.insertOriginSource !== 'self' ? this.self : from))
      op.sourceOut = (from === null || this.rng() < o.sourceResetProb) ? this.self : op.source
    }
    this.ops.set(op.id, op)
    return this.tryNext(op)
  }

  /** A child answered (or failed to answer) operation `id`. */
  response (id: bigint, from: P, res: Response<P>): Array<Action<P>> {
    const op = this.ops.get(id)
    if (op === undefined) return []

    if (op.phase === 'sending-data') {
      // The child failed during the data phase: we stored the block ourselves.
      if (from !== op.downstream || res.type !== 'failed') return []
      if (!this.ownInsertNeedsPeer(op)) return this.finish(op, { type: 'stored', stored: 1 })
      // Our own insert, whose copy here went to the client cache: nobody holds the block yet, so
      // the path starts again at the next candidate (the failed child cost its hop).
      op.phase = 'routing'
      op.downstream = undefined
      op.hops += 1 + (res.hops ?? 0)
      op.budget = op.sentHtl
      return this.tryNext(op)
    }
    if (op.phase !== 'routing' || from !== op.current) return []
    op.current = undefined

    switch (res.type) {
      case 'found':
      case 'collision': {
        op.hops += 1 + res.hops
        const actions: Array<Action<P>> = []
        this.addRoute(op.key.loc, res.source, false, from)
        this.failures.clear(op.key.hex)
        if (op.from === null) actions.push(this.storeAction(op))
        else if (this.rng() < this.options.cacheProb) actions.push({ type: 'store', id: op.id, key: op.key })
        const source = (op.from !== null && this.rng() < this.options.sourceResetProb) ? this.self : res.source
        const reply: Reply<P> = res.type === 'found'
          ? { type: 'found', source, hops: op.hops, fromStore: false }
          : { type: 'collision', source, hops: op.hops, fromStore: false }
        actions.push(...this.finish(op, reply))
        return actions
      }
      case 'not-found':
        op.hops += 1 + res.hops
        if (op.kind === 'insert') {
          op.budget = op.sentHtl
          return this.tryNext(op)
        }
        op.onlyRecentlyFailed = res.recentlyFailed === true && op.onlyRecentlyFailed !== false
        if (op.notFoundRetried < this.options.notFoundRetries) {
          // One child's DataNotFound is its claim, not proof: try the next route, with no more
          // HTL than this node had and at most notFoundRetryHtl (it bounds what an absent key
          // costs). Not one hop less: the node above a lying child may itself have got the
          // request as a retry, with little HTL, and must still reach the next route.
          op.notFoundRetried++
          op.budget = Math.min(op.budgetBefore, this.options.notFoundRetryHtl)
          return this.tryNext(op)
        }
        return this.exhausted(op)
      case 'route-not-found':
        op.hops += 1 + res.hops
        // One HTL spent here even when the child got all this node had (probabilistic HTL keeps
        // the maximum, and 1, undecremented): else a child found no route at no cost and, loops
        // costing nothing and backtracked nodes forgetting the ID (perPathLoops), a request kept
        // at HTL 1 searched the graph depth first. Issue 12: a request for a key held by no peer
        // in a 50-node network took 577-1861 messages (1603 of 1865 forwards at HTL 1, 1531 loop
        // rejections, every node reached) and 0.6-3 s to fail.
        op.budget = Math.min(res.remaining, op.sentHtl, op.budgetBefore - 1)
        if (op.kind === 'insert' && op.from === null) op.cameHome = true
        return this.tryNext(op)
      case 'loop':
        op.hops += 1
        op.budget = this.options.loopCostsHop ? op.sentHtl : op.budgetBefore
        return this.tryNext(op)
      case 'all-clear':
        if (op.kind !== 'insert') {
          op.hops += 1
          op.budget = op.sentHtl
          return this.tryNext(op)
        }
        op.hops += 1 + res.hops
        op.downstream = from
        op.phase = 'awaiting-data'
        return [{ type: 'reply', id: op.id, to: op.from, reply: { type: 'all-clear', depth: res.depth + 1, remaining: res.remaining, hops: op.hops } }]
      case 'failed':
        if (res.reason === 'unreachable') {
          op.budget = op.budgetBefore
          // Pinned entries belong to connected neighbours: a failed dial of one is transient.
          if (this.options.dropUnreachable) this.forgetUnreachable(from)
        } else {
          // Data that fails verification is proof of a lying (or broken) peer: stop routing to it.
          if (res.reason === 'invalid') this.removePeer(from)
          op.hops += 1 + (res.hops ?? 0)
          op.budget = op.sentHtl
        }
        return this.tryNext(op)
    }
  }

  /**
   * Insert data phase: the driver holds the verified block for insert `id` (from upstream,
   * or from the local client after its all-clear). Store it here, record the route to the
   * data source, and pass the block down the established path.
   */
  insertData (id: bigint): Array<Action<P>> {
    const op = this.ops.get(id)
    if (op === undefined || op.kind !== 'insert' || op.phase !== 'awaiting-data') return []
    const actions: Array<Action<P>> = [this.storeAction(op)]
    const to = this.options.insertRouteTo === 'downstream' ? (op.downstream ?? op.source) : op.source
    if (to !== undefined) this.addRoute(op.key.loc, to)
    if (op.downstream === undefined) {
      actions.push(...this.finish(op, { type: 'stored', stored: 1 }))
      return actions
    }
    op.phase = 'sending-data'
    actions.push({ type: 'send-data', id, to: op.downstream, timeoutMs: this.remainingTime(op) })
    return actions
  }

  /** The child confirmed the data phase: `stored` nodes at and below it hold the block. */
  dataStored (id: bigint, from: P, stored: number): Array<Action<P>> {
    const op = this.ops.get(id)
    if (op === undefined || op.phase !== 'sending-data' || from !== op.downstream) return []
    return this.finish(op, { type: 'stored', stored: stored + 1 })
  }

  /** Where operation `op`'s block goes: the client cache for the node's own operations (clientCache), else the store. */
  private storeAction (op: Op<P>): Action<P> {
    return op.from === null && this.options.clientCache ? { type: 'store', id: op.id, key: op.key, client: true } : { type: 'store', id: op.id, key: op.key }
  }

  /** Drop an operation (its upstream went away, or its data never came). */
  abort (id: bigint): void {
    this.ops.delete(id)
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

  private remainingTime (op: Op<P>): number {
    return Math.max(0, op.deadline - this.now())
  }

  private tryNext (op: Op<P>): Array<Action<P>> {
    // Handing off, the child gets HTL 0 whatever this node has left (one hop's time).
    const budget = op.handingOff === true ? 1 : op.budget
    if (budget <= 0) return this.exhausted(op)
    const hop = this.options.hopTimeoutMs
    const left = this.remainingTime(op)
    // Keep half a hop in reserve so that our answer reaches upstream before its timer fires.
    const childTime = hop === null ? Infinity : Math.min(this.timeoutFor(budget - 1), left - hop / 2)
    if (hop !== null && childTime < hop / 2) return this.outOfTime(op)

    const from = op.from
    const self = this.self
    const tried = op.tried
    const next = this.table.closest(op.key.loc, (p) => p === from || p === self || tried.has(p))
    if (next === undefined) {
      // A DataNotFound this request retried and could not beat: HTL did run out below (or a
      // child says so), so the failure table learns it here; the answer stays RouteNotFound, so
      // that the node above may still backtrack (answering DataNotFound instead stopped that:
      // convergence median at t = 1000 243 -> 346, docs/simulation.md).
      if (op.kind === 'request' && op.onlyRecentlyFailed === false && this.options.failureTableSize > 0) {
        this.failures.record(op.key.hex, op.htlIn, this.now())
      }
      if (this.handsOff(op)) return this.handOff(op)
      if (op.kind === 'insert' && (op.from === null || !this.insertBacktracks(op))) return this.endInsertHere(op)
      return this.finish(op, { type: 'route-not-found', remaining: op.budget, hops: op.hops })
    }
    op.tried.add(next)
    op.current = next
    op.budgetBefore = op.budget
    op.sentHtl = op.handingOff === true ? 0 : this.nextHtl(op.budget, op.from)
    if (hop !== null && childTime < this.timeoutFor(budget - 1)) {
      // Time, not HTL, is short (an earlier child was slow). The child derives its own
      // deadline from the HTL alone, so give it no more HTL than our timer can wait for, or
      // its subtree keeps working after we gave up on it. HTL 0 (a store lookup) always fits.
      op.sentHtl = Math.min(op.sentHtl, Math.max(0, Math.floor(childTime / hop) - 1))
    }
    let source = op.sourceOut
    if (op.kind === 'insert' && op.from === null && source !== undefined && this.options.insertOriginSource !== 'self') {
      // Not the child while there is another: a relay names the receiver only when an earlier hop
      // happened to name it, so that would mark us. With no other node to name (a young node that
      // knows one peer), name the child: an insert naming no source comes only from an originator
      // (every relay passes one on), so the child was certain who inserted (docs/anonymity.md: 20
      // of 20 inserts before, 0 after). Not ourselves: relays pass the source on,
      // so every node below would learn (and, verifying the route, connect to) the inserter.
      const other = this.options.insertOriginSource === 'near'
        ? this.table.closest(op.key.loc, (p) => p === self || p === next || tried.has(p))
        : this.table.randomPeer(this.rng, (p) => p === self || p === next)
      source = other ?? next
    }
    this.stats.forwarded++
    if (this.options.refreshOnForward) this.refreshPeer(next)
    return [{
      type: 'forward',
      id: op.id,
      to: next,
      kind: op.kind,
      key: op.key,
      htl: op.sentHtl,
      source,
      timeoutMs: childTime
    }]
  }

  /**
   * Whether an insert that found no route left here backtracks (answers RouteNotFound) rather
   * than ending its path here. Not at a node that got insertBacktrackBelowHtl or more
   * (Infinity in every profile), nor at a node that had no candidate at all: a lone dead end
   * stores the block, so that in a small network an insert is not passed back to its
   * originator and stored there only (issue 15; test/integration/hostile.test.ts inserts at
   * HTL 1 into three nodes).
   */
  private insertBacktracks (op: Op<P>): boolean {
    const o = this.options
    return o.insertBacktrack && op.htlIn < o.insertBacktrackBelowHtl && op.tried.size > 0
  }

  /**
   * Whether `op` is this node's own insert at HTL > 0 whose copy here goes to the client cache
   * (NodeCoreOptions.clientCache), where no peer can read it. Once a child took such an insert
   * and then failed while the data was sent, the path does not end here with "stored" (the
   * block would be nowhere the network can serve): it goes on to the next route (and where the
   * routes end, endInsertHere fails it). The paper's inserter stores the data like every node
   * on the path (3.3: "stored in each node along the way"), so there it may end at home.
   * Measured (docs/reliability.md, churn): a node with no peer reported every one of its puts
   * stored (stored 1, at itself only), and those were the files no running node could fetch.
   */
  private ownInsertNeedsPeer (op: Op<P>): boolean {
    // HTL 0 asks for no hop at all: the user keeps the block here on purpose.
    return op.kind === 'insert' && op.from === null && op.htlIn > 0 && this.options.clientCache
  }

  /**
   * Time (not HTL) ran out: an earlier child was slow. Not a DataNotFound — nothing is
   * recorded in the failure table (one slow peer must not make a key fail everywhere for
   * minutes); a request answers RouteNotFound with the HTL it could not spend, an insert
   * ends its path here.
   */
  private outOfTime (op: Op<P>): Array<Action<P>> {
    if (op.kind === 'insert') return this.endInsertHere(op)
    return this.finish(op, { type: 'route-not-found', remaining: op.budget, hops: op.hops })
  }

  private exhausted (op: Op<P>): Array<Action<P>> {
    if (this.handsOff(op)) return this.handOff(op)
    if (op.kind === 'insert') return this.endInsertHere(op)
    // A failure learnt only from failure tables is passed on as such and recorded nowhere.
    if (op.onlyRecentlyFailed === true) return this.finish(op, { type: 'not-found', hops: op.hops, recentlyFailed: true })
    if (this.options.failureTableSize > 0) this.failures.record(op.key.hex, op.htlIn, this.now())
    return this.finish(op, { type: 'not-found', hops: op.hops })
  }

  /**
   * insertHomeHandOff: this node's own insert came home (a child answered RouteNotFound) and has
   * no route or no HTL left: it goes to the nearest peer at HTL 0 instead (see the option).
   */
  private handsOff (op: Op<P>): boolean {
    return op.kind === 'insert' && op.from === null && op.cameHome === true && op.handingOff !== true && this.options.insertHomeHandOff
  }

  private handOff (op: Op<P>): Array<Action<P>> {
    op.handingOff = true
    op.tried.clear()
    return this.tryNext(op)
  }

  /**
   * An insert's path ends at this node: ALL_CLEAR upstream, and the block is stored here when
   * its data comes. Not at the originator of an own insert that tried peers of which none took
   * it, when its own copy goes to the client cache (clientCache): no peer can fetch it from
   * there, yet the insert would report success. It fails instead (RouteNotFound with the HTL it
   * could not spend; the driver may start it again). Measured (issue 12): in the latency bench
   * the first put's only child answered after its timer, with the event loop stalled 4-5 s by
   * 50 kad-dht nodes refreshing in the same process; the put reported 1 node stored (its
   * originator's client cache) and the fetch that followed failed after 479-1061 hops. A
   * node that tried nobody (no peer in its table, or HTL 0) keeps the block for its user, as
   * asked.
   */
  private endInsertHere (op: Op<P>): Array<Action<P>> {
    if (op.from === null && this.options.clientCache && op.tried.size > 0) {
      return this.finish(op, { type: 'route-not-found', remaining: op.budget, hops: op.hops })
    }
    op.phase = 'awaiting-data'
    return [{ type: 'reply', id: op.id, to: op.from, reply: { type: 'all-clear', depth: 1, remaining: op.budget, hops: op.hops } }]
  }

  private finish (op: Op<P>, reply: Reply<P>): Array<Action<P>> {
    this.ops.delete(op.id)
    if (reply.type === 'route-not-found' && this.options.perPathLoops) this.seen.delete(op.id)
    if (op.from === null) this.countLocal(op.kind, reply)
    return [{ type: 'reply', id: op.id, to: op.from, reply }]
  }

  private countLocal (kind: OpKind, reply: Reply<P>): void {
    const l = this.stats.local
    if (kind === 'request') {
      if (reply.type === 'found') {
        l.requests.success++
        l.requests.hops += reply.hops
      } else {
        l.requests.failure++
      }
    } else if (reply.type === 'stored') {
      l.inserts.success++
    } else if (reply.type === 'collision') {
      l.inserts.collision++
      l.inserts.hops += reply.hops
    } else if (reply.type !== 'all-clear') {
      l.inserts.failure++
    }
  }
}
