/**
 * Inserting files into the block network: `insertFile` cuts a stream into a FEC split file
 * (src/client/splitfile.ts) and inserts its blocks; `insertBlocks` inserts any stream of
 * blocks (a split file's, a site's) with bounded concurrency. The
 * generator is pulled only while fewer than `concurrency` inserts are in flight, so a slow
 * network slows the reading of the source instead of filling memory. A key already
 * inserted in this run is skipped (identical blocks of one file, convergent encryption).
 */
import { CustomProgressEvent } from 'progress-events'
import { KeyType } from '../../proto/warren.js'
import { CLIENT_CONCURRENCY, SEGMENT_CHECK_BLOCKS, SEGMENT_DATA_BLOCKS } from '../constants.js'
import { formatUri } from '../keys/uri.js'
import { splitfileBlocks } from './splitfile.js'
import type { SplitfileOptions } from './splitfile.js'
import type { ClientOptions, SplitBlock, SplitSource } from './types.js'
import type { BlockNetwork } from '../protocol/types.js'
import type { Block } from '../../proto/warren.js'

export interface InsertStats {
  blocks: number
  collisions: number
  /** Fewest nodes that stored any one block. */
  minStored: number
}

export interface InsertBlocksOptions extends ClientOptions {
  htl: number
  /** Inserts in flight at once (default CLIENT_CONCURRENCY). */
  concurrency?: number
  /**
   * Blocks inserted past this many bytes of blocks are not kept in the client cache
   * (NetworkOptions.keep). `insertFile` counts its data and check blocks: see InsertFileOptions.
   */
  keepMaxBytes?: number
}

export interface PutResult {
  uri: string
  size: number
  blocks: number
  /** Blocks whose key already existed in the network (identical content; not an error). */
  collisions: number
  /** Fewest nodes that stored any one block (the weakest block's replication). */
  minStored: number
  /** FEC layout: data and check blocks, segments (src/client/splitfile.ts). */
  dataBlocks?: number
  checkBlocks?: number
  segments?: number
}

export interface InsertFileOptions extends InsertBlocksOptions, SplitfileOptions {
  /**
   * Blocks past the first keepMaxBytes of the file are not kept in the client cache
   * (WarrenClientInit.keepMaxBytes): with the check blocks, (1 + m / k) times that in blocks.
   */
  keepMaxBytes?: number
}

/** Insert `source` as a FEC split file; returns its CHK URI and what the insert did. */
export async function insertFile (network: BlockNetwork, source: SplitSource, options: InsertFileOptions): Promise<PutResult> {
  const gen = splitfileBlocks(source, { mime: options.mime, segmentData: options.segmentData, segmentCheck: options.segmentCheck })
  const k = options.segmentData ?? SEGMENT_DATA_BLOCKS
  const m = options.segmentCheck ?? SEGMENT_CHECK_BLOCKS
  const { result, stats } = await insertBlocks(gen, network, { ...options, keepMaxBytes: (options.keepMaxBytes ?? Infinity) * (1 + m / k) })
  return {
    uri: formatUri({ type: 'CHK', routingKey: result.routingKey, decryptKey: result.decryptKey }),
    size: result.size,
    ...stats,
    dataBlocks: result.dataBlocks,
    checkBlocks: result.checkBlocks,
    segments: result.segments
  }
}

export function chkBlock (data: Uint8Array<ArrayBuffer>): Block {
  return { type: KeyType.CHK, data, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }
}

/**
 * Insert every block `gen` yields; returns the generator's return value and the stats.
 * Aborting `options.signal` cancels every insert in flight and reads no further.
 */
export async function insertBlocks<R> (gen: AsyncGenerator<SplitBlock, R, undefined>, network: BlockNetwork, options: InsertBlocksOptions): Promise<{ result: R, stats: InsertStats }> {
  const { htl, onProgress } = options
  // Aborted by the caller, or by us when one insert fails: the others stop at once.
  const controller = new AbortController()
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal])
  const limit = options.concurrency ?? CLIENT_CONCURRENCY
  const inFlight = new Set<Promise<void>>()
  const done = new Set<string>()
  const stats: InsertStats = { blocks: 0, collisions: 0, minStored: Infinity }
  let bytes = 0
  let yielded = 0
  const keepMax = options.keepMaxBytes ?? Infinity
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
      yielded += block.length
      const p: Promise<void> = network.insert(routingKey, chkBlock(block), { htl, signal, onProgress, keep: yielded <= keepMax }).then((r) => {
        stats.blocks++
        bytes += block.length
        if (r.collision) stats.collisions++
        else stats.minStored = Math.min(stats.minStored, r.stored)
        onProgress?.(new CustomProgressEvent('warren:insert:block', { key: routingKey, blocks: stats.blocks, bytes, collision: r.collision }))
      }, (err: Error) => {
        failure ??= new Error(`insert of block ${routingKey.hex.slice(0, 16)}… failed: ${err.message}`)
        controller.abort()
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
