/**
 * Types shared by the client's modules: what a file is read from, what an inserter is fed,
 * and how a reader fetches one block.
 */
import type { RoutingKey } from '../keys/routing-key.js'
import type { NetworkProgressEvents } from '../protocol/types.js'
import type { AbortOptions } from '@libp2p/interface'
import type { ProgressEvent, ProgressOptions } from 'progress-events'

/** One block to insert: its routing key and its bytes. */
export interface SplitBlock {
  routingKey: RoutingKey
  block: Uint8Array<ArrayBuffer>
}

/** A file's content as it is read: any (async) iterable of byte chunks. */
export type SplitSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/** Fetch one block's bytes by routing key; must stop work when `signal` aborts. */
export type FetchBlock = (key: RoutingKey, options: { signal: AbortSignal }) => Promise<Uint8Array>

/**
 * Progress of a client operation, Helia style: one typed `onProgress` per call (and every
 * event again on WarrenClient's 'progress' event, for node-wide observers such as the
 * gateway's recent-request statistics). The network's own events pass through.
 */
export type ClientProgressEvents =
  | NetworkProgressEvents
  /** A read fetched (ok) or failed to fetch one block; `hops` of the request. */
  | ProgressEvent<'warren:file:block', { key: RoutingKey, ok: boolean, hops: number }>
  /** A read delivered `bytes` more plaintext bytes (`total` so far). */
  | ProgressEvent<'warren:file:bytes', { bytes: number, total: number }>
  /** An insert stored one more block: totals so far. */
  | ProgressEvent<'warren:insert:block', { key: RoutingKey, blocks: number, bytes: number, collision: boolean }>
  /** A block rebuilt from FEC could not be inserted again (key undefined: it could not be recomputed). */
  | ProgressEvent<'warren:heal:error', { key?: RoutingKey, error: Error }>

/** What every network-facing client call takes: an abort signal and a progress callback. */
export interface ClientOptions extends AbortOptions, ProgressOptions<ClientProgressEvents> {}
