/**
 * Inserting a stream of blocks (a split file's, a site's) with bounded concurrency. The
 * generator is pulled only while fewer than `concurrency` inserts are in flight, so a slow
 * network slows the reading of the source instead of filling memory. A key already
 * inserted in this run is skipped (identical blocks of one file, convergent encryption).
 */
import { KeyType } from '../../proto/warren.js'
import { CLIENT_CONCURRENCY } from '../constants.js'
import type { SplitBlock } from './types.js'
import type { InsertResult } from '../protocol/types.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { Block } from '../../proto/warren.js'

export type InsertBlock = (key: RoutingKey, block: Block) => Promise<InsertResult>

export interface InsertProgress {
  /** Blocks inserted so far. */
  blocks: number
  /** Bytes of blocks inserted so far. */
  bytes: number
}

export interface InsertStats {
  blocks: number
  collisions: number
  /** Fewest nodes that stored any one block. */
  minStored: number
}

export interface InsertBlocksOptions {
  concurrency?: number
  signal?: AbortSignal
  onProgress?: (p: InsertProgress) => void
}

export function chkBlock (data: Uint8Array<ArrayBuffer>): Block {
  return { type: KeyType.CHK, data, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }
}

/** Insert every block `gen` yields; returns the generator's return value and the stats. */
export async function insertBlocks<R> (gen: AsyncGenerator<SplitBlock, R, undefined>, insert: InsertBlock, options: InsertBlocksOptions = {}): Promise<{ result: R, stats: InsertStats }> {
  const limit = options.concurrency ?? CLIENT_CONCURRENCY
  const inFlight = new Set<Promise<void>>()
  const done = new Set<string>()
  const stats: InsertStats = { blocks: 0, collisions: 0, minStored: Infinity }
  let bytes = 0
  let failure: Error | undefined
  let result: R
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      if (failure !== undefined) throw failure
      const next = await gen.next()
      if (next.done === true) {
        result = next.value
        break
      }
      const { routingKey, block } = next.value
      if (done.has(routingKey.hex)) continue
      done.add(routingKey.hex)
      const p: Promise<void> = insert(routingKey, chkBlock(block)).then((r) => {
        stats.blocks++
        bytes += block.length
        if (r.collision) stats.collisions++
        else stats.minStored = Math.min(stats.minStored, r.stored)
        options.onProgress?.({ blocks: stats.blocks, bytes })
      }, (err: Error) => {
        failure ??= new Error(`insert of block ${routingKey.hex.slice(0, 16)}… failed: ${err.message}`)
      }).finally(() => { inFlight.delete(p) })
      inFlight.add(p)
      if (inFlight.size >= limit) await Promise.race(inFlight)
    }
    await Promise.all(inFlight)
  } finally {
    await Promise.allSettled(inFlight)
    if (failure !== undefined) await gen.return(undefined as never).catch(() => {})
  }
  if (failure !== undefined) throw failure
  if (stats.minStored === Infinity) stats.minStored = 0
  return { result, stats }
}
