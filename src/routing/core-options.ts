/**
 * The routing core's switches (node-core.ts), each with why it exists and what it measured,
 * and their defaults (the paper's reading; the profiles in profiles.ts build `network`,
 * `paper` and `improved` from these).
 */
export interface NodeCoreOptions {
  /** Incoming HTL is capped to this ("nodes may curtail excessive hops-to-live"). */
  maxHtl: number
  /** Freenet's per-peer probabilistic HTL decrement at the maximum and at 1. */
  probabilisticHtl: boolean
  /** Probability, decided once per upstream peer (and once for own requests), of decrementing a max-HTL message. */
  decrementAtMaxProb: number
  /** Probability, decided once per upstream peer (and once for own requests), of decrementing (ending) an HTL-1 message. */
  decrementAtMinProb: number
  /** Probability that a node replaces the data source with itself when passing a reply or insert on. */
  sourceResetProb: number
  /**
   * Whom the originator of an insert names as its data source (insertRouteTo 'source'):
   * itself (`self`, the paper's model), or another node of its routing table, never the child
   * it sends to (paper 3.3: "any node along the way can unilaterally decide to change the
   * insert message to claim itself or another arbitrary node as the data source";
   * docs/reliability.md, finding 3): drawn at random for each child (`other`), or its entry
   * nearest the key after that child (`near`: the routes the insert leaves then lead to a node
   * near the key rather than anywhere; convergence median 4.4 -> 4.2, q3 11.3 -> 9.3,
   * docs/simulation.md "Closing the gap").
   */
  insertOriginSource: 'self' | 'other' | 'near'
  /**
   * The node's own requests and inserts keep their block in the client cache (a `store`
   * action with `client`), never in the store that answers peers (issue 11, finding 6). Off:
   * the paper's model, where the requester and the inserter store it like any node on the path
   * (with insertOriginSource 'self', routes point at the inserter, which must hold the data).
   */
  clientCache: boolean
  /** Probability of caching a block that passes back through this node on a successful request. */
  cacheProb: number
  routingTableSize: number
  seenCacheSize: number
  seenCacheTtlMs: number
  /** Failure table; size 0 disables it. */
  failureTableSize: number
  failureTableTtlMs: number
  /** Base per-hop time budget; an operation with HTL h gets hopTimeoutMs * (h + 1). null: no deadlines (simulator). */
  hopTimeoutMs: number | null
  /** Whether a RejectedLoop answer costs the hop that reached the looping node. */
  loopCostsHop: boolean
  /** Drop every routing entry of a peer that cannot be reached. */
  dropUnreachable: boolean
  /** Refresh a peer's routing entries in LRU order whenever a message is forwarded to it. */
  refreshOnForward: boolean
  /**
   * What the routing entry an insert creates on each node of its path points at: the data
   * source the insert carries (the paper: the inserter, or a node that reset it), or the
   * node's own child on the path, which stores the block too and leads on towards the nodes
   * the key was routed to (`downstream`, as a successful request's entries do).
   */
  insertRouteTo: 'source' | 'downstream'
  /**
   * Insert dead ends backtrack like requests (paper 3.3): a node with no route left answers
   * RouteNotFound with its unspent HTL and its parent tries its next candidate; only the
   * originator, or a node whose HTL ran out, ends the path. Off: a dead end ends the path.
   */
  insertBacktrack: boolean
  /**
   * With insertBacktrack, a dead end backtracks only if it received less than this HTL; one
   * that received this much or more ends the path there and stores the block. Set to the start
   * HTL of own inserts minus one, it keeps a backtracking insert from coming home: the
   * originator's children get the start HTL or one less, so no RouteNotFound ever reaches the
   * originator and the insert never ends stored only there (in a small network a plain
   * backtracking insert did; issue 15). Relays forward at the maximum HTL too (probabilistic
   * HTL), so ending the path says nothing about who started it. Infinity: always backtrack.
   * Not in `network`: it fails for an insert a user starts below the maximum HTL, which
   * insertHomeHandOff covers whatever the start HTL (kept for experiments).
   */
  insertBacktrackBelowHtl: number
  /**
   * With insertBacktrack, an own insert that comes home (a child answered RouteNotFound and no
   * route is left) is handed to the originator's nearest peer at HTL 0, which stores it: the
   * block ends on a node peers can ask, not only in the originator's client cache. Only the
   * originator knows it is one, so this is the one place a start-HTL-independent rule can sit
   * (issue 15; paper 3.3: the insert backtracks "in the same way as for requests"). If every
   * candidate of the hand-off fails or loops too, the own insert fails (endInsertHere) and the
   * driver starts it again (INSERT_ATTEMPTS, or after a wait when a peer was overloaded).
   */
  insertHomeHandOff: boolean
  /**
   * Loop detection per request path instead of per node over time: a node that backtracks
   * (answers RouteNotFound) forgets the operation's ID, so another branch may route through
   * it again. Off: any node the operation ever reached rejects it as a loop.
   */
  perPathLoops: boolean
  /**
   * Routing-table replacement keeps entries spread over the key circle: with n > 0 slices,
   * a full table evicts its least recently used entry among those that share their slice
   * with another entry. 0: plain LRU.
   */
  tableSpreadBuckets: number
  /**
   * DataNotFound answers per request taken as "try the next route" instead of ending the
   * request. One child's DataNotFound is only its claim: issue 11 ended requests for a key
   * with one peer placed next to it answering DataNotFound. 0: the paper (a DataNotFound ends
   * the request).
   */
  notFoundRetries: number
  /**
   * HTL a request keeps after a DataNotFound it retries: at most this (and never more than it
   * had before that child). Bounds the work a DataNotFound for a key that really is absent costs:
   * each node of its path tries once more with this little HTL (2: at most 4 more messages
   * per node), instead of the whole search again at every level.
   */
  notFoundRetryHtl: number
  /**
   * Route only to peers the driver verified (connected to, or pinned as neighbours): a route to
   * any other peer waits in `pending` (bounded per sender and in total) until the driver
   * reports it verified (`peerVerified`). Issue 11: forged joins and inserts naming made-up
   * peers filled a node's routing table and its gets failed. Off: every route is used at once
   * (the paper; the simulator, whose references are all real nodes).
   */
  verifiedRoutesOnly: boolean
  /** Routes waiting for verification, in total and per sender (the peer that told us). */
  pendingRoutes: number
  pendingRoutesPerSender: number
}

export const DEFAULT_CORE_OPTIONS: NodeCoreOptions = {
  maxHtl: 20,
  probabilisticHtl: true,
  decrementAtMaxProb: 0.5,
  decrementAtMinProb: 0.25,
  sourceResetProb: 0.1,
  insertOriginSource: 'self',
  clientCache: false,
  cacheProb: 1,
  routingTableSize: 250,
  seenCacheSize: 10_000,
  seenCacheTtlMs: 10 * 60_000,
  failureTableSize: 1000,
  failureTableTtlMs: 5 * 60_000,
  hopTimeoutMs: 3000,
  loopCostsHop: true,
  dropUnreachable: true,
  refreshOnForward: false,
  insertRouteTo: 'source',
  insertBacktrack: false,
  insertBacktrackBelowHtl: Infinity,
  insertHomeHandOff: false,
  perPathLoops: false,
  tableSpreadBuckets: 0,
  notFoundRetries: 0,
  notFoundRetryHtl: 2,
  verifiedRoutesOnly: false,
  pendingRoutes: 256,
  pendingRoutesPerSender: 64
}
