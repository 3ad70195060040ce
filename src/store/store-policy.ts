/**
 * Capacity and eviction policy of a node's block store, with no I/O.
 *
 * The persistent `BlockStore` (LevelDB) and the simulator's `MemoryBlockStore` (./memory-store.ts)
 * share this code, so a simulated node drops exactly the blocks a real node would.
 *
 * Eviction follows the Freenet datastore's "watermark by date and number of accesses": each
 * entry scores `lastAccess + accessWeightMs * log2(1 + accessCount)` and the lowest score is
 * evicted first. With no accesses this is plain LRU; every doubling of an entry's access count
 * buys it `accessWeightMs` of extra life over an entry last touched at the same moment. The
 * logarithm keeps past popularity from pinning a block forever: a block requested a thousand
 * times earns only ten weights of grace, after which fresher blocks outrank it.
 *
 * Optional specialisation (`keepFraction`, off by default): like Freenet 0.7's split of the
 * datastore into a store and a cache, up to that fraction of the capacity holds the entries
 * whose keys lie closest to the node's own routing location, and those are never evicted by
 * cache churn; only a closer key displaces one (back into the LRU cache). Routing sends
 * requests for a key toward the nodes located near it, so those are the copies worth keeping.
 */
import { distance, locationOfHex } from '../keys/routing-key.js'

/**
 * Default access weight: one hour per doubling of the access count. A block fetched ~1000
 * times outlives an untouched block of the same recency by ~10 hours (a quiet night), so
 * popular content survives lulls in demand, while a node that is filling with new inserts
 * still turns its store over within a day. Simulators with their own time scale set it.
 */
export const DEFAULT_ACCESS_WEIGHT_MS = 60 * 60 * 1000

export interface StoreEntry {
  /** Stored size in bytes. */
  size: number
  /** Time of the last read (or of the insert, until the first read). */
  lastAccess: number
  /** Reads since the insert. */
  accessCount: number
  insertedAt: number
}

export interface StorePolicyOptions {
  capacityBytes: number
  /** Milliseconds of extra life per doubling of the access count (see DEFAULT_ACCESS_WEIGHT_MS). */
  accessWeightMs?: number
  /** The clock; injected so tests and the simulator control time. */
  now: () => number
  /** Fraction of the capacity kept for the keys nearest `location` (0: plain scored eviction). */
  keepFraction?: number
  /** The node's routing location (NaN while it has none: nothing is kept). */
  location?: () => number
}

/**
 * An entry as the policy holds it: `kept` is its distance to our location while it is held for
 * specialisation (`keepFraction`), else -1. In the entry rather than in a second Map: that Map's
 * table was ~860 of the ~14,500 bytes of each simulated node (docs/simulation.md, "A million nodes").
 */
interface Held extends StoreEntry {
  kept: number
  /** The entry's key, for the heap's tie-break. */
  readonly hex: string
  /** Index in the eviction heap, or -1 while kept (kept entries are never the next to go). */
  pos: number
}

/** The persisted fields of an entry, copied. */
function record (e: StoreEntry): StoreEntry {
  return { size: e.size, lastAccess: e.lastAccess, accessCount: e.accessCount, insertedAt: e.insertedAt }
}

export class StorePolicy {
  readonly accessWeightMs: number
  private readonly now: () => number
  private readonly entries = new Map<string, Held>()
  /**
   * The entries not kept, as a binary min-heap in eviction order (`before`): the next to go is
   * `heap[0]`. A full store pays O(log n) per insert instead of a scan of every entry, which
   * was 15 % of a 86,000-node simulation's CPU at 50 entries a node, and is worse for a real
   * node's ~32,000 blocks (a 1 GiB store).
   */
  private heap: Held[] = []
  private _capacityBytes: number
  private _usedBytes = 0
  private readonly keepFraction: number
  private readonly location: () => number
  /** Entries held for specialisation (`keepFraction`: their `kept` is their distance to our location). */
  private keptN = 0
  private keptBytes = 0
  /** The farthest kept entry, once known (undefined: none kept, or it left and nobody looked since). */
  private far?: { hex: string, d: number }

  constructor (options: StorePolicyOptions) {
    if (!Number.isFinite(options.capacityBytes) || options.capacityBytes < 0) {
      throw new RangeError(`invalid store capacity ${options.capacityBytes}`)
    }
    this._capacityBytes = options.capacityBytes
    this.accessWeightMs = options.accessWeightMs ?? DEFAULT_ACCESS_WEIGHT_MS
    this.now = options.now
    this.keepFraction = Math.min(1, Math.max(0, options.keepFraction ?? 0))
    this.location = options.location ?? (() => NaN)
  }

  /**
   * Choose the kept entries afresh, nearest to the current location first (after the node got
   * or changed its location, e.g. by announcing itself: entries loaded before were kept by none).
   */
  relocate (): void {
    for (const e of this.entries.values()) e.kept = -1
    this.reindex()
    this.keptN = 0
    this.keptBytes = 0
    this.far = undefined
    const loc = this.location()
    if (this.keepFraction <= 0 || !Number.isFinite(loc)) return
    const byDistance = [...this.entries].map(([hex, e]) => ({ hex, e, d: distance(locationOfHex(hex), loc) }))
      .sort((a, b) => a.d - b.d)
    const share = this.keepFraction * this._capacityBytes
    for (const { hex, e, d } of byDistance) {
      if (this.keptBytes + e.size > share) break
      this.keep(hex, d, e)
    }
  }

  /**
   * Rebuild the eviction heap from the entries (after their records were set from outside: a
   * simulation checkpoint, src/sim/checkpoint.ts). Keeps every entry's `kept`.
   */
  reindex (): void {
    this.heap = []
    for (const [hex, e] of this.entries) {
      (e as { hex: string }).hex = hex
      e.pos = -1
      if (e.kept < 0) {
        e.pos = this.heap.length
        this.heap.push(e)
      }
    }
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  /** Entries held for specialisation (see `keepFraction`). */
  get keptCount (): number {
    return this.keptN
  }

  /** Whether `hex` is held for specialisation (see `keepFraction`). */
  isKept (hex: string): boolean {
    return (this.entries.get(hex)?.kept ?? -1) >= 0
  }

  get capacityBytes (): number {
    return this._capacityBytes
  }

  get usedBytes (): number {
    return this._usedBytes
  }

  get count (): number {
    return this.entries.size
  }

  has (hex: string): boolean {
    return this.entries.has(hex)
  }

  /** A copy of one entry's record. */
  get (hex: string): StoreEntry | undefined {
    const e = this.entries.get(hex)
    return e === undefined ? undefined : record(e)
  }

  /** Record a read of `hex`; false if it is not stored. */
  touch (hex: string): boolean {
    const e = this.entries.get(hex)
    if (e === undefined) return false
    e.lastAccess = this.now()
    e.accessCount++
    if (e.pos >= 0) this.siftDown(this.siftUp(e.pos))
    return true
  }

  /** Eviction score: lower goes first. */
  score (e: Readonly<StoreEntry>): number {
    return e.lastAccess + this.accessWeightMs * Math.log2(1 + e.accessCount)
  }

  /** Whether an entry of `size` bytes can be stored at all. */
  fits (size: number): boolean {
    return size <= this._capacityBytes
  }

  /**
   * The keys to evict so that `hex` (of `size` bytes) fits, lowest score first. Nothing is
   * changed: the caller evicts them and calls `commitInsert` once its write succeeded.
   * Empty when `hex` is already stored. Throws when `size` exceeds the whole capacity.
   */
  planInsert (hex: string, size: number): string[] {
    if (!this.fits(size)) throw new RangeError(`an entry of ${size} bytes exceeds the store capacity of ${this._capacityBytes}`)
    if (this.entries.has(hex)) return []
    return this.planFree(this._usedBytes + size - this._capacityBytes)
  }

  /** The keys to evict so that the store is back within its capacity (after `capacityBytes` shrank or a restore). */
  planTrim (): string[] {
    return this.planFree(this._usedBytes - this._capacityBytes)
  }

  /** The record of an entry of `size` bytes inserted now (to persist it before committing). */
  freshEntry (size: number): StoreEntry {
    const t = this.now()
    return { size, lastAccess: t, accessCount: 0, insertedAt: t }
  }

  /** Record a new entry inserted now. Does not evict: plan first. */
  commitInsert (hex: string, size: number): void {
    this.restore(hex, this.freshEntry(size))
  }

  /** Record an entry with known history (loaded from disk). May exceed capacity: see `planTrim`. */
  restore (hex: string, entry: StoreEntry): void {
    this.remove(hex)
    const e: Held = { size: entry.size, lastAccess: entry.lastAccess, accessCount: entry.accessCount, insertedAt: entry.insertedAt, kept: -1, hex, pos: -1 }
    this.entries.set(hex, e)
    this._usedBytes += entry.size
    this.heapPush(e)
    this.considerKeeping(hex, e)
  }

  remove (hex: string): boolean {
    const e = this.entries.get(hex)
    if (e === undefined) return false
    if (e.kept >= 0) this.unkeep(hex, e, false)
    else this.heapRemove(e)
    this.entries.delete(hex)
    this._usedBytes -= e.size
    return true
  }

  private keep (hex: string, d: number, e: Held): void {
    if (e.pos >= 0) this.heapRemove(e)
    e.kept = d
    this.keptN++
    this.keptBytes += e.size
    if (this.keptN === 1 || (this.far !== undefined && d > this.far.d)) this.far = { hex, d }
  }

  /** Back to the cache (`toCache`: into the eviction heap; false when it is being removed). */
  private unkeep (hex: string, e: Held, toCache = true): void {
    if (e.kept < 0) return
    e.kept = -1
    this.keptN--
    this.keptBytes -= e.size
    if (this.far?.hex === hex) this.far = undefined
    if (toCache) this.heapPush(e)
  }

  /** The farthest kept entry: one scan after it changed, then free (most inserts are farther still). */
  private farthest (): { hex: string, d: number } | undefined {
    if (this.far === undefined) for (const [hex, e] of this.entries) if (e.kept >= 0 && (this.far === undefined || e.kept > this.far.d)) this.far = { hex, d: e.kept }
    return this.far
  }

  /**
   * Keep `hex` if its key is among the nearest to our location that fit in the kept share;
   * the farthest kept entries it displaces go back to the cache.
   */
  private considerKeeping (hex: string, e: Held): void {
    const size = e.size
    const share = this.keepFraction * this._capacityBytes
    const loc = this.location()
    if (share <= 0 || !Number.isFinite(loc) || size > share) return
    const d = distance(locationOfHex(hex), loc)
    while (this.keptBytes + size > share) {
      const far = this.farthest()
      if (far === undefined || far.d <= d) return
      this.unkeep(far.hex, this.entries.get(far.hex)!)
    }
    this.keep(hex, d, e)
  }

  /** Change the capacity; evict what `planTrim` returns afterwards. */
  setCapacity (capacityBytes: number): void {
    if (!Number.isFinite(capacityBytes) || capacityBytes < 0) throw new RangeError(`invalid store capacity ${capacityBytes}`)
    this._capacityBytes = capacityBytes
  }

  /** Every entry, in no particular order (for stats and persistence). */
  * [Symbol.iterator] (): IterableIterator<[string, StoreEntry]> {
    for (const [hex, e] of this.entries) yield [hex, record(e)]
  }

  /**
   * Lowest-score keys whose sizes add up to at least `bytes`. The common case (one fixed-size
   * block in, one out) is a single linear scan; freeing more sorts once.
   */
  private planFree (bytes: number): string[] {
    if (bytes <= 0) return []
    const lowest = this.lowest()
    if (lowest !== undefined && this.entries.get(lowest)!.size >= bytes) return [lowest]
    // Kept entries go last: only when the cache alone cannot free enough (a block larger than it).
    const ranked = [...this.entries].sort((a, b) => Number(a[1].kept >= 0) - Number(b[1].kept >= 0) || this.compare(a, b))
    const out: string[] = []
    let freed = 0
    for (const [hex, e] of ranked) {
      if (freed >= bytes) break
      out.push(hex)
      freed += e.size
    }
    return out
  }

  /** The next entry to evict: the lowest in `before` order among those not kept. */
  private lowest (): string | undefined {
    return this.heap[0]?.hex
  }

  /** Eviction order: `compare`'s, on held entries. */
  private before (a: Held, b: Held): boolean {
    const d = this.score(a) - this.score(b)
    if (d !== 0) return d < 0
    if (a.insertedAt !== b.insertedAt) return a.insertedAt < b.insertedAt
    return a.hex < b.hex
  }

  private heapPush (e: Held): void {
    e.pos = this.heap.length
    this.heap.push(e)
    this.siftUp(e.pos)
  }

  private heapRemove (e: Held): void {
    const i = e.pos
    const last = this.heap.pop()!
    e.pos = -1
    if (last === e) return
    this.heap[i] = last
    last.pos = i
    this.siftDown(this.siftUp(i))
  }

  /** Moves heap[i] up to its place; returns where it ended. */
  private siftUp (i: number): number {
    const h = this.heap
    const e = h[i]
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(e, h[p])) break
      h[i] = h[p]
      h[i].pos = i
      i = p
    }
    h[i] = e
    e.pos = i
    return i
  }

  private siftDown (i: number): void {
    const h = this.heap
    const e = h[i]
    for (;;) {
      let c = 2 * i + 1
      if (c >= h.length) break
      if (c + 1 < h.length && this.before(h[c + 1], h[c])) c++
      if (!this.before(h[c], e)) break
      h[i] = h[c]
      h[i].pos = i
      i = c
    }
    h[i] = e
    e.pos = i
  }

  /** Score order; ties go to the older insert, then to key order, so plans are deterministic. */
  private compare (a: [string, StoreEntry], b: [string, StoreEntry]): number {
    const d = this.score(a[1]) - this.score(b[1])
    if (d !== 0) return d
    if (a[1].insertedAt !== b[1].insertedAt) return a[1].insertedAt - b[1].insertedAt
    return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
  }
}

export interface StoreStats {
  count: number
  /** Entries kept for the node's location (`keepFraction`). */
  kept: number
  usedBytes: number
  capacityBytes: number
}

export interface PutResult {
  /** False when the key was already present or the block is larger than the whole store. */
  stored: boolean
  /** Entries evicted to make room. */
  evicted: number
}
