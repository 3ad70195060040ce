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
 *
 * NodeCore is the routing proper: where an operation goes next. It builds on two layers, its
 * operations and how they end, with the insert data phase (CoreOps, core-ops.ts), and its peers:
 * routing table, verification of routes, HTL decisions per upstream peer (CorePeers,
 * core-peers.ts).
 */
import { CoreOps } from './core-ops.js'
import { FailureTable } from './failure-table.js'
import type { Rng } from './random.js'
import type { Action, IncomingMessage, Reply, Response, StoreView } from './core-messages.js'
import type { NodeCoreOptions } from './core-options.js'
import type { Op } from './core-ops.js'

// The core's message types and options live in core-messages.ts and core-options.ts; importers
// of node-core.ts keep getting them from here.
export type { Action, IncomingMessage, NodeCoreStats, OpKind, Reply, Response, StoreView } from './core-messages.js'
export type { NodeCoreOptions } from './core-options.js'
export { DEFAULT_CORE_OPTIONS } from './core-options.js'

export class NodeCore<P> extends CoreOps<P> {
  readonly failures: FailureTable
  private readonly store: StoreView

  /** `intPeers`: every peer is an integer in [0, 2^31) (the simulator's node indices): the routing table packs them. */
  constructor (init: { self: P, store: StoreView, rng: Rng, now: () => number, options?: Partial<NodeCoreOptions>, intPeers?: boolean }) {
    super(init)
    this.store = init.store
    this.failures = new FailureTable(this.options.failureTableSize, this.options.failureTableTtlMs)
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
}
