/**
 * The node's persistent block store: blocks in LevelDB (datastore-level) under one directory,
 * bounded by a byte capacity and evicted by the shared `StorePolicy`.
 *
 * Layout: `/b/<hex>` holds a block's bytes and `/m/<hex>` its metadata record (see
 * `encodeMeta`). Every put writes block and metadata, and deletes the blocks it evicts, in a
 * single LevelDB batch, which LevelDB applies atomically through its write-ahead log: a
 * process killed at any moment leaves each block with its metadata or neither. (Writes are
 * not fsync'ed, so an OS crash may lose the most recent puts, never consistency.)
 *
 * `has` is synchronous, answered from an in-memory index rebuilt at open, because the routing
 * core asks it on every message. All writes go through one queue, so concurrent puts plan
 * their evictions one after another and can never overshoot the capacity.
 *
 * Puts are group-committed: the puts that arrive while the queue is busy (typically while the
 * previous batch is on its way to disk) are written together in the next LevelDB batch, up to
 * `batchMaxBlocks`, whatever operation they belong to. Each block is still written with its
 * metadata and its evictions in that one atomic batch, and a put resolves only after its
 * batch is committed, so the kill -9 guarantee above holds per block. An idle store writes a
 * lone put at once (no timer). If a batch fails, every put in it rejects and the index is
 * rolled back. A delete, flush or verify closes the open group, so writes keep their order.
 *
 * Access statistics from `get` are write-behind: kept in memory and flushed as one batch every
 * `flushIntervalMs` and on `close`. A crash loses at most that interval's access counts; they
 * only steer eviction, so losing a few is harmless, and a read then costs no disk write.
 *
 * The on-disk layout and the scan at open that rebuilds the index are in layout.ts; the
 * database, the write queue and the recovery from a full disk in level-store.ts.
 */
import { mkdir } from 'node:fs/promises'
import { LevelDatastore } from 'datastore-level'
import { StorePolicy } from './store-policy.js'
import { BLOCK_PREFIX, blockKey, encodeMeta, loadIndex, metaKey } from './layout.js'
import { LEVELDB_OPTIONS, LevelStore } from './level-store.js'
import { STORE_BATCH_MAX_BLOCKS, STORE_META_FLUSH_INTERVAL_MS } from '../constants.js'
import type { OpenReport, StoreLogger } from './layout.js'
import type { LevelOptions } from './level-store.js'
import type { PutResult, StoreEntry, StoreStats } from './store-policy.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { StoreView } from '../routing/node-core.js'

export interface BlockStoreOptions {
  capacityBytes: number
  now?: () => number
  logger?: StoreLogger
  /** See `StorePolicyOptions.accessWeightMs`. */
  accessWeightMs?: number
  flushIntervalMs?: number
  /** See `StorePolicyOptions.keepFraction` (call `policy.relocate()` when the location changes). */
  keepFraction?: number
  /** The node's routing location; see `StorePolicyOptions.location`. */
  location?: () => number
  /** Most puts written in one LevelDB batch (default STORE_BATCH_MAX_BLOCKS; 1 = a batch per put). */
  batchMaxBlocks?: number
  /** LevelDB settings (defaults: LEVELDB_OPTIONS; bench/store.ts compares them with LevelDB's own). */
  leveldb?: LevelOptions
}

/** What the store did with its write batches (see `BlockStore.batchStats`). */
export interface BatchStats {
  /** LevelDB batches committed for puts. */
  batches: number
  /** Puts those batches carried (stored or not). */
  puts: number
  /** The most puts one batch carried. */
  largest: number
}

/** A put waiting for its group's batch. */
interface PendingPut {
  hex: string
  bytes: Uint8Array
  resolve: (r: PutResult) => void
  reject: (err: unknown) => void
}

export interface VerifyResult {
  checked: number
  deleted: number
}

/** Without a logger the store is silent: the node passes its own (pino, honouring --log-level). */
const SILENT: StoreLogger = { info: () => {}, warn: () => {} }

export class BlockStore extends LevelStore implements StoreView {
  readonly openReport: OpenReport
  private readonly policy: StorePolicy
  private readonly dirty = new Set<string>()
  private readonly timer: ReturnType<typeof setInterval>
  private readonly batchMax: number
  /** The puts that the next batch will write; closed when its turn in the queue comes. */
  private group?: PendingPut[]
  /** Blocks of the batch being written, readable before it is committed. */
  private readonly writing = new Map<string, Uint8Array>()
  private readonly batching: BatchStats = { batches: 0, puts: 0, largest: 0 }

  private constructor (dir: string, ds: LevelDatastore, policy: StorePolicy, log: StoreLogger, report: OpenReport, flushIntervalMs: number, batchMax: number) {
    super(dir, ds, log)
    if (!Number.isInteger(batchMax) || batchMax < 1) throw new RangeError(`batchMaxBlocks must be a positive integer, got ${batchMax}`)
    this.batchMax = batchMax
    this.policy = policy
    this.openReport = report
    this.timer = setInterval(() => {
      if (this.dirty.size === 0 || this.closing !== undefined) return
      this.flush().catch((err: unknown) => { this.log.warn(`store: flushing access metadata failed: ${String(err)}`) })
    }, flushIntervalMs)
    this.timer.unref()
  }

  /** Open (or create) the store in `dir`, rebuild the index and repair what a crash or tampering left. */
  static async open (dir: string, options: BlockStoreOptions): Promise<BlockStore> {
    const log = options.logger ?? SILENT
    const policy = new StorePolicy({
      capacityBytes: options.capacityBytes,
      accessWeightMs: options.accessWeightMs,
      now: options.now ?? Date.now,
      keepFraction: options.keepFraction,
      location: options.location
    })
    await mkdir(dir, { recursive: true })
    const ds = new LevelDatastore(dir, { ...LEVELDB_OPTIONS, ...options.leveldb })
    await ds.open()
    try {
      const report = await loadIndex(ds, policy, log)
      return new BlockStore(dir, ds, policy, log, report, options.flushIntervalMs ?? STORE_META_FLUSH_INTERVAL_MS, options.batchMaxBlocks ?? STORE_BATCH_MAX_BLOCKS)
    } catch (err) {
      await ds.close()
      throw err
    }
  }

  /** Whether the block is stored: synchronous, from the in-memory index. */
  has (key: RoutingKey): boolean {
    return this.policy.has(key.hex)
  }

  /** The stored bytes, or undefined. Counts as an access (persisted write-behind). */
  async get (key: RoutingKey): Promise<Uint8Array | undefined> {
    this.assertOpen()
    const hex = key.hex
    if (!this.policy.has(hex)) return undefined
    const bytes = this.writing.get(hex) ?? await this.readBlock(hex)
    if (bytes !== undefined && this.policy.touch(hex)) this.dirty.add(hex)
    return bytes
  }

  /**
   * Store a block, evicting the lowest-scored blocks to make room, in one atomic batch (shared
   * with the puts queued beside it). A no-op when the key is present or the block exceeds the
   * whole capacity. Resolves once the batch is on disk.
   */
  async put (key: RoutingKey, bytes: Uint8Array): Promise<PutResult> {
    this.assertOpen()
    return await new Promise<PutResult>((resolve, reject) => {
      if (this.group === undefined || this.group.length >= this.batchMax) {
        const group: PendingPut[] = []
        this.serial(async () => { await this.writeGroup(group) }, () => {
          // Its turn came: later puts wait for the next batch.
          if (this.group === group) this.group = undefined
        }).catch((err: unknown) => { for (const p of group) p.reject(err) })
        this.group = group
      }
      this.group.push({ hex: key.hex, bytes, resolve, reject })
    })
  }

  /**
   * `LevelStore.serial`. A write queued now comes after every put already made: later puts
   * start a new group. (Not async: the base's promise itself, without a second wrapper.)
   */
  protected override serial<T> (fn: () => Promise<T>, onTurn?: () => void): Promise<T> {
    this.group = undefined
    return super.serial(fn, onTurn)
  }

  /**
   * Write a group of puts in one batch: plan each in order against the index (so the group
   * never overshoots the capacity), commit, then answer each. Call inside `serial`. On failure
   * the index is rolled back and the caller rejects every put of the group.
   */
  private async writeGroup (group: PendingPut[]): Promise<void> {
    const batch = this.ds.batch()
    const results: PutResult[] = []
    const added: string[] = []
    const evicted = new Map<string, StoreEntry>()
    for (const { hex, bytes } of group) {
      if (this.policy.has(hex) || !this.policy.fits(bytes.length)) {
        results.push({ stored: false, evicted: 0 })
        continue
      }
      const victims = this.policy.planInsert(hex, bytes.length)
      const entry = this.policy.freshEntry(bytes.length)
      for (const v of victims) {
        batch.delete(blockKey(v))
        batch.delete(metaKey(v))
        const old = this.policy.get(v)
        if (old !== undefined && !added.includes(v)) evicted.set(v, { ...old })
        this.policy.remove(v)
        this.writing.delete(v)
      }
      batch.put(blockKey(hex), bytes)
      batch.put(metaKey(hex), encodeMeta(entry))
      this.policy.restore(hex, entry)
      this.writing.set(hex, bytes)
      added.push(hex)
      results.push({ stored: true, evicted: victims.length })
    }
    try {
      if (added.length > 0) await batch.commit()
    } catch (err) {
      // Not written: the index goes back to what is on disk.
      for (const hex of added) this.policy.remove(hex)
      for (const [hex, entry] of evicted) this.policy.restore(hex, entry)
      this.policy.relocate()
      throw err
    } finally {
      this.writing.clear()
    }
    for (const hex of evicted.keys()) this.dirty.delete(hex)
    this.batching.batches++
    this.batching.puts += group.length
    this.batching.largest = Math.max(this.batching.largest, group.length)
    group.forEach((p, i) => { p.resolve(results[i]) })
  }

  /** How puts were grouped into batches since the store opened. */
  batchStats (): BatchStats {
    return { ...this.batching }
  }

  /** Remove a block; false if it was not stored. */
  async delete (key: RoutingKey): Promise<boolean> {
    this.assertOpen()
    const hex = key.hex
    return this.serial(async () => {
      if (!this.policy.has(hex)) return false
      await this.deleteBatch([hex])
      return true
    })
  }

  /** Re-choose the entries kept for specialisation after the node's location changed (StorePolicy.relocate). */
  relocate (): void {
    this.policy.relocate()
  }

  stats (): StoreStats {
    return { count: this.policy.count, kept: this.policy.keptCount, usedBytes: this.policy.usedBytes, capacityBytes: this.policy.capacityBytes }
  }

  /**
   * Check every stored block with `check` (the node passes its key-type verifier) and delete
   * those that fail, throw, or whose length differs from their metadata. Reads a snapshot,
   * so puts go on meanwhile; a failing block is re-read before deletion in case a good copy
   * replaced it.
   */
  async verify (check: (hex: string, bytes: Uint8Array) => boolean): Promise<VerifyResult> {
    this.assertOpen()
    const bad: string[] = []
    let checked = 0
    for await (const { key, value } of this.ds.query({ prefix: BLOCK_PREFIX })) {
      checked++
      const hex = key.toString().slice(BLOCK_PREFIX.length)
      if (!this.passes(check, hex, value)) bad.push(hex)
    }
    const deleted = bad.length === 0
      ? 0
      : await this.serial(async () => {
        const gone: string[] = []
        for (const hex of bad) {
          if (!this.policy.has(hex)) continue
          const bytes = await this.readBlock(hex)
          if (bytes === undefined || !this.passes(check, hex, bytes)) gone.push(hex)
        }
        await this.deleteBatch(gone)
        return gone.length
      })
    if (deleted > 0) this.log.warn(`store: verify deleted ${deleted} of ${checked} blocks that failed their check`)
    return { checked, deleted }
  }

  /** Write buffered access statistics now. */
  async flush (): Promise<void> {
    this.assertOpen()
    await this.serial(async () => { await this.writeDirty() })
  }

  /** Flush access statistics, wait for queued writes, and close the database. Idempotent. */
  async close (): Promise<void> {
    if (this.closing === undefined) {
      clearInterval(this.timer)
      this.closing = (async () => {
        await this.serial(async () => { await this.writeDirty() })
        await this.ds.close()
      })()
    }
    await this.closing
  }

  private passes (check: (hex: string, bytes: Uint8Array) => boolean, hex: string, bytes: Uint8Array): boolean {
    const entry = this.policy.get(hex)
    if (entry !== undefined && entry.size !== bytes.length) return false
    try {
      return check(hex, bytes)
    } catch {
      return false
    }
  }

  /** Delete blocks with their metadata in one batch, then from the index. Call inside `serial`. */
  private async deleteBatch (hexes: string[]): Promise<void> {
    if (hexes.length === 0) return
    const batch = this.ds.batch()
    for (const hex of hexes) {
      batch.delete(blockKey(hex))
      batch.delete(metaKey(hex))
    }
    await batch.commit()
    for (const hex of hexes) this.forget(hex)
  }

  private forget (hex: string): void {
    this.policy.remove(hex)
    this.dirty.delete(hex)
  }

  /** Persist the metadata of entries read since the last flush. Call inside `serial`. */
  private async writeDirty (): Promise<void> {
    if (this.dirty.size === 0) return
    const hexes = [...this.dirty]
    this.dirty.clear()
    const batch = this.ds.batch()
    for (const hex of hexes) {
      const entry = this.policy.get(hex)
      if (entry !== undefined) batch.put(metaKey(hex), encodeMeta(entry))
    }
    try {
      await batch.commit()
    } catch (err) {
      for (const hex of hexes) if (this.policy.has(hex)) this.dirty.add(hex)
      throw err
    }
  }
}
