/**
 * The block network as its users see it: what a request or an insert takes and returns, and
 * the progress events they emit. The libp2p service implements `BlockNetwork`; the client,
 * the key client, the API and the gateway depend only on this module and ./errors.ts.
 */
import type { Block } from '../../proto/warren.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { AbortOptions } from '@libp2p/interface'
import type { ProgressEvent, ProgressOptions } from 'progress-events'

/** Where the routing core's stored blocks live (BlockStore satisfies it). */
export interface WarrenStore {
  has: (key: RoutingKey) => boolean
  get: (key: RoutingKey) => Promise<Uint8Array | undefined>
  put: (key: RoutingKey, bytes: Uint8Array) => Promise<unknown>
}

export interface RequestResult {
  block: Block
  hops: number
  /** The claimed data source (a peer ID string; may be a node that reset it to itself). */
  source: string
}

export interface InsertResult {
  /** The key already existed: `block` is the data found under it. */
  collision: boolean
  block?: Block
  /** Nodes that verified and stored the block (this one included). */
  stored: number
  /** Nodes on the insert path and the HTL left unused when the path ended early. */
  depth: number
  remainingHtl: number
  hops: number
}

/** Progress of one block operation (Helia/libp2p style: one typed `onProgress`). */
export type NetworkProgressEvents =
  | ProgressEvent<'warren:request:result', { key: RoutingKey, ok: boolean, hops: number }>
  | ProgressEvent<'warren:insert:result', { key: RoutingKey, ok: boolean, stored: number, hops: number }>
  /** A peer refused the insert as overloaded: it starts again after `ms`. */
  | ProgressEvent<'warren:insert:wait', { key: RoutingKey, ms: number, attempt: number }>

export interface NetworkOptions extends AbortOptions, ProgressOptions<NetworkProgressEvents> {
  /** Hops-to-live of the operation (capped at the node's maximum). */
  htl: number
  /**
   * Keep the block in the node's client cache (default true). A large transfer passes false
   * (WarrenClientInit.keepMaxBytes): an insert's block then stays here only if no peer took it.
   */
  keep?: boolean
}

/** The block network (WarrenService satisfies it). Aborting `signal` ends the operation at once. */
export interface BlockNetwork {
  request: (key: RoutingKey, options: NetworkOptions) => Promise<RequestResult>
  insert: (key: RoutingKey, block: Block, options: NetworkOptions) => Promise<InsertResult>
}
