/**
 * What the request/insert driver (request-insert.ts) keeps for each operation in progress
 * here, and the writes of its block to the node's stores: the state the pure routing core
 * cannot hold (links, the verified block, the node's own caller).
 */
import { Block } from '../../proto/warren.js'
import { HOP_TIMEOUT_MS } from '../constants.js'
import { answerViolation, send } from './stream.js'
import type { Admitted } from './admission.js'
import type { Frame } from './messages.js'
import type { AllClear } from './request-frames.js'
import type { HopLinks, Link } from './stream.js'
import type { WarrenStore } from './types.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { Logger } from '@libp2p/interface'

export type Kind = 'request' | 'insert'

export interface OpContext extends HopLinks {
  key: RoutingKey
  /** The slots the upstream peer's operation holds here (Admission). */
  admitted?: Admitted
  /**
   * Aborted when the operation's state is released here (answered, aborted by its caller, its
   * upstream gone, the node stopping): a dial or a wait on the child stops at once.
   */
  ended: AbortController
  /** The block this node holds for the operation (verified), once it has one. */
  block?: Block
  /** Its write to the local store, once the core asked for it (see `startStore`). */
  storing?: Promise<unknown>
  local?: {
    kind: Kind
    resolve: (v: any) => void
    reject: (e: Error) => void
    allClear?: AllClear
    /** A child answered OVERLOADED (InsertNotPlacedError.overloaded). */
    overloaded?: boolean
    /** Whether its block goes to the client cache (NetworkOptions.keep). */
    keep: boolean
    /** The core asked for the client-cache write and `keep` was false: it was not made. */
    skippedKeep?: boolean
  }
}

/** Where an operation's block is written: the store peers read, and the node's own client cache. */
export interface OpStores {
  store: WarrenStore
  /** What the node's own requests and inserts keep (the core's `client` stores): never read for a peer. */
  clientCache: WarrenStore
  log: Logger
}

/**
 * Write operation `id`'s block (in `c`) to the store, without holding up the actions after it:
 * a relay passes a block on (upstream for a request, downstream for an insert) while it is
 * being written. A reply that means "on disk here" (INSERT_STORED, the node's own result)
 * waits for `c.storing` first. The node's own operations write to the client cache, unless
 * they asked not to (`keep` false, `force` unset): a file too large for the client cache would
 * only turn it over, and writing it costs a LevelDB write per block and, in compactions and
 * mapped table files, ~20-30 MiB of the transfer's peak RSS (docs/benchmarks.md, "Not keeping
 * large transfers").
 */
export function startStore (stores: OpStores, id: bigint, c: OpContext | undefined, key: RoutingKey, client: boolean, force = false): void {
  if (c?.block === undefined) return
  if (client && !force && c.local?.keep === false) {
    c.local.skippedKeep = true
    return
  }
  const storing = (client ? stores.clientCache : stores.store).put(key, Block.encode(c.block))
  storing.catch((err: Error) => { stores.log.error('could not store the block of op %s - %e', id, err) })
  c.storing = storing
}

/** Write the client-cache copy `startStore` skipped (`keep` false), if it did. */
export function keepAfterAll (stores: OpStores, id: bigint, c: OpContext | undefined): void {
  if (c?.local?.skippedKeep === true) startStore(stores, id, c, c.key, true, true)
}

/**
 * The reason every released operation's `ended` signal carries: one shared error, because
 * `abort()` without a reason builds a DOMException with a stack trace per operation (2-3 % of
 * the CPU profile of bench/chain.ts).
 */
export const OP_ENDED = new Error('the operation ended here')

/** What a peer is told when this node could not store its block (the reason stays in the log). */
export const STORE_FAILED = 'the block could not be stored at this node; insert it through another'

/** Answer upstream (and close, unless more frames follow): two hops' time to write, one to close. */
export async function answer (log: Logger, l: Link, frame: Frame, close: boolean): Promise<void> {
  await send(l, frame, close, HOP_TIMEOUT_MS * 2, HOP_TIMEOUT_MS, log)
}

/** Answer a protocol violation with an ERROR frame, then close the stream. */
export async function refuse (log: Logger, l: Link, err: unknown): Promise<void> {
  await answerViolation(l, err, HOP_TIMEOUT_MS * 2, HOP_TIMEOUT_MS, log)
}
