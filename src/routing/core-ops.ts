/**
 * The operations a routing core (node-core.ts) has in progress and how they end: the answer
 * upstream (with the counters of the node's own requests and inserts), where an insert's path
 * ends, and the insert data phase that follows it (Freenet 2001, section 3.3: the data goes down
 * the path the insert established, stored at each node along the way).
 *
 * CoreOps is the middle layer of NodeCore, which routes the operations it keeps; it builds on
 * the peers of core-peers.ts, and nothing else builds one.
 *
 * A base class rather than a helper object (CorePeers <- CoreOps <- NodeCore): a node keeps one
 * object with the same fields, which the simulator's checkpoints save and restore field by field
 * (src/sim/checkpoint.ts), at a million simulated nodes.
 */
import { CorePeers } from './core-peers.js'
import { LazyMap } from './lazy-map.js'
import { SeenCache } from './seen-cache.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { CorePeersInit } from './core-peers.js'
import type { Action, NodeCoreStats, OpKind, Reply } from './core-messages.js'

type Phase = 'routing' | 'awaiting-data' | 'sending-data'

export interface Op<P> {
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

/** A routing core's operations (see the file comment); NodeCore extends it. */
export class CoreOps<P> extends CorePeers<P> {
  readonly seen: SeenCache
  readonly stats: NodeCoreStats
  protected readonly now: () => number
  // Created on first use and dropped when it empties (the verified peers and HTL decisions of
  // core-peers.ts are created on first use too): a simulated node holds no operation between
  // operations, and the simulator neither verifies peers nor decides HTL probabilistically, so
  // at 10^5-10^6 simulated nodes empty Maps were a measurable share of each node's memory
  // (docs/simulation.md, "A million nodes").
  protected readonly ops = new LazyMap<bigint, Op<P>>()

  constructor (init: CorePeersInit<P> & { now: () => number }) {
    super(init)
    this.now = init.now
    this.seen = new SeenCache(this.options.seenCacheSize, this.options.seenCacheTtlMs)
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
  protected storeAction (op: Op<P>): Action<P> {
    return op.from === null && this.options.clientCache ? { type: 'store', id: op.id, key: op.key, client: true } : { type: 'store', id: op.id, key: op.key }
  }

  /** Drop an operation (its upstream went away, or its data never came). */
  abort (id: bigint): void {
    this.ops.delete(id)
  }

  protected remainingTime (op: Op<P>): number {
    return Math.max(0, op.deadline - this.now())
  }

  /**
   * Whether an insert that found no route left here backtracks (answers RouteNotFound) rather
   * than ending its path here. Not at a node that got insertBacktrackBelowHtl or more
   * (Infinity in every profile), nor at a node that had no candidate at all: a lone dead end
   * stores the block, so that in a small network an insert is not passed back to its
   * originator and stored there only (issue 15; test/integration/hostile.test.ts inserts at
   * HTL 1 into three nodes).
   */
  protected insertBacktracks (op: Op<P>): boolean {
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
  protected ownInsertNeedsPeer (op: Op<P>): boolean {
    // HTL 0 asks for no hop at all: the user keeps the block here on purpose.
    return op.kind === 'insert' && op.from === null && op.htlIn > 0 && this.options.clientCache
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
  protected endInsertHere (op: Op<P>): Array<Action<P>> {
    if (op.from === null && this.options.clientCache && op.tried.size > 0) {
      return this.finish(op, { type: 'route-not-found', remaining: op.budget, hops: op.hops })
    }
    op.phase = 'awaiting-data'
    return [{ type: 'reply', id: op.id, to: op.from, reply: { type: 'all-clear', depth: 1, remaining: op.budget, hops: op.hops } }]
  }

  protected finish (op: Op<P>, reply: Reply<P>): Array<Action<P>> {
    this.ops.delete(op.id)
    if (reply.type === 'route-not-found' && this.options.perPathLoops) this.seen.delete(op.id)
    if (op.from === null) this.countLocal(op.kind, reply)
    return [{ type: 'reply', id: op.id, to: op.from, reply }]
  }

  protected countLocal (kind: OpKind, reply: Reply<P>): void {
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
