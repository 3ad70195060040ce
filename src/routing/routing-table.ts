/**
 * The Freenet routing table: a bounded set of (key location -> peer) entries with
 * least-recently-used replacement. Several entries may point at the same peer (one per key
 * it has served); one key location has at most one entry (a newer source replaces it).
 *
 * Plain TypeScript over typed arrays: the simulator keeps hundreds of thousands of these.
 * All operations are O(capacity) scans, which for the default 250 entries is cheaper than
 * maintaining an index.
 */
import { distance } from '../keys/routing-key.js'

/** Slots a table starts with; it doubles them as it fills, up to its capacity. */
const INITIAL_SLOTS = 16

export interface RoutingEntry<P> {
  loc: number
  peer: P
  /** Logical time of the last use (insert, success or refresh). */
  lastUsed: number
}

export class RoutingTable<P> {
  readonly capacity: number
  // The arrays grow (doubling) up to `capacity` as entries arrive: in a simulated network
  // grown to 20,000 nodes a table holds 147 of its 250 entries on average, and the unused
  // slots were ~2.5 kB of each node's ~16 kB (docs/simulation.md, "A million nodes").
  private locs: Float64Array
  private stamps: Float64Array
  private peers: Array<P | undefined> = []
  /** 1 = pinned: never evicted by LRU replacement (a driver pins its connected neighbours). */
  private pins: Uint8Array
  private count = 0
  private tick = 0
  /**
   * Spread-keeping replacement: entries per slice of the circle (`spreadBuckets` equal
   * slices); LRU replacement skips an entry that is alone in its slice. Empty: plain LRU.
   */
  private readonly bucketCounts: Uint16Array

  constructor (capacity: number, spreadBuckets = 0) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('routing table capacity must be a positive integer')
    if (!Number.isInteger(spreadBuckets) || spreadBuckets < 0) throw new Error('spread buckets must be a non-negative integer')
    this.capacity = capacity
    this.bucketCounts = new Uint16Array(spreadBuckets)
    const initial = Math.min(capacity, INITIAL_SLOTS)
    this.locs = new Float64Array(initial)
    this.stamps = new Float64Array(initial)
    this.pins = new Uint8Array(initial)
  }

  /** Room for one more entry below capacity: double the arrays when they are full. */
  private makeRoom (): void {
    if (this.count < this.locs.length) return
    const n = Math.min(this.capacity, this.locs.length * 2)
    const locs = new Float64Array(n)
    locs.set(this.locs)
    this.locs = locs
    const stamps = new Float64Array(n)
    stamps.set(this.stamps)
    this.stamps = stamps
    const pins = new Uint8Array(n)
    pins.set(this.pins)
    this.pins = pins
  }

  get size (): number {
    return this.count
  }

  /**
   * Add or refresh the entry for `loc`. An existing entry for the same location is
   * repointed at `peer`; a full table drops its least recently used unpinned entry (if
   * every entry is pinned, the new one is not added). With spread buckets, an entry alone
   * in its slice of the circle is kept (unless every candidate is alone): the table keeps
   * covering the whole key space instead of forgetting regions it rarely uses. `pinned` protects the entry from
   * LRU replacement until `unpinPeer`: without it, a burst of inserts from one source
   * would evict the seed entries of every other neighbour.
   */
  add (loc: number, peer: P, pinned = false): void {
    const t = ++this.tick
    for (let i = 0; i < this.count; i++) {
      if (this.locs[i] === loc) {
        // A pin belongs to the peer it was made for: repointing the entry drops it.
        if (pinned) this.pins[i] = 1
        else if (this.peers[i] !== peer) this.pins[i] = 0
        this.peers[i] = peer
        this.stamps[i] = t
        return
      }
    }
    let slot = this.count
    if (this.count < this.capacity) {
      this.makeRoom()
      this.count++
    } else {
      slot = -1
      let lone = true
      const b = this.bucketCounts
      for (let i = 0; i < this.count; i++) {
        if (this.pins[i] !== 0) continue
        const alone = b.length > 0 && b[this.bucketOf(this.locs[i])] <= 1
        if (slot < 0 || (lone && !alone) || (alone === lone && this.stamps[i] < this.stamps[slot])) {
          slot = i
          lone = alone
        }
      }
      if (slot < 0) return
      if (b.length > 0) b[this.bucketOf(this.locs[slot])]--
    }
    if (this.bucketCounts.length > 0) this.bucketCounts[this.bucketOf(loc)]++
    this.locs[slot] = loc
    this.peers[slot] = peer
    this.stamps[slot] = t
    this.pins[slot] = pinned ? 1 : 0
  }

  /** Make `peer`'s entries ordinary LRU entries again (it disconnected). */
  unpinPeer (peer: P): void {
    for (let i = 0; i < this.count; i++) if (this.peers[i] === peer) this.pins[i] = 0
  }

  /**
   * The peer of the entry closest to `target` among peers for which `exclude` is false,
   * or undefined. Ties go to the earlier slot.
   */
  closest (target: number, exclude?: (peer: P) => boolean): P | undefined {
    let best = -1
    let bestD = Infinity
    for (let i = 0; i < this.count; i++) {
      const d = distance(this.locs[i], target)
      if (d < bestD && (exclude === undefined || !exclude(this.peers[i] as P))) {
        bestD = d
        best = i
      }
    }
    return best < 0 ? undefined : this.peers[best]
  }

  /** Mark every entry pointing at `peer` as just used (optional LRU refresh on forward). */
  touchPeer (peer: P): void {
    const t = ++this.tick
    for (let i = 0; i < this.count; i++) if (this.peers[i] === peer) this.stamps[i] = t
  }

  has (peer: P): boolean {
    for (let i = 0; i < this.count; i++) if (this.peers[i] === peer) return true
    return false
  }

  /** Remove every entry pointing at `peer` (pinned ones too unless `keepPinned`); returns how many. */
  removePeer (peer: P, keepPinned = false): number {
    let removed = 0
    let w = 0
    for (let r = 0; r < this.count; r++) {
      if (this.peers[r] === peer && !(keepPinned && this.pins[r] === 1)) {
        removed++
        if (this.bucketCounts.length > 0) this.bucketCounts[this.bucketOf(this.locs[r])]--
        continue
      }
      if (w !== r) {
        this.locs[w] = this.locs[r]
        this.stamps[w] = this.stamps[r]
        this.peers[w] = this.peers[r]
        this.pins[w] = this.pins[r]
      }
      w++
    }
    this.peers.length = w
    this.count = w
    return removed
  }

  /** The peer of an entry drawn uniformly at random among those whose peer `exclude` does not reject; undefined if none. */
  randomPeer (rng: () => number, exclude: (peer: P) => boolean): P | undefined {
    const candidates: number[] = []
    for (let i = 0; i < this.count; i++) if (!exclude(this.peers[i] as P)) candidates.push(i)
    return candidates.length === 0 ? undefined : this.peers[candidates[Math.floor(rng() * candidates.length)]]
  }

  /** Remove the unpinned entry at exactly `loc` if it points at `peer`; returns whether there was one. */
  remove (loc: number, peer: P): boolean {
    for (let i = 0; i < this.count; i++) {
      if (this.locs[i] !== loc || this.peers[i] !== peer || this.pins[i] !== 0) continue
      if (this.bucketCounts.length > 0) this.bucketCounts[this.bucketOf(loc)]--
      const last = this.count - 1
      this.locs[i] = this.locs[last]
      this.stamps[i] = this.stamps[last]
      this.peers[i] = this.peers[last]
      this.pins[i] = this.pins[last]
      this.peers.length = last
      this.count = last
      return true
    }
    return false
  }

  /** Distinct peers referenced by the table. */
  peerSet (): Set<P> {
    const s = new Set<P>()
    for (let i = 0; i < this.count; i++) s.add(this.peers[i] as P)
    return s
  }

  * entries (): Generator<RoutingEntry<P>> {
    for (let i = 0; i < this.count; i++) {
      yield { loc: this.locs[i], peer: this.peers[i] as P, lastUsed: this.stamps[i] }
    }
  }

  private bucketOf (loc: number): number {
    const n = this.bucketCounts.length
    return Math.min(n - 1, Math.floor(loc * n))
  }

  /** Histogram of entry locations in `buckets` equal slices of the circle: the node's key spread. */
  spread (buckets = 16): number[] {
    const h = new Array<number>(buckets).fill(0)
    for (let i = 0; i < this.count; i++) h[Math.min(buckets - 1, Math.floor(this.locs[i] * buckets))]++
    return h
  }
}
