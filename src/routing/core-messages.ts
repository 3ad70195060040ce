/**
 * What a driver and the routing core (node-core.ts) say to each other: the messages a node
 * receives, what a child answered, what the node answers upstream, and the actions the core
 * asks its driver to carry out, and the counters it keeps. Plain types, shared by the libp2p
 * service and the simulator.
 */
import type { RoutingKey } from '../keys/routing-key.js'

export type OpKind = 'request' | 'insert'

/** A request or insert arriving at this node (from a peer, or `null` for a local client). */
export interface IncomingMessage<P> {
  kind: OpKind
  id: bigint
  key: RoutingKey
  htl: number
  /** Inserts: the claimed data source (the inserter or a node that replaced it). */
  source?: P
}

/** What a child (downstream peer) answered, or what happened while waiting for it. */
export type Response<P> =
  | { type: 'found', source: P, hops: number }
  | { type: 'collision', source: P, hops: number }
  /** `recentlyFailed`: the child answered from its failure table (or passes on such an answer). */
  | { type: 'not-found', hops: number, recentlyFailed?: boolean }
  | { type: 'route-not-found', remaining: number, hops: number }
  | { type: 'loop' }
  | { type: 'all-clear', depth: number, remaining: number, hops: number }
  /**
   * The child did not answer usefully. `unreachable`: no message reached it (costs no hop);
   * `timeout`, `invalid` (bad data or a protocol violation) and `error` cost a hop.
   */
  | { type: 'failed', reason: 'timeout' | 'unreachable' | 'invalid' | 'error', hops?: number }

/** What this node answers upstream (or to its local client when `to` is null). */
export type Reply<P> =
  | { type: 'found', source: P, hops: number, fromStore: boolean }
  | { type: 'collision', source: P, hops: number, fromStore: boolean }
  /** `recentlyFailed`: the answer comes from a failure table (here or below), not from HTL running out. */
  | { type: 'not-found', hops: number, recentlyFailed?: boolean }
  | { type: 'route-not-found', remaining: number, hops: number }
  | { type: 'loop' }
  | { type: 'all-clear', depth: number, remaining: number, hops: number }
  | { type: 'stored', stored: number }

export type Action<P> =
  /** Send a request or insert for operation `id` to `to`; expect its answer within `timeoutMs`. */
  | { type: 'forward', id: bigint, to: P, kind: OpKind, key: RoutingKey, htl: number, source?: P, timeoutMs: number }
  /**
   * Answer upstream. `found`/`collision` carry the block: from the local store when
   * `fromStore`, else the block the driver received from the child. A `loop` reply always
   * concerns the message just passed to `receive` (another operation may own that ID).
   * Every reply except `all-clear` ends the operation.
   */
  | { type: 'reply', id: bigint, to: P | null, reply: Reply<P> }
  /**
   * Persist the block the driver holds for operation `id` (already verified against `key`):
   * in the store, or with `client` (the node's own request or insert) in the client cache,
   * which only the node's own requests read. Why: the store answers every peer's request, an
   * HTL-0 one included, so a neighbour could probe it for what this node's user fetched or
   * inserted (issue 11, finding 6; Freenet 0.7 keeps a client cache apart for this reason).
   */
  | { type: 'store', id: bigint, key: RoutingKey, client?: true }
  /** Insert data phase: send the block down to `to`; expect `dataStored` within `timeoutMs`. */
  | { type: 'send-data', id: bigint, to: P, timeoutMs: number }

/** Synchronous view of the local store the core needs: does it hold this key? */
export interface StoreView {
  has: (key: RoutingKey) => boolean
}

/** Counters the routing core keeps: what it received, forwarded and answered. */
export interface NodeCoreStats {
  requestsReceived: number
  insertsReceived: number
  forwarded: number
  loopsRejected: number
  failureTableRejects: number
  servedFromStore: number
  local: {
    requests: { success: number, failure: number, hops: number }
    inserts: { success: number, collision: number, failure: number, hops: number }
  }
}
