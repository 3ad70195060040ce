/**
 * Types shared by the client's modules: what a file is read from, what an inserter is fed,
 * and how a reader fetches one block.
 */
import type { RoutingKey } from '../keys/routing-key.js'

/** One block to insert: its routing key and its bytes. */
export interface SplitBlock {
  routingKey: RoutingKey
  block: Uint8Array<ArrayBuffer>
}

/** A file's content as it is read: any (async) iterable of byte chunks. */
export type SplitSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/** Fetch one block's bytes by routing key; must stop work when `signal` aborts. */
export type FetchBlock = (key: RoutingKey, options: { signal: AbortSignal }) => Promise<Uint8Array>
